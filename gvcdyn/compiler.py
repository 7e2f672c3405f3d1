"""Compile generated kernel source once per machine, cached by content.

The module source is written to the user cache directory (never next to the user's
model) under a name derived from the hash of the source and of gvcdyn's runtime, and
imported from there; numba's own on-disk cache (``cache=True``) sits beside it, so a
new process loads the machine code instead of compiling again.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numba
import platformdirs

from gvcdyn import runtime

_loaded: dict[str, ModuleType] = {}


def cache_dir() -> Path:
    """Where compiled kernels live: ``$GVCDYN_CACHE_DIR`` or the user cache directory."""
    root = os.environ.get("GVCDYN_CACHE_DIR")
    path = Path(root) if root else Path(platformdirs.user_cache_dir("gvcdyn")) / "kernels"
    path.mkdir(parents=True, exist_ok=True)
    return path


def kernel_key(source: str) -> str:
    """Content hash of a kernel: its source, the runtime helpers and the numba version."""
    digest = hashlib.sha256()
    digest.update(source.encode())
    digest.update(Path(runtime.__file__).read_bytes())
    digest.update(numba.__version__.encode())
    return digest.hexdigest()[:24]


def is_compiled(source: str, method: str) -> bool:
    """Whether numba's disk cache already holds the batch kernel of ``source`` for ``method``.

    Lets a front end say "compiling (first use)" or "loading" while the user waits; it
    reads numba's cache index names, so it is a hint, never a promise.
    """
    pattern = f"gvcdyn_kernel_{kernel_key(source)}.batch_{method}-*.nbi"
    try:
        return any((cache_dir() / "__pycache__").glob(pattern))
    except OSError:
        return False


@contextlib.contextmanager
def compile_headroom(limit: int = 50_000) -> Iterator[None]:
    """Raise Python's recursion limit while numba may compile a kernel.

    numba's SSA pass recurses along control-flow paths; a large generated kernel (many
    IF THEN ELSE branches, unrolled subscripts) exceeds the default limit of 1,000.
    """
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def load_kernel_module(source: str) -> ModuleType:
    """Import the kernel module for ``source``, writing it to the cache on first use."""
    key = kernel_key(source)
    if key in _loaded:
        return _loaded[key]
    name = f"gvcdyn_kernel_{key}"
    path = cache_dir() / f"{name}.py"
    if not path.exists() or path.read_text() != source:
        # atomic: a concurrent process sees either no file or the whole file
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            handle.write(source)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    _loaded[key] = module
    return module
