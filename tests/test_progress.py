"""One progress protocol: ``silent`` and ``RichProgress`` behind ``stage`` and ``task``.

The library reports uncounted steps as stages and counted work as tasks; the command
line draws both in one live display (two rich live displays at once are an error, so a
spinner and bars used to need care about which came first).
"""

from __future__ import annotations

import ast
import io
from pathlib import Path

import numpy as np
from recording_progress import Recorder
from rich.console import Console

import gvcdyn.progress
from gvcdyn.execute import map_runs
from gvcdyn.progress import RichProgress, silent


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=terminal, width=120), buffer


def test_silent_does_nothing_and_its_tasks_take_every_call() -> None:
    with silent.stage("reading"):
        task = silent.task("runs", 10)
        task.advance(3)
        task.update(5, note="best 1.0")
        task.done()


def test_rich_progress_draws_stages_and_bars_in_one_display() -> None:
    """A stage inside a task and a task inside a stage: one live display, no error."""
    console, buffer = _console(terminal=True)
    with RichProgress(console, stage_lines=True) as progress, progress.stage("fitting"):
        start = progress.task("DE start 1/2", 50)
        start.update(7, note="best 12.3456")
        start.done()
        with progress.stage("compiling"):
            runs = progress.task("runs", 5)
            runs.advance(2)
            runs.advance(3)
    text = buffer.getvalue()
    assert "50/50" in text and "best 12.3456" in text  # done() fills a start's bar
    assert "5/5" in text
    assert "fitting" in text  # the stage's line stays (stage_lines)


def test_rich_progress_off_a_terminal_prints_the_bars_once_and_no_stray_line() -> None:
    console, buffer = _console(terminal=False)
    with RichProgress(console) as progress, progress.stage("reading model.mdl"):
        pass
    assert buffer.getvalue() == ""  # a spinner only: nothing left behind
    console, buffer = _console(terminal=False)
    with RichProgress(console) as progress:
        progress.task("runs", 4).advance(4)
    assert "4/4" in buffer.getvalue()


def test_the_protocol_module_imports_nothing_of_gvcdyn() -> None:
    """The foundation layer: no backend (kernel_message lives in backend.compiler)."""
    tree = ast.parse(Path(gvcdyn.progress.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    assert not {m for m in imported if m.startswith("gvcdyn")}


class _Square:
    def __call__(self, X: np.ndarray):
        return X**2, np.zeros(len(X), dtype=np.int64)


def test_map_runs_counts_runs_not_chunks() -> None:
    """One chunk-to-run conversion, in the executors: a task of len(X) runs that
    advances by each chunk's rows (the last one short)."""
    progress = Recorder()
    X = np.arange(10.0)[:, None]
    result = map_runs(_Square(), X, chunk_size=3, progress=progress, description="squares")
    assert [(t.description, t.total) for t in progress.tasks] == [("squares", 10)]
    assert progress.tasks[0].steps == [3, 3, 3, 1]
    assert np.array_equal(result.Y, X**2)


def test_a_stage_message_is_shown_as_plain_text() -> None:
    """A path with brackets is not read as rich markup (the CLI's old spinner escaped it)."""
    console, buffer = _console(terminal=True)
    with RichProgress(console) as progress, progress.stage("reading [b]m[/b].mdl"):
        pass
    assert "reading [b]m[/b].mdl" in buffer.getvalue()


def test_the_command_lines_own_steps_are_stages_of_the_one_protocol(monkeypatch) -> None:
    """``cli.common.status`` (reading a model, running checks...) is a ``RichProgress``
    stage on the CLI's stderr console, not a second kind of spinner."""
    from gvcdyn.cli import common  # lazy: the CLI layer, for this test only

    made: list[Recorder] = []

    class Opened(Recorder):
        def __init__(self, console: Console) -> None:
            super().__init__()
            self.console, self.closed = console, False
            made.append(self)

        def __enter__(self) -> Opened:
            return self

        def __exit__(self, *exc: object) -> None:
            self.closed = True

    monkeypatch.setattr(common, "RichProgress", Opened)
    with common.status("reading m.mdl"):
        assert made[0].stages == ["reading m.mdl"] and not made[0].closed
    assert made[0].console is common.err and made[0].closed
