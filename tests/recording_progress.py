"""A ``gvcdyn.progress.Progress`` that writes down what the library told it (for tests).

``Recorder(on_count=...)`` keeps every stage's message and every task with its
description, total, advances and updates; ``on_count(task)`` is called after each
advance or update (a test raises ``KeyboardInterrupt`` there to stop a job, or kills a
worker).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass
class RecordedTask:
    description: str
    total: int
    on_count: Callable[[RecordedTask], None] | None = None
    steps: list[int] = field(default_factory=list)  # each advance's k
    updates: list[tuple[int, str]] = field(default_factory=list)  # (completed, note)
    completed: int = 0
    finished: bool = False

    def advance(self, k: int = 1) -> None:
        self.steps.append(k)
        self.completed += k
        if self.on_count is not None:
            self.on_count(self)

    def update(self, completed: int, *, note: str = "") -> None:
        self.updates.append((completed, note))
        self.completed = completed
        if self.on_count is not None:
            self.on_count(self)

    def done(self) -> None:
        self.finished = True


@dataclass
class Recorder:
    on_count: Callable[[RecordedTask], None] | None = None
    stages: list[str] = field(default_factory=list)
    tasks: list[RecordedTask] = field(default_factory=list)

    @contextlib.contextmanager
    def stage(self, message: str) -> Iterator[None]:
        self.stages.append(message)
        yield

    def task(self, description: str, total: int) -> RecordedTask:
        task = RecordedTask(description, total, self.on_count)
        self.tasks.append(task)
        return task

    def named(self, description: str) -> list[RecordedTask]:
        """The tasks of that description, in the order they started."""
        return [t for t in self.tasks if t.description == description]
