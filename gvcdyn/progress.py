"""How library steps that take seconds tell a caller what they are doing.

A long step (reading a model, compiling a kernel, running PySD) is wrapped in
``with progress(message):``. The library's default shows nothing; the command line passes
a spinner. This keeps printing out of the library and waiting-without-a-word out of the
command line.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

#: A function of a message that returns a context manager entered around the step.
Progress = Callable[[str], AbstractContextManager[Any]]


def silent(message: str) -> AbstractContextManager[Any]:
    """The default progress: do nothing."""
    del message
    return contextlib.nullcontext()


def kernel_message(model: Any, method: str) -> str:
    """What running ``model`` with ``method`` will do first: compile, or load a cached kernel."""
    from gvcdyn.compiler import is_compiled

    if is_compiled(model.source, method):
        return f"loading the compiled {method} kernel and running"
    return f"compiling {method} kernel (first use of this model, cached afterwards)"
