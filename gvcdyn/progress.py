"""How library steps that take seconds tell a caller what they are doing.

A long step (reading a model, compiling a kernel, running PySD) is wrapped in
``with progress(message):``. The library's default shows nothing; the command line passes
a spinner. This keeps printing out of the library and waiting-without-a-word out of the
command line. Work that is counted (runs of a batch) reports through a ``Counter`` (a
progress bar) instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

#: A function of a message that returns a context manager entered around the step.
Progress = Callable[[str], AbstractContextManager[Any]]


def silent(message: str) -> AbstractContextManager[Any]:
    """The default progress: do nothing."""
    del message
    return contextlib.nullcontext()


def kernel_message(model: Any, method: str) -> str:
    """What running ``model`` with ``method`` will do first: compile, or load a cached kernel."""
    from gvcdyn.backend.compiler import is_compiled

    if is_compiled(model.source, method):
        return f"loading the compiled {method} kernel and running"
    return f"compiling {method} kernel (first use of this model, cached afterwards)"


class Counter(Protocol):
    """A progress bar's maker: ``advance = counter(description, total)``, then
    ``advance(k)`` after every ``k`` units of work (``sensitivity.progress.rich_progress``
    yields one)."""

    def __call__(self, description: str, total: int) -> Callable[[int], None]: ...


@contextlib.contextmanager
def rich_counter(console: Any = None) -> Iterator[Counter]:
    """Progress bars on ``console`` (a ``rich`` console; stderr by default), drawn from the
    first bar asked for until the block ends.

    Starting late lets a spinner (the ``Progress`` of a compile) come first: ``rich``
    draws one live display at a time.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as Bars

    bars = Bars(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
    )

    def start(description: str, total: int) -> Callable[[int], None]:
        if not bars.live.is_started:
            bars.start()
        task = bars.add_task(description, total=total)
        return lambda k: bars.advance(task, k)

    try:
        yield start
    finally:
        if bars.live.is_started:
            bars.stop()
