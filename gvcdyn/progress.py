"""How library steps that take seconds tell a caller what they are doing: one protocol.

Two kinds of waiting, one interface (as diffrax's progress meters: the library calls
it, the caller chooses the implementation):

- ``with progress.stage(message):`` around a step that cannot be counted (reading a
  model, compiling a kernel, running PySD, a calibration step between its tasks);
- ``task = progress.task(description, total)`` for counted work (the runs of a sweep or
  a design, a calibration's starts, profiles, replicates, folds), then
  ``task.advance(k)`` after every ``k`` units, or ``task.update(completed, note=...)``
  to set the count (a differential-evolution start's generation and its best
  objective), and ``task.done()`` when the work ends before its total.

``silent`` (the library's default) shows nothing; ``RichProgress`` (the command line's)
draws every stage as a spinner line and every task as a bar, in ONE live display on
stderr, so a stage may open inside a task and bars may start inside a stage. This
module is the one library module that may import ``rich``, and only when a
``RichProgress`` is made. It imports nothing of gvcdyn (the foundation layer).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

__all__ = ["Progress", "RichProgress", "Task", "silent"]


class Task(Protocol):
    """Counted work that is under way (what ``Progress.task`` returns)."""

    def advance(self, k: int = 1) -> None:
        """``k`` more units are done."""

    def update(self, completed: int, *, note: str = "") -> None:
        """``completed`` units are done; ``note`` is shown beside the count."""

    def done(self) -> None:
        """The work is over (also when it stopped before its total: a start that
        converged early)."""


class Progress(Protocol):
    """What a long library step reports to: stages (uncounted) and tasks (counted)."""

    def stage(self, message: str) -> AbstractContextManager[Any]:
        """A context entered around an uncounted step described by ``message``."""

    def task(self, description: str, total: int) -> Task:
        """Start counting ``total`` units of work described by ``description``."""


class _SilentTask:
    def advance(self, k: int = 1) -> None:
        del k

    def update(self, completed: int, *, note: str = "") -> None:
        del completed, note

    def done(self) -> None:
        pass


class _Silent:
    """No output: the default of every library call, and of tests."""

    _task = _SilentTask()

    def stage(self, message: str) -> AbstractContextManager[Any]:
        del message
        return contextlib.nullcontext()

    def task(self, description: str, total: int) -> Task:
        del description, total
        return self._task

    def __repr__(self) -> str:
        return "silent"


#: The progress that shows nothing (the default of every library call).
silent: Progress = _Silent()


class _RichTask:
    def __init__(self, bars: Any, task_id: Any) -> None:
        self._bars, self._id = bars, task_id

    def advance(self, k: int = 1) -> None:
        self._bars.advance(self._id, k)

    def update(self, completed: int, *, note: str = "") -> None:
        self._bars.update(self._id, completed=completed, note=note)

    def done(self) -> None:
        task = self._bars.tasks[self._bars.task_ids.index(self._id)]
        self._bars.update(self._id, completed=task.total)


class RichProgress:
    """Stages as spinner lines and tasks as bars on a ``rich`` console (stderr by
    default), in one live display from the first stage or task until the block ends::

        with RichProgress(err) as progress:
            ds = run_in_chunks(request, execution, progress=progress)

    A stage's line goes when the stage ends; a task's bar stays. ``stage_lines``: also
    print each stage's message as a dim line that stays (a calibration's log of steps).
    """

    def __init__(self, console: Any = None, *, stage_lines: bool = False) -> None:
        from rich.console import Console
        from rich.progress import Progress as Display
        from rich.progress import TimeElapsedColumn

        self._stage_lines = stage_lines
        self._display = Display(
            *_columns(),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )

    @property
    def console(self) -> Any:
        return self._display.console

    def __enter__(self) -> RichProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the live display (the bars stay on the console as last drawn)."""
        if self._display.live.is_started:
            if self._display.tasks:
                self._display.stop()
            else:  # only stages were shown: leave no line (Progress.stop adds one off a tty)
                self._display.live.transient = True
                self._display.live.stop()

    def _start(self) -> None:
        if not self._display.live.is_started:
            self._display.start()

    @contextlib.contextmanager
    def stage(self, message: str) -> Iterator[None]:
        from rich.markup import escape

        if self._stage_lines:
            self.console.print(f"[dim]{escape(message)}[/dim]")
        self._start()
        # escaped: a message is plain text (a path may hold brackets rich reads as markup)
        line = self._display.add_task(escape(message), total=None, stage=True, note="")
        try:
            yield
        finally:
            self._display.remove_task(line)

    def task(self, description: str, total: int) -> Task:
        self._start()
        return _RichTask(self._display, self._display.add_task(description, total=total, note=""))


def _columns() -> tuple[Any, ...]:
    """A stage's spinner or a task's bar, its description, its count and note."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        ProgressColumn,
        SpinnerColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class ByKind(ProgressColumn):
        """One column drawn one way for a stage's line and another for a task's bar."""

        def __init__(self, for_stage: Any, for_task: Any) -> None:
            super().__init__()
            self._stage, self._task = for_stage, for_task

        def render(self, task: Any) -> Any:
            if task.fields.get("stage"):
                return self._stage.render(task) if self._stage is not None else Text("")
            return self._task.render(task)

    return (
        ByKind(SpinnerColumn(), TextColumn("")),
        TextColumn("{task.description}"),
        ByKind(None, BarColumn()),
        ByKind(None, MofNCompleteColumn()),
        ByKind(None, TimeRemainingColumn()),
        ByKind(None, TextColumn("{task.fields[note]}")),
    )
