"""Benchmark the executors: throughput, overhead per chunk, and memory of a streamed job.

Two parts, each printing numbers (nothing is asserted; they depend on the machine and
its load, so run them on an idle machine):

``throughput``: the same batch of random parameter sets of the benchmark model through
one direct evaluator call, in-process chunks, and local dask clusters of 1 and 2
workers (runs per second); then the fixed cost of one chunk (a trivial function over
many tiny chunks) in-process and on dask.

``memory``: 1,000,000 runs x 41 saved times x 5 variables (205 outcomes per run, 1.6 GB
as float64) streamed chunk by chunk to a netCDF file; prints the peak resident memory
of this process and of this process plus its workers (sampled with psutil). Target:
under 2 GiB.

    python benchmarks/bench_executors.py throughput [--runs 100000] [--chunk 10000]
    python benchmarks/bench_executors.py memory [--runs 1000000] [--workers 0|N]
    python benchmarks/bench_executors.py all
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil

import gvcdyn
from gvcdyn.execute import (
    DaskExecutor,
    Executor,
    InProcessExecutor,
    NetCDFSink,
    TimeSeriesLayout,
    map_runs,
)

HERE = Path(__file__).resolve().parent
DEFAULT_MODEL = HERE / "models" / "gvc_like.mdl"
VARIED = ["process learning rate", "product learning rate", "innovation learning rate"]
SPREAD = (0.5, 1.5)  # bounds as multiples of the default (the model gives no ranges)
GiB = 1024**3


def evaluator(model_path: Path, n_variables: int = 5) -> tuple[object, list[str], np.ndarray]:
    """The seam's evaluator for ``n_variables`` stocks at every saved time (one outcome each)."""
    model = gvcdyn.load(model_path)
    stocks = [v.name for v in model.variables if v.kind == "stock"][:n_variables]
    bounds = {n: tuple(model.parameter(n).default * np.array(SPREAD)) for n in VARIED}
    space = gvcdyn.ParameterSpace(model, VARIED, bounds=bounds, allow_out_of_range=True)
    times = model.grid(model.defaults()[None, :]).save_times
    outcomes = [gvcdyn.Outcome(v, "value", at=float(t)) for v in stocks for t in times]
    return model.evaluator(space, outcomes), stocks, times


def design(f: object, n: int, seed: int = 0) -> np.ndarray:
    lo, hi = f.space.bounds.T
    return lo + (hi - lo) * np.random.default_rng(seed).random((n, len(lo)))


class PeakMemory:
    """Samples the resident memory of this process and its children (dask workers)."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.peak_total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for process in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += process.memory_info().rss
            self.peak_total = max(self.peak_total, total)
            time.sleep(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def peak_rss_self() -> int:
    """Peak resident memory of this process since it started (Linux: kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def executor_for(workers: int) -> Executor:
    return InProcessExecutor() if workers == 0 else DaskExecutor(workers=workers)


def bench_memory(args: argparse.Namespace) -> None:
    f, stocks, times = evaluator(args.model)
    n = args.runs
    X = design(f, n)
    width = len(f.names)
    print(
        f"memory: {n:,} runs x {len(times)} saved times x {len(stocks)} variables "
        f"= {n * width * 8 / GiB:.2f} GiB of float64 results; model {args.model.name}"
    )
    f(X[:10])  # compile or load the kernel before measuring
    folder = Path(tempfile.mkdtemp(prefix="gvcdyn-bench-", dir=args.tmp))
    try:
        path = folder / "big.nc"
        with executor_for(args.workers) as executor, PeakMemory() as peak:
            sink = NetCDFSink(
                path,
                n,
                layout=TimeSeriesLayout(stocks, times),
                parameters=list(f.space.names),
                X=X,
                attrs={"model": args.model.name},
            )
            start = time.perf_counter()
            result = map_runs(f, X, executor=executor, chunk_size=args.chunk, sink=sink)
            seconds = time.perf_counter() - start
        size = path.stat().st_size
        print(f"  executor: {executor.describe()}, chunk {args.chunk:,} runs")
        print(f"  wall time {seconds:.1f} s ({n / seconds:,.0f} runs/s), {result.n_chunks} chunks")
        print(f"  file {size / GiB:.2f} GiB")
        print(f"  peak RSS of this process: {peak_rss_self() / GiB:.3f} GiB")
        print(f"  peak RSS of this process + workers (sampled): {peak.peak_total / GiB:.3f} GiB")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Trivial:
    """Almost no work per chunk: its time is the executor's own cost."""

    def __call__(self, X: np.ndarray):
        return X[:, :1].copy(), np.zeros(len(X), dtype=np.int64)


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def bench_throughput(args: argparse.Namespace) -> None:
    f, _, _ = evaluator(args.model)
    n = args.runs
    X = design(f, n, seed=1)
    f(X[:10])
    print(f"throughput: {n:,} runs of {args.model.name}, 205 outcomes each, chunk {args.chunk:,}")
    direct = timed(lambda: f(X))
    print(f"  direct f(X), 1 call:         {direct:7.2f} s  {n / direct:10,.0f} runs/s")
    seconds = timed(lambda: map_runs(f, X, chunk_size=args.chunk))
    print(f"  in-process chunks:           {seconds:7.2f} s  {n / seconds:10,.0f} runs/s")
    for workers in (1, 2):
        start = time.perf_counter()
        with DaskExecutor(workers=workers) as executor:
            up = time.perf_counter() - start
            map_runs(f, X[: args.chunk], executor=executor, chunk_size=args.chunk)  # warm-up
            seconds = timed(lambda ex=executor: map_runs(f, X, executor=ex, chunk_size=args.chunk))
        print(
            f"  dask, {workers} worker(s):            {seconds:7.2f} s  {n / seconds:10,.0f} runs/s"
            f"  (cluster start {up:.1f} s, not included)"
        )
    n_chunks = 400
    tiny = np.zeros((n_chunks * 10, 3))
    in_process = timed(lambda: map_runs(Trivial(), tiny, chunk_size=10)) / n_chunks
    print(f"  overhead per chunk, in-process: {in_process * 1e6:8.1f} us")
    for workers in (1, 2):
        with DaskExecutor(workers=workers) as executor:
            map_runs(Trivial(), tiny[:100], executor=executor, chunk_size=10)  # warm-up
            per_chunk = (
                timed(lambda ex=executor: map_runs(Trivial(), tiny, executor=ex, chunk_size=10))
                / n_chunks
            )
        print(f"  overhead per chunk, dask {workers} worker(s): {per_chunk * 1e3:8.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("part", choices=["throughput", "memory", "all"])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--chunk", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=0, help="memory part: 0 = in-process")
    parser.add_argument("--tmp", default=None, help="folder for the streamed file")
    args = parser.parse_args()
    runs = args.runs
    if args.part in ("throughput", "all"):
        args.runs = runs or 100_000
        bench_throughput(args)
    if args.part in ("memory", "all"):
        args.runs = runs or 1_000_000
        bench_memory(args)


if __name__ == "__main__":
    main()
