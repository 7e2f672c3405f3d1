"""Where chunks of runs are computed: in this process, a local dask cluster, or a remote one.

An executor maps a picklable function ``f(X_chunk[, times_chunk]) -> (Y_chunk,
status_chunk)`` (the analysis seam's evaluator, or any callable with that contract) over
chunks of a parameter matrix and yields each chunk's result as it completes. Ordering,
checkpoints and output files are the job's business (``gvcdyn.execute.jobs``), so an
executor stays small: it only decides *where* a chunk runs.

Every run in the kernel is independent of the others and each chunk is computed by the same
compiled code, so the result of a chunk does not depend on where it ran: dask results
are bitwise identical to in-process ones. Numba's thread count is set per worker so that
workers on one machine share its cores instead of oversubscribing them.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import os
import pickle
import signal
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from gvcdyn.errors import ExecutorError

__all__ = ["Chunk", "DaskExecutor", "Executor", "InProcessExecutor", "call_chunk"]


@dataclass(frozen=True)
class Chunk:
    """Rows ``start:stop`` of a job: their parameter matrix and optional per-run horizons
    (``map_runs``), or the items of tasks ``start:stop`` (``map_tasks``; ``X`` None)."""

    index: int
    start: int
    stop: int
    X: np.ndarray | None
    times: np.ndarray | None = None
    items: tuple[Any, ...] | None = None


#: ``(index, Y, status)`` of a chunk of runs, ``(index, results)`` of a chunk of tasks
ChunkResult = tuple


def call_chunk(
    f: Callable[..., Any],
    X: np.ndarray | None,
    times: np.ndarray | None,
    items: tuple[Any, ...] | None = None,
) -> tuple:
    """Call ``f`` on one chunk and check that it kept the contract (one row per run):
    ``(Y, status)`` of runs, or ``(results,)`` of tasks (``f`` per item, or once on
    the chunk's list when ``f.batched``)."""
    if items is not None:
        if getattr(f, "batched", False):
            return (f(list(items)),)
        return ([f(item) for item in items],)
    Y, status = f(X) if times is None else f(X, times=times)
    Y = np.asarray(Y)
    status = np.asarray(status)
    if Y.shape[:1] != (X.shape[0],) or status.shape != (X.shape[0],):
        raise ExecutorError(
            f"the evaluated function returned Y of shape {Y.shape} and status of shape "
            f"{status.shape} for {X.shape[0]} runs; it must return one row per run"
        )
    return Y, status


class Executor(ABC):
    """Maps a function over chunks; subclasses decide where the chunks run."""

    #: how many chunks can run at the same time (for choosing a chunk size)
    n_workers: int = 1

    @abstractmethod
    def map_chunks(
        self, f: Callable[..., Any], chunks: Iterable[Chunk]
    ) -> Generator[ChunkResult, None, None]:
        """Yield ``(chunk.index, *call_chunk(f, ...))`` for every chunk, in order of
        completion."""

    def close(self) -> None:  # noqa: B027 (optional hook: only dask has something to release)
        """Release workers and connections (nothing to do in-process)."""

    def describe(self) -> str:
        return type(self).__name__

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InProcessExecutor(Executor):
    """Runs chunks one after another in this process; the kernel uses numba's threads."""

    def map_chunks(
        self, f: Callable[..., Any], chunks: Iterable[Chunk]
    ) -> Generator[ChunkResult, None, None]:
        for chunk in chunks:
            yield chunk.index, *call_chunk(f, chunk.X, chunk.times, chunk.items)

    def describe(self) -> str:
        return "in-process"


# ----------------------------------------------------------------------------- dask

# On a worker: the functions of recent jobs, unpickled once per worker process (a job's
# function carries a compiled model; unpickling it per chunk would reload the kernel).
_WORKER_FUNCTIONS: OrderedDict[str, Callable[..., Any]] = OrderedDict()
_WORKER_FUNCTIONS_KEPT = 4


def _worker_call(
    token: str,
    payload: bytes,
    X: np.ndarray | None,
    times: np.ndarray | None,
    numba_threads: int,
    items: tuple[Any, ...] | None = None,
) -> tuple:
    """Task body on a dask worker: cached function, bounded numba threads, one chunk."""
    f = _WORKER_FUNCTIONS.get(token)
    if f is None:
        f = pickle.loads(payload)
        _WORKER_FUNCTIONS[token] = f
        while len(_WORKER_FUNCTIONS) > _WORKER_FUNCTIONS_KEPT:
            _WORKER_FUNCTIONS.popitem(last=False)
    _limit_numba_threads(numba_threads)
    return call_chunk(f, X, times, items)


def _limit_numba_threads(n: int) -> None:
    """numba's thread count is per calling thread: set it in the task's own thread."""
    import numba

    from gvcdyn.backend.kernel import start_threads  # lazy: numba, only where chunks run

    start_threads()  # before set_num_threads starts them with OpenMP's default wait
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))


def _dumps(f: Callable[..., Any]) -> bytes:
    """Pickle ``f`` for the workers: by reference where importable, by value otherwise.

    cloudpickle (shipped with dask) also carries functions and classes defined in a
    script's ``__main__``, which a worker could not import.
    """
    import cloudpickle

    return cloudpickle.dumps(f, protocol=pickle.HIGHEST_PROTOCOL)


def _connect(address: str, timeout: float) -> Any:
    """A dask client of the scheduler at ``address``, or one ``ExecutorError`` saying why not.

    A ``Client`` whose connection fails is left half made, in a reference cycle; when the
    garbage collector later runs its ``__del__``, that closes the client under
    distributed's class-wide ``LoopRunner`` lock, and if the collection happens inside
    another client's start or close (which hold that lock), the process deadlocks. So the
    half-made client is collected here, before anything else starts a client.
    """
    from distributed import Client  # lazy: dask loads when a job uses a cluster

    failure: ExecutorError | None = None
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except TypeError as exc:  # dask: "TLS expects a ssl_context argument ..."
        failure = ExecutorError(
            f"the dask scheduler at {address} speaks TLS and this machine has no TLS "
            "settings for dask: set distributed.comm.tls.ca-file, "
            "distributed.comm.tls.client.cert and .key in dask's configuration "
            f"(docs/cluster.md) ({exc})"
        )
    except (OSError, TimeoutError) as exc:
        failure = ExecutorError(
            f"cannot reach the dask scheduler at {address} ({exc}); start one with "
            "`dask scheduler` and workers with `dask worker ADDRESS`, or drop "
            "--scheduler to run locally"
        )
    except Exception as exc:  # what dask makes of a reply it cannot read
        # another server at that port (a web server, an ssh daemon): dask reads its reply
        # as a message length and fails anywhere (a MemoryError of exabytes, a ValueError)
        failure = ExecutorError(
            f"the server at {address} does not answer as a dask scheduler "
            f"({type(exc).__name__}: {exc}); give the address `dask scheduler` prints "
            "(tcp://HOST:8786 by default), not its dashboard's or another service's"
        )
    gc.collect()  # the failed Client, now (see above)
    raise failure


class DaskExecutor(Executor):
    """Chunks as dask tasks: on an embedded ``LocalCluster`` or on an existing scheduler.

    ``workers=N`` starts N local worker processes (one thread each; numba gets
    ``cores // N`` threads in each) on loopback, secured with TLS and a certificate made
    for this cluster alone (``Security.temporary()``: another local user can neither
    connect nor run code in the workers); ``scheduler="tcp://HOST:PORT"`` (or ``tls://``,
    with dask's TLS configuration) connects to a running cluster instead. A worker that
    dies mid-job loses only its running chunks: dask reruns them elsewhere, and the
    job's result does not change.

    Only a few chunks are in flight at a time (``max_in_flight``, default two per worker
    plus one), so results never pile up on the workers or in this process.
    ``job_timeout`` (seconds, default none) bounds a whole ``map_chunks`` call.
    """

    def __init__(
        self,
        *,
        workers: int | None = None,
        scheduler: str | None = None,
        numba_threads: int | None = None,
        max_in_flight: int | None = None,
        connect_timeout: float = 20.0,
        job_timeout: float | None = None,
    ) -> None:
        if (workers is None) == (scheduler is None):
            raise ExecutorError("give either workers=N (a local cluster) or scheduler=ADDRESS")
        from distributed import Client

        self._cluster: Any = None
        if scheduler is not None:
            address = _scheduler_address(scheduler)
            self._client = _connect(address, connect_timeout)
            self.address = address
            try:
                self._client.wait_for_workers(1, timeout=connect_timeout)
            except TimeoutError:
                self._client.close()
                raise ExecutorError(
                    f"the dask scheduler at {address} has no workers; start some with "
                    f"`dask worker {address}`"
                ) from None
            self.n_workers = max(1, len(self._client.scheduler_info()["workers"]))
            threads = numba_threads or self._threads_per_worker_on_cluster()
        else:
            if workers < 1:
                raise ExecutorError(f"--workers must be at least 1, got {workers}")
            cores = os.cpu_count() or 1
            _check_local_workers(workers, cores)
            threads = numba_threads or max(1, cores // workers)
            self._cluster = _local_cluster(workers)
            try:
                self._client = Client(self._cluster, set_as_default=False)
            except (OSError, TimeoutError) as exc:  # a machine too busy to answer in time
                with _quiet_teardown():
                    self._cluster.close()
                raise ExecutorError(
                    f"could not connect to the local dask cluster of {workers} workers: {exc}"
                ) from None
            # the workers' share of _local_cluster's silence_logs: now, and in a worker
            # the nanny restarts (a plugin runs on every worker that joins)
            self._client.register_worker_callbacks(_quiet_asyncio)
            self.address = self._cluster.scheduler_address
            self.n_workers = workers
        self.numba_threads = threads
        self.max_in_flight = max_in_flight or 2 * self.n_workers + 1
        self.job_timeout = job_timeout

    def _threads_per_worker_on_cluster(self) -> int:
        """numba threads per task thread: a host's cores shared by all task threads on it."""
        info = self._client.scheduler_info()["workers"]
        if not info:
            return 1
        cores = self._client.run(os.cpu_count)
        per_host: dict[str, int] = {}
        host_cores: dict[str, int] = {}
        for address, worker in info.items():
            host = worker.get("host", address)
            per_host[host] = per_host.get(host, 0) + int(worker.get("nthreads", 1))
            host_cores[host] = int(cores.get(address) or 1)
        return max(1, min(host_cores[h] // max(1, n) for h, n in per_host.items()))

    def map_chunks(
        self, f: Callable[..., Any], chunks: Iterable[Chunk]
    ) -> Generator[ChunkResult, None, None]:
        from distributed import as_completed

        payload = _dumps(f)
        token = hashlib.sha256(payload).hexdigest()[:16]
        pending = iter(chunks)
        futures: dict[Any, int] = {}
        completed = as_completed(loop=self._client.loop, timeout=self.job_timeout)

        def submit_next() -> bool:
            chunk = next(pending, None)
            if chunk is None:
                return False
            future = self._client.submit(
                _worker_call,
                token,
                payload,
                chunk.X,
                chunk.times,
                self.numba_threads,
                chunk.items,
                pure=False,
                key=f"gvcdyn-chunk-{token}-{chunk.index}-{os.urandom(4).hex()}",
            )
            futures[future] = chunk.index
            completed.add(future)
            return True

        try:
            yield from self._collect(completed, futures, submit_next)
        except TimeoutError:
            raise ExecutorError(
                f"the job did not finish within {self.job_timeout} s; "
                f"{len(futures)} chunk(s) were still running on {self.address}"
            ) from None
        finally:
            if futures:  # interrupted or failed: stop what is still running
                self._client.cancel(list(futures))

    def _collect(
        self, completed: Any, futures: dict[Any, int], submit_next: Callable[[], bool]
    ) -> Generator[ChunkResult, None, None]:
        """Keep ``max_in_flight`` chunks submitted; yield each result as it arrives."""
        from concurrent.futures import CancelledError

        from distributed.scheduler import KilledWorker

        for _ in range(self.max_in_flight):
            if not submit_next():
                break
        for future in completed:
            index = futures.pop(future)
            try:
                result = future.result()
            except KilledWorker as exc:
                raise ExecutorError(
                    f"chunk {index} was running on workers that died repeatedly ({exc}); "
                    "check the workers' memory and logs"
                ) from None
            except CancelledError as exc:  # not by us: we cancel only after the loop
                reason = getattr(exc, "reason", None) or "cancelled"
                raise ExecutorError(
                    f"the dask cluster at {self.address} cancelled chunk {index} "
                    f"({reason}): the scheduler went away or was restarted"
                ) from None
            future.release()
            yield index, *result
            submit_next()

    def close(self) -> None:
        # the job's results are in by now: what dask logs while it tears down (the tasks
        # the nannies cancel after a Ctrl-C, a comm the other side already closed) is
        # noise, not news (_quiet_teardown says where it would print)
        with _quiet_teardown():
            self._client.close()
            if self._cluster is not None:
                self._cluster.close()
            gc.collect()  # an orphaned task's "exception was never retrieved": now, quietly

    def describe(self) -> str:
        kind = "local dask cluster" if self._cluster is not None else "dask cluster"
        return (
            f"{kind} at {self.address} ({self.n_workers} worker(s), "
            f"{self.numba_threads} numba thread(s) each)"
        )


class _Critical(logging.Filter):
    """Lets only CRITICAL records through."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.CRITICAL


#: where dask's teardown is logged: dask's loggers and tornado's (one handler, which dask
#: configures) and asyncio's (no handler: Python's last resort prints its warnings and
#: errors, such as a task's CommClosedError that no one awaited, to stderr)
_TEARDOWN_LOGGERS = ("distributed", "tornado", "asyncio")


def _quiet_asyncio() -> None:
    """In a local worker: asyncio's records below CRITICAL are not printed.

    ``silence_logs`` quiets the workers' dask and tornado loggers, not asyncio's, whose
    records reach the terminal through Python's last resort (a task's CommClosedError
    that no one retrieved, as a worker closes). A worker's error reaches the job through
    its chunk's future. Only in the local cluster's workers, never in a cluster's that
    gvcdyn did not start."""
    logging.getLogger("asyncio").addFilter(_Critical())


@contextlib.contextmanager
def _quiet_teardown() -> Iterator[None]:
    """Below CRITICAL, nothing dask, tornado or asyncio log in this block is printed.

    A filter on those loggers, their children and their handlers, not a handler level
    (issue 21: a CommClosedError traceback at dask shutdown, exit code 0): dask's
    ``silence_logging_cmgr`` sets the level of the "distributed" logger's handler only,
    so asyncio's records (a task's exception no one retrieved) still reached stderr; and
    a handler level is shared with dask's own contexts, which restore it as they close,
    where a filter is this block's own.
    """
    quiet = _Critical()
    loggers = [
        logger
        for name, logger in list(logging.root.manager.loggerDict.items())
        if isinstance(logger, logging.Logger)
        and any(name == root or name.startswith(root + ".") for root in _TEARDOWN_LOGGERS)
    ]
    handlers = {id(h): h for logger in loggers for h in logger.handlers}.values()
    for target in [*loggers, *handlers]:
        target.addFilter(quiet)
    try:
        yield
    finally:
        for target in [*loggers, *handlers]:
            target.removeFilter(quiet)


#: the schemes of a dask scheduler's address that a client on another machine can use
_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")


def _scheduler_address(text: str) -> str:
    """``tcp://HOST:PORT`` (or ``tls://``) from such an address or ``HOST:PORT``.

    Refused at once, before any connection: a scheme dask does not speak (``http://``
    is the dashboard's; dask raised a ValueError after a 40 s wait for its client) and
    a port outside 1-65535 (dask waited for the connect timeout)."""
    address = text.strip()
    if "://" not in address:
        address = "tcp://" + address
    scheme, host_port = address.split("://", 1)
    host, _, port = host_port.rpartition(":")
    expected = (
        f"--scheduler {text!r}: expected an address like tcp://HOST:PORT or tls://HOST:PORT "
        "(as printed by `dask scheduler`)"
    )
    if not host or not port.isdigit():
        raise ExecutorError(expected)
    if scheme.lower() not in _SCHEMES:
        dashboard = " (http:// is the dashboard's address)" if "http" in scheme.lower() else ""
        raise ExecutorError(f"{expected}; dask does not speak {scheme}://{dashboard}")
    if not 1 <= int(port) <= 65535:
        raise ExecutorError(f"{expected}; port {port} is not one (1 to 65535)")
    return f"{scheme.lower()}://{host_port}"


#: local workers per core beyond which a cluster is refused (one per core runs fastest)
MAX_WORKERS_PER_CORE = 4


def _check_local_workers(workers: int, cores: int) -> None:
    """Refuse a local cluster of far more workers than cores: each worker is a process
    that starts, loads the kernel and holds its memory, so 64 of them on 2 cores spent
    four minutes starting and then failed on dask's 30 s connection timeout."""
    most = MAX_WORKERS_PER_CORE * cores
    if workers > most:
        raise ExecutorError(
            f"--workers {workers}: this machine has {cores} core{'s' * (cores > 1)}; one "
            f"worker per core runs fastest, and more than {most} would spend their time "
            "starting and competing for the cores; give at most that, or --scheduler for "
            "a cluster of several machines"
        )


def _local_cluster(workers: int) -> Any:
    """A loopback-only cluster of ``workers`` single-threaded processes, on TLS.

    Loopback alone is not private: every local user can reach 127.0.0.1, and an
    unauthenticated dask scheduler runs whatever a client submits, as the user who
    started it. So the cluster speaks TLS with mutual authentication, its CA and
    certificate made in memory for this cluster (``Security.temporary()``, which needs
    the ``cryptography`` package) and handed only to its own workers and client.
    """
    from distributed import LocalCluster

    # numba's threads are bounded per task (``_limit_numba_threads``), not by setting
    # NUMBA_NUM_THREADS here: dask applies ``env`` after the worker process has started,
    # and a worker that imported numba before (spawn re-imports the caller's __main__,
    # which may import gvcdyn) would then refuse to compile ("Cannot set
    # NUMBA_NUM_THREADS to a different value once the threads have been launched").
    env = {
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }
    for name in ("GVCDYN_CACHE_DIR", "PYTHONPATH"):
        if name in os.environ:
            env[name] = os.environ[name]
    security = _temporary_security()
    try:
        with _ctrl_c_left_to_this_process():
            return LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                # the scheduler's small HTTP server (health checks) starts even without a
                # dashboard: on a free loopback port, not 8787 that another cluster may hold
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                # a worker's error reaches the job through its chunk's future; what the
                # workers log themselves (a heartbeat to a scheduler closed by Ctrl-C) is noise
                silence_logs=logging.CRITICAL,
                env=env,
                security=security,  # tls:// with this cluster's own certificate
            )
    except (OSError, TimeoutError) as exc:
        raise ExecutorError(
            f"could not start a local dask cluster of {workers} workers: {exc}"
        ) from None


def _temporary_security() -> Any:
    """dask's ``Security.temporary()``: a CA and certificate for one cluster, in memory."""
    from distributed.security import Security

    try:
        return Security.temporary()
    except ImportError:
        raise ExecutorError(
            "the local dask cluster is secured with TLS, which needs the 'cryptography' "
            "package: pip install cryptography (a dependency of gvcdyn)"
        ) from None


@contextlib.contextmanager
def _ctrl_c_left_to_this_process() -> Iterator[None]:
    """Worker processes started in this block ignore Ctrl-C (they inherit the ignored
    SIGINT): a terminal sends it to every process of the job, and each worker would print
    its own KeyboardInterrupt traceback. This process catches it and closes the cluster.
    Only in the main thread, over Python's own handler (as ``jobs``' latch)."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
