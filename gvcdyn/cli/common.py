"""What every command shares: the two consoles, option enums, and progress messages."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

from rich.console import Console

from gvcdyn.compiler import is_compiled
from gvcdyn.errors import OutputWriteError


def _console(stream: Any) -> Console:
    # Pipes and test captures get a wide table instead of rich's 80-column default.
    return Console(file=stream, width=None if stream.isatty() else 200, highlight=False)


out = _console(sys.stdout)
err = _console(sys.stderr)


class Method(StrEnum):
    euler = "euler"
    rk4 = "rk4"


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """A file that cannot be written is the user's problem to fix, not a traceback."""
    try:
        yield
    except OSError as exc:
        raise OutputWriteError(f"cannot write {path}: {exc.strerror or exc}") from exc


def load(path: Path) -> Any:
    import gvcdyn

    with err.status(f"reading {path}"):
        return gvcdyn.load(path)


def run_batch(model: Any, params: Any, *, method: str, **settings: Any) -> Any:
    if is_compiled(model.source, method):
        message = f"loading the compiled {method} kernel and running"
    else:
        message = f"compiling {method} kernel (first use of this model, cached afterwards)"
    with err.status(message):
        return model.run(params, method=method, **settings)
