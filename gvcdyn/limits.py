"""Size guards: refuse a job whose arrays would not fit in memory *before* allocating them.

A hostile or mistyped size (``--n 2^30``, a case period ending in the year 1e7, a
million-row table) must end in one line that says how big the job would be, the limit,
and how to change either, never in a numpy ``MemoryError`` traceback after minutes or
a machine that swaps to a halt. Every command checks its sizes here, with one limit:

- ``memory_limit()``: ``$GVCDYN_MEMORY_LIMIT`` when set (``16GiB``, ``500MB``, bytes),
  otherwise half of this machine's physical memory (the rest is for the kernel's own
  working arrays, copies numpy makes and the other programs of the machine);
- ``check_memory(n_bytes, what, ...)``: the refusal, with the numbers and the limit;
- ``chunk_rows(row_bytes, ...)``: how many rows of a batch fit in a bounded piece, for
  code that can work through its rows in pieces instead of refusing;
- ``update_hash(hasher, array)``: an array's digest without a copy of the whole array;
- ``check_model_text(text, path)``: a ``.mdl`` file PySD's parser could read in memory;
- ``fewer_collections()``: Python's garbage collector paced for numba's compiler and
  PySD's parser (below).
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from gvcdyn.errors import GvcdynError, MemoryLimitError

__all__ = [
    "ENV_VAR",
    "MemoryLimitError",
    "check_memory",
    "check_model_text",
    "chunk_rows",
    "fewer_collections",
    "format_bytes",
    "memory_limit",
    "parse_size",
    "update_hash",
]

#: environment variable that sets the limit (a size such as ``16GiB``)
ENV_VAR = "GVCDYN_MEMORY_LIMIT"
#: share of the physical memory one job may plan to hold
FRACTION = 0.5
#: the limit when the physical memory cannot be read
FALLBACK = 4 * 2**30

_UNITS = {
    "": 1,
    "B": 1,
    "K": 2**10,
    "KB": 10**3,
    "KIB": 2**10,
    "M": 2**20,
    "MB": 10**6,
    "MIB": 2**20,
    "G": 2**30,
    "GB": 10**9,
    "GIB": 2**30,
    "T": 2**40,
    "TB": 10**12,
    "TIB": 2**40,
}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*$")


def parse_size(text: str) -> int:
    """``"16GiB"``, ``"16G"``, ``"500 MB"``, ``"1e9"`` -> bytes; anything else is refused."""
    match = _SIZE.match(text)
    unit = match.group(2).upper() if match else ""
    if match is None or unit not in _UNITS:
        raise MemoryLimitError(
            f"{ENV_VAR}={text!r} is not a size; give bytes or a size such as 16GiB or 500MB"
        )
    size = float(match.group(1)) * _UNITS[unit]
    if not size >= 1:
        raise MemoryLimitError(f"{ENV_VAR}={text!r}: the limit must be at least one byte")
    return int(size)


def physical_memory() -> int | None:
    """Bytes of RAM of this machine, or None when the system does not say."""
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    return pages * page_size if pages > 0 and page_size > 0 else None


def memory_limit() -> int:
    """Bytes one job may plan to hold: ``$GVCDYN_MEMORY_LIMIT``, else half the RAM."""
    text = os.environ.get(ENV_VAR, "").strip()
    if text:
        return parse_size(text)
    total = physical_memory()
    return int(total * FRACTION) if total else FALLBACK


def format_bytes(n_bytes: float) -> str:
    """``1536`` -> ``1.5 KiB``: sizes in messages, to three significant figures."""
    value = float(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{value:.0f} B" if unit == "B" else f"{value:.3g} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _limit_text(limit: int, given: bool) -> str:
    if given:
        return f"limit {format_bytes(limit)}"
    source = f"from {ENV_VAR}" if os.environ.get(ENV_VAR, "").strip() else "half this machine's RAM"
    return f"limit {format_bytes(limit)}, {source}; set {ENV_VAR}=SIZE (e.g. 64GiB) to change it"


def check_memory(
    n_bytes: float,
    what: str,
    *,
    hint: str = "",
    error: type[GvcdynError] = MemoryLimitError,
    limit: int | None = None,
) -> None:
    """Refuse ``what`` (e.g. ``"2,097,152 runs x 12 outputs"``) when its ``n_bytes``
    exceed ``limit`` (default ``memory_limit()``): ``error`` says the size, the limit,
    how to change the limit and ``hint`` (what to ask for instead)."""
    given = limit is not None
    limit = memory_limit() if limit is None else limit
    if n_bytes > limit:
        advice = f"; {hint}" if hint else ""
        raise error(
            f"{what} would need {format_bytes(n_bytes)} of memory "
            f"({_limit_text(limit, given)}){advice}"
        )


def chunk_rows(row_bytes: float, n_rows: int, *, budget: int | None = None) -> int:
    """Rows of ``row_bytes`` each that make a piece of at most ``budget`` bytes (default:
    an eighth of ``memory_limit()``, so pieces and their copies stay well inside it);
    at least one row, at most ``n_rows``."""
    budget = memory_limit() // 8 if budget is None else budget
    return int(max(1, min(n_rows, budget // max(1.0, row_bytes))))


def update_hash(hasher: Any, array: np.ndarray, *, chunk_bytes: int = 64 * 2**20) -> None:
    """Feed ``array``'s float64 bytes in C order to ``hasher`` a block of rows at a time:
    the digest of ``np.ascontiguousarray(array, dtype=float64).tobytes()`` without that
    copy of the whole array (a design of several GiB is hashed in 64 MiB of memory)."""
    array = np.asarray(array)
    if array.ndim == 0 or array.size == 0:
        hasher.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
        return
    row_bytes = max(1, array[0].size * 8)
    step = chunk_rows(row_bytes, len(array), budget=chunk_bytes)
    for start in range(0, len(array), step):
        block = np.ascontiguousarray(array[start : start + step], dtype=np.float64)
        hasher.update(memoryview(block.reshape(-1)))


#: Bytes PySD's translator holds per character of a ``.mdl`` file while it parses it, and
#: again per character of the longest element (parsimonious keeps a node per match):
#: measured 0.85 KB and 0.7 KB (a 20,000-point lookup, 189 KB of text: 286 MB).
PARSE_BYTES_PER_CHAR = 1024


def check_model_text(text: str, path: object) -> None:
    """Refuse a ``.mdl`` text that PySD's parser could not read within the limit (a
    lookup of a million points took 12.7 GiB), before the parser starts."""
    longest = max((len(element) for element in text.split("|")), default=0)
    check_memory(
        (len(text) + longest) * PARSE_BYTES_PER_CHAR,
        f"reading {path} ({len(text):,} characters, the longest equation {longest:,}; "
        f"PySD's parser holds about {PARSE_BYTES_PER_CHAR:,} bytes per character)",
        hint="put long tables in a data file (GET DIRECT LOOKUPS) instead of the model",
    )


# ------------------------------------------------------------------ garbage collection
# Fewer garbage collections while numba compiles a kernel or PySD parses a model. Both
# allocate millions of short-lived objects, and at Python's default thresholds that
# triggers full collections (every object of the process, which numba, PySD and gvcdyn
# make large): in a cold build of gvc_upgrading (issue 21; gc.callbacks timing) 2-3 per
# kernel, 0.18-0.34 s of CPU, 0.04-0.08 s with the first generation collected every
# 10,000 allocations instead of 700, and about 0.04 s of PySD's 0.35 s parse.
# gvcdyn.backend.kernel uses it around a kernel's first call, gvcdyn.language.frontend
# around PySD's parse.

#: Python's first-generation threshold meanwhile (its default is 700)
GEN0_THRESHOLD = 10_000
_gc_lock = threading.Lock()
_gc_depth = 0
_gc_saved: tuple[int, ...] = ()
_gc_raised = 0  # the first-generation threshold fewer_collections set (0: none)


@contextlib.contextmanager
def fewer_collections(threshold: int = GEN0_THRESHOLD) -> Iterator[None]:
    """Let Python's cyclic garbage collector run less often meanwhile (comment above).

    The garbage is collected all the same, a little later; only when collections
    happen changes, never what a kernel computes or what PySD reads.
    The thresholds are the process's: nested or concurrent uses set them once (the first
    one in, with its ``threshold``) and the last one out puts back the first-generation
    threshold it found, unless someone else changed it meanwhile (their other
    thresholds, changed meanwhile, are kept too); a threshold of 0 (automatic
    collection off) is left alone.
    """
    global _gc_depth, _gc_saved, _gc_raised
    with _gc_lock:
        if _gc_depth == 0:
            _gc_saved, _gc_raised = gc.get_threshold(), 0
            if 0 < _gc_saved[0] < threshold:
                gc.set_threshold(threshold, *_gc_saved[1:])
                _gc_raised = threshold
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0:
                _put_back()


def _put_back() -> None:
    """The first-generation threshold as ``fewer_collections`` found it, if it is still
    the one it set (the caller holds the lock, the last one out)."""
    global _gc_raised
    now = gc.get_threshold()
    if _gc_raised and now[0] == _gc_raised:
        gc.set_threshold(_gc_saved[0], *now[1:])
    _gc_raised = 0


def _reset_collections_in_child() -> None:
    """In a forked child: no thread of the parent is compiling there, so the thresholds
    a parent's ``fewer_collections`` raised go back, and the lock starts free."""
    global _gc_lock, _gc_depth
    _gc_lock = threading.Lock()
    if _gc_depth:
        _put_back()
    _gc_depth = 0


os.register_at_fork(after_in_child=_reset_collections_in_child)
