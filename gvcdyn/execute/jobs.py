"""A long job as chunks of runs: computed anywhere, saved as they finish, resumable.

``map_runs(f, X, ...)`` is what ``run --sweep``, ``sensitivity`` and ``calibrate`` call
instead of ``f(X)``. It splits the parameter matrix into row chunks, hands them to an
executor, puts each finished chunk into its rows of the result (in memory or a netCDF
file), and, with a checkpoint, saves each chunk on disk as it completes so that Ctrl-C,
a crash or a killed process loses only the chunks that were in flight.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gvcdyn.errors import ExecutorError, JobInterrupted
from gvcdyn.execute.checkpoint import Checkpoint, as_plain
from gvcdyn.execute.executors import Chunk, Executor, InProcessExecutor
from gvcdyn.execute.sinks import MemorySink, Sink
from gvcdyn.progress import Progress, Task, silent

__all__ = ["RunResult", "chunk_bounds", "default_chunk_size", "map_runs", "map_tasks"]

MIN_CHUNK = 1_000
MAX_CHUNK = 20_000
CHUNKS_PER_WORKER = 4


def default_chunk_size(n_runs: int, n_workers: int = 1) -> int:
    """Rows per chunk: a few chunks per worker, each big enough to amortise a task's cost.

    20,000 runs of 205 outcomes are 33 MB, so a chunk always fits in memory, and a lost
    chunk costs seconds of work, not minutes.
    """
    target = math.ceil(n_runs / max(1, n_workers * CHUNKS_PER_WORKER))
    return max(1, min(n_runs, max(MIN_CHUNK, min(MAX_CHUNK, target))))


def chunk_bounds(n_runs: int, chunk_size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of every chunk, in run order."""
    if chunk_size < 1:
        raise ExecutorError(f"chunk size must be at least 1, got {chunk_size}")
    return [(s, min(s + chunk_size, n_runs)) for s in range(0, n_runs, chunk_size)]


@dataclass
class RunResult:
    """What ``map_runs`` produced.

    ``Y``/``status`` are the in-memory result (None when a file sink took it; ``output``
    is then the file). ``computed`` and ``reused`` count chunks run now and chunks taken
    from a checkpoint.
    """

    Y: np.ndarray | None
    status: np.ndarray | None
    output: Path | None
    n_chunks: int
    computed: int
    reused: int


@contextlib.contextmanager
def _ctrl_c_latch() -> Iterator[threading.Event]:
    """An event set by Ctrl-C while the job runs, besides the usual KeyboardInterrupt.

    Python raises KeyboardInterrupt wherever the main thread happens to be; where that is
    a finalizer (``__del__``, a weakref callback), it is printed and dropped, and the job
    would run on to the end. The job checks the event after every chunk, so a Ctrl-C is
    never lost. Installed only in the main thread and only over Python's own handler: an
    ignored SIGINT (a background job) or another program's handler is left alone.
    """
    pressed = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:
        yield pressed
        return

    def on_ctrl_c(signum: int, frame: Any) -> None:
        pressed.set()
        signal.default_int_handler(signum, frame)

    signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)


def _drive(
    f: Callable[..., Any],
    executor: Executor,
    bounds: list[tuple[int, int]],
    checkpoint: Checkpoint | None,
    *,
    load: Callable[[int, dict[str, str]], Any],
    chunks: Callable[[list[int]], Iterator[Chunk]],
    take: Callable[[int, Any, bool], None],
    abort: Callable[[], None],
    task: Task,
) -> tuple[int, int]:
    """The chunks of a job, saved ones first (``load``), the rest through ``executor``;
    each result goes to ``take(index, result, saved)`` and advances ``task`` by the
    chunk's size. Returns ``(chunks done, chunks reused)``. Ctrl-C raises
    ``JobInterrupted`` saying how many chunks are saved and the command that resumes."""
    done = 0
    reused = 0
    try:
        saved = set(checkpoint.finished()) if checkpoint else set()
        digests = checkpoint.digests() if checkpoint else {}
        for index in sorted(saved):
            loaded = load(index, digests) if index < len(bounds) else None
            if loaded is None:
                saved.discard(index)
                continue
            take(index, loaded, True)
            reused += 1
            done += 1
            task.advance(bounds[index][1] - bounds[index][0])
        results = executor.map_chunks(f, chunks([i for i in range(len(bounds)) if i not in saved]))
        try:
            with _ctrl_c_latch() as pressed:
                for index, *result in results:
                    take(index, result[0] if len(result) == 1 else tuple(result), False)
                    done += 1
                    task.advance(bounds[index][1] - bounds[index][0])
                    if pressed.is_set():  # a Ctrl-C whose KeyboardInterrupt was lost
                        raise KeyboardInterrupt
        finally:
            results.close()  # an interrupted executor cancels its chunks in flight
    except KeyboardInterrupt:
        abort()
        if checkpoint is None:
            raise JobInterrupted("interrupted; no checkpoint was kept, nothing saved") from None
        checkpoint.release()  # the job no longer runs here: another process may resume it
        n_saved = len(checkpoint.finished())
        raise JobInterrupted(checkpoint.interrupted_message(n_saved, len(bounds))) from None
    except BaseException as exc:
        abort()
        if checkpoint is not None and not checkpoint.finished():
            checkpoint.remove()  # it holds nothing to resume: it must not block a rerun
        elif checkpoint is not None:
            checkpoint.release()
            if isinstance(exc, ExecutorError):  # the cluster failed, not the job: resume
                raise ExecutorError(_kept(str(exc), checkpoint, len(bounds))) from None
        raise
    return done, reused


def _kept(failure: str, checkpoint: Checkpoint, n_chunks: int) -> str:
    """An executor's failure, with what the checkpoint kept and the command that resumes
    (a cluster that went away loses only the chunks in flight)."""
    command = checkpoint.resume_command or "the same call with resume=True"
    return (
        f"{failure}; {len(checkpoint.finished())} of {n_chunks} chunks are saved in "
        f"{checkpoint.path}; resume with: {command}"
    )


def map_runs(
    f: Callable[..., Any],
    X: np.ndarray,
    *,
    times: np.ndarray | None = None,
    executor: Executor | None = None,
    chunk_size: int | None = None,
    checkpoint: Checkpoint | None = None,
    sink: Sink | None = None,
    progress: Progress = silent,
    description: str = "runs",
) -> RunResult:
    """Evaluate ``f`` on every row of ``X`` in chunks; rows of the result follow rows of X.

    - ``f(X_chunk)`` (or ``f(X_chunk, times=t_chunk)`` when ``times`` is given) returns
      ``(Y_chunk, status_chunk)``: the seam's ``model.evaluator(...)`` or any picklable
      callable with that contract.
    - ``executor``: where chunks run (default: in this process).
    - ``chunk_size``: rows per chunk (default from ``default_chunk_size``, which depends
      on the executor). It is part of a checkpoint's fingerprint: with a checkpoint, pass
      the value given to ``fingerprint()``, so a job resumed on another executor matches.
    - ``checkpoint``: a ``Checkpoint`` (``Checkpoint.open(output, fingerprint(...))``);
      finished chunks are saved there and, on resume, read back instead of recomputed.
      The folder is deleted once the sink has the whole result, unless it was opened
      with ``keep=True``: then the caller deletes it after writing the result
      (``remove_checkpoints``), so a failed write loses no finished chunk.
    - ``sink``: where the result goes (default ``MemorySink``: arrays returned in
      ``RunResult.Y/status``); a ``NetCDFSink`` streams it to a file in bounded memory.
    - ``progress``: a task of ``len(X)`` units named ``description`` advances by each
      chunk's rows as it comes in (from the checkpoint or computed).

    Ctrl-C raises ``JobInterrupted`` (a ``GvcdynError`` and a ``KeyboardInterrupt``)
    whose message says how many chunks are saved and the command that resumes.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ExecutorError(f"the parameter matrix must be 2-D (runs, parameters), got {X.shape}")
    n_runs = X.shape[0]
    if times is not None:
        times = np.asarray(times, dtype=np.float64)
        if times.shape != (n_runs,):
            raise ExecutorError(f"times must have one value per run ({n_runs}), got {times.shape}")
    executor = executor or InProcessExecutor()
    chunk_size = chunk_size or default_chunk_size(n_runs, executor.n_workers)
    bounds = chunk_bounds(n_runs, chunk_size)
    if checkpoint is not None:
        checkpoint.check_job(X, times, chunk_size)
        checkpoint.check_function(f)
    sink = sink if sink is not None else MemorySink(n_runs)

    def load(index: int, digests: dict[str, str]) -> tuple | None:
        start, stop = bounds[index]
        loaded = checkpoint.load(index, digests) if checkpoint else None
        return loaded if loaded is not None and len(loaded[0]) == stop - start else None

    def chunks(todo: list[int]) -> Iterator[Chunk]:
        for index in todo:
            start, stop = bounds[index]
            t = None if times is None else times[start:stop]
            yield Chunk(index, start, stop, X[start:stop], t)

    def take(index: int, result: tuple, saved: bool) -> None:
        if checkpoint and not saved:
            checkpoint.save(index, *result)
        sink.write(bounds[index][0], *result)

    done, reused = _drive(
        f,
        executor,
        bounds,
        checkpoint,
        load=load,
        chunks=chunks,
        take=take,
        abort=sink.abort,
        task=progress.task(description, n_runs),
    )
    result = sink.close()
    if checkpoint:
        checkpoint.all_in()
    if isinstance(result, tuple):
        Y, status = result
        return RunResult(Y, status, None, len(bounds), done - reused, reused)
    return RunResult(None, None, Path(result), len(bounds), done - reused, reused)


def map_tasks(
    f: Callable[..., Any],
    items: Sequence[Any],
    *,
    executor: Executor | None = None,
    chunk_size: int = 1,
    batched: bool = False,
    checkpoint: Checkpoint | None = None,
    progress: Progress = silent,
    description: str = "tasks",
) -> list[Any]:
    """``[f(item) for item in items]`` as a job: in chunks, anywhere, saved, resumable.

    The heterogeneous sibling of ``map_runs``: an item is any plain data (a start's
    index, a replicate's weights and starting points...), a result any plain data too
    (dicts, lists, strings, numbers, numpy arrays, dataclasses of them: what
    ``checkpoint.encode_plain`` saves exactly, as data). Results come back in item
    order, whichever executor ran them, and as a checkpoint gives them back
    (``as_plain``: tuples as lists, dataclasses as dicts), saved or not.

    - ``chunk_size`` items per chunk (a chunk is the unit an executor runs and a
      checkpoint saves); ``batched``: ``f`` takes a chunk's list of items and returns
      their results in order (one call for the whole chunk: fewer, larger model
      batches), instead of one item.
    - ``executor``, ``checkpoint`` (``Checkpoint.open`` of a ``fingerprint(items=...)``),
      ``progress`` (a task of ``len(items)`` named ``description``) and Ctrl-C: as in
      ``map_runs``. A function with ``identity()`` is checked against the checkpoint's.
    """
    items = list(items)
    executor = executor or InProcessExecutor()
    bounds = chunk_bounds(len(items), chunk_size)
    if checkpoint is not None:
        checkpoint.check_job(None, None, chunk_size, items=items)
        checkpoint.check_function(f)
    results: list[Any] = [None] * len(items)

    def load(index: int, digests: dict[str, str]) -> list | None:
        start, stop = bounds[index]
        loaded = checkpoint.load_tasks(index, digests) if checkpoint else None
        return loaded if loaded is not None and len(loaded) == stop - start else None

    def chunks(todo: list[int]) -> Iterator[Chunk]:
        for index in todo:
            start, stop = bounds[index]
            yield Chunk(index, start, stop, None, items=tuple(items[start:stop]))

    def take(index: int, chunk_results: list, saved: bool) -> None:
        start, stop = bounds[index]
        if len(chunk_results) != stop - start:
            raise ExecutorError(
                f"the task function returned {len(chunk_results)} results for "
                f"{stop - start} items; it must return one per item"
            )
        if checkpoint and not saved:
            checkpoint.save_tasks(index, chunk_results)
        results[start:stop] = chunk_results if saved else as_plain(list(chunk_results))

    _drive(
        _Batched(f) if batched else f,
        executor,
        bounds,
        checkpoint,
        load=load,
        chunks=chunks,
        take=take,
        abort=lambda: None,
        task=progress.task(description, len(items)),
    )
    if checkpoint:
        checkpoint.all_in()
    return results


class _Batched:
    """A batched task function as the executors call it: on a chunk's items at once."""

    batched = True

    def __init__(self, f: Callable[[list[Any]], list[Any]]) -> None:
        self.f = f

    def identity(self) -> dict[str, Any]:
        identity = getattr(self.f, "identity", None)
        return dict(identity()) if callable(identity) else {}

    def __call__(self, items: list[Any]) -> list[Any]:
        return list(self.f(items))
