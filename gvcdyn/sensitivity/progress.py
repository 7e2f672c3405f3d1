"""Progress reporting that the library can call without knowing about terminals.

A study reports each phase as ``task = progress(description, total)`` and then
``task(k)`` after every ``k`` units of work. ``silent`` does nothing; ``rich_progress``
draws one rich bar per phase on stderr. Work is done in chunks between reports, so a
Ctrl-C (which Python only sees between compiled calls) stops a study within one chunk.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["ProgressFactory", "rich_progress", "silent"]

Advance = Callable[[int], None]


class ProgressFactory(Protocol):
    def __call__(self, description: str, total: int) -> Advance: ...


def silent(description: str, total: int) -> Advance:
    """No output: the default for library calls and tests."""
    return lambda k: None


@contextlib.contextmanager
def rich_progress(console: Console | None = None) -> Iterator[ProgressFactory]:
    """Bars on ``console`` (stderr by default) for as long as the block runs."""
    bars = Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=False,
    )

    def start(description: str, total: int) -> Advance:
        task = bars.add_task(description, total=total)
        return lambda k: bars.advance(task, k)

    with bars:
        yield start
