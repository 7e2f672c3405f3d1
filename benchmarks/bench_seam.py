"""Benchmark the everyday paths against the bare kernel, a hand-written kernel and PySD.

All in this process, on one model (default ``benchmarks/models/gvc_like.mdl``):

1. per-run times at batches of 1, 100 and 10,000 of the evaluator (every non-structural
   parameter varied, 5 stocks at the final time) and of ``Model.run`` (every variable),
   wall and CPU, with PySD's time per run over theirs and their time over the
   hand-written kernel's (``hand_gvc_like.py``, the benchmark model only);
2. at ``--runs`` (10,000): ``Model.run`` against ``Model.simulate`` (every cell, raw
   arrays; target within 1.3x) and the evaluator against ``Model.simulate`` saving just
   its 5 cells (the bare kernel call; target within 1.1x);
3. on the benchmark model, at ``--runs`` on 1 thread and on numba's thread count: the
   hand kernel (numba ``prange``), the hand kernel on gvcdyn's ``Threaded`` and the
   evaluator in alternating rounds (``--rounds``), each round's time over the hand
   kernel's in the same round, so that load changing during the script (a shared
   machine) moves both sides of a ratio alike. The hand kernel on ``Threaded`` tells a
   gap of the generated code apart from one of how runs are spread over threads.

Parameters are varied over their documented range, else +-20% of their default clipped
to the bound they document; those whose range is one value (``[1, 1]``) or whose default
is 0 stay fixed, and the script names them.

    python benchmarks/bench_seam.py                         # gvc_like
    python benchmarks/bench_seam.py models/gvc_upgrading.mdl
    python benchmarks/bench_seam.py --runs 2000 --batches 1,100 path/to/model.mdl
    python benchmarks/bench_seam.py models/gvc_upgrading.mdl --integration rk4 --time-step 0.125
    python benchmarks/bench_seam.py models/gvc_upgrading.mdl --integration rk23 --time-step 1

Numbers depend on the machine and its load (printed with them): on a shared machine
compare CPU times, and wall times only between runs at the same load.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import hand_gvc_like
import numba
import pandas as pd
from seam_table import (
    Seam,
    Timing,
    accuracy,
    hand_kernel,
    load_average,
    print_table,
    time_hand,
    timed,
)

import gvcdyn

HERE = Path(__file__).resolve().parent
DEFAULT_MODEL = HERE / "models" / "gvc_like.mdl"


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``work`` over ``repeats`` calls (after one warm-up call)."""
    work()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def pysd_seconds_per_run(mdl: Path, repeats: int) -> float:
    """Median seconds of one PySD ``run()`` of the model (translated in a temporary folder)."""
    import pysd

    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copy = Path(tmp) / mdl.name
        shutil.copy(mdl, copy)
        model = pysd.read_vensim(str(copy))
        return median_seconds(model.run, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batches", default="1,100,10000", help="comma-separated")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds per measurement")
    parser.add_argument(
        "--integration",
        help="euler, rk4, rk23, rk45 or e.g. rk23:1e-6; default: the model's declared method",
    )
    parser.add_argument("--time-step", type=float, help="default: the model's TIME STEP")
    parser.add_argument(
        "--rounds", type=int, default=7, help="alternating rounds against the hand kernel"
    )
    args = parser.parse_args()
    batches = tuple(int(b) for b in args.batches.split(","))

    model = gvcdyn.load(args.model)
    seam = Seam.of(model, args.integration, args.time_step)
    print(
        f"model {args.model.name}: {len(model.parameters)} parameters ({seam.space.k} varied), "
        f"{len(model.variables)} variables; numba {numba.get_num_threads()} threads; "
        f"{load_average()}"
    )
    print(f"  integration: {seam.evaluator.method}, time step {seam.evaluator.grid.time_step:g}")
    print(f"  {accuracy(model, args.integration, args.time_step)}")
    if seam.skipped:
        print(f"  left at their defaults (range is one value, or default 0): {seam.skipped}")
    t_pysd = pysd_seconds_per_run(args.model, max(1, min(args.repeats, 3)))
    print(f"  PySD run(): {t_pysd * 1e3:.1f} ms per run")

    print(f"\nper run by batch size (wall: median of calls; {load_average()})")
    kernel = hand_kernel(model)
    hand = time_hand(seam, kernel, batches, args.budget) if kernel else None
    print_table(seam.time(batches, args.budget), t_pysd, hand)

    X = seam.design(args.runs)
    design = pd.DataFrame(X, columns=list(seam.space.names))
    matrix = model.parameter_matrix(design)
    grid = model.grid(matrix, time_step=args.time_step)
    method = seam.evaluator.method
    five = seam.evaluator.columns
    n = args.runs
    t_run = timed(lambda: seam.run(design), n, args.budget)
    t_simulate = timed(lambda: model.simulate(matrix, method=method, grid=grid), n, args.budget)
    t_eval = timed(lambda: seam.evaluator(X), n, args.budget)
    t_bare = timed(
        lambda: model.simulate(matrix, method=method, grid=grid, columns=five), n, args.budget
    )
    print(f"\nat {n:,} runs, us per run, wall (CPU); {load_average()}")

    def line(label: str, t: Timing, versus: str = "") -> None:
        print(f"  {label:<34}{t.wall * 1e6:9.2f} ({t.cpu * 1e6:.2f}){versus}")

    line("Model.simulate, every cell", t_simulate)
    line(
        "Model.run, every variable",
        t_run,
        f"   {t_run.wall / t_simulate.wall:5.2f}x simulate (target <= 1.3x)",
    )
    line(f"bare kernel, {len(five)} cells", t_bare)
    line(
        f"evaluator, {len(five)} final-time outcomes",
        t_eval,
        f"   {t_eval.wall / t_bare.wall:5.2f}x bare kernel (target <= 1.1x)",
    )
    if kernel is not None:
        matrix = seam.space.matrix(X)
        on_threaded = hand_gvc_like.HandKernel(model, threaded=True)
        paths = {
            "hand kernel (prange)": lambda: kernel(matrix),
            "hand kernel on Threaded": lambda: on_threaded(matrix),
            "evaluator": lambda: seam.evaluator(X),
        }
        alternating(paths, n, args.rounds, args.budget / 3)


def alternating(paths: dict[str, Callable[[], object]], n: int, rounds: int, budget: float) -> None:
    """Time ``paths`` (the first is the reference) in alternating rounds on 1 thread and
    on numba's thread count; print per path the median CPU and wall us per run and the
    median over rounds of its time over the reference's in the same round."""
    threads = numba.get_num_threads()
    print(f"\nalternating rounds at {n:,} runs ({rounds} rounds; {load_average()})")
    head = ("threads", "path", "CPU us/run", "wall us/run", "/ref CPU", "/ref wall")
    print("  {:>7} {:<24} {:>10} {:>11} {:>9} {:>9}".format(*head))
    for t in sorted({1, threads}):
        numba.set_num_threads(t)
        try:
            for work in paths.values():
                work()  # warm-up (and compile)
            calls = {name: max(1, int(budget / _seconds(work))) for name, work in paths.items()}
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in paths}
            for _ in range(rounds):
                for name, work in paths.items():
                    cpu, wall = time.process_time(), time.perf_counter()
                    for _ in range(calls[name]):
                        work()
                    runs = calls[name] * n
                    samples[name].append(
                        ((time.process_time() - cpu) / runs, (time.perf_counter() - wall) / runs)
                    )
        finally:
            numba.set_num_threads(threads)
        reference = samples[next(iter(paths))]
        for name, s in samples.items():
            cpu = statistics.median([a for a, _ in s]) * 1e6
            wall = statistics.median([b for _, b in s]) * 1e6
            pairs = list(zip(s, reference, strict=True))
            r_cpu = statistics.median([a / r for (a, _), (r, _) in pairs])
            r_wall = statistics.median([b / r for (_, b), (_, r) in pairs])
            print(f"  {t:>7} {name:<24} {cpu:>10.2f} {wall:>11.2f} {r_cpu:>8.2f}x {r_wall:>8.2f}x")
    print(f"  ({load_average()})")


def _seconds(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return max(time.perf_counter() - start, 1e-6)


if __name__ == "__main__":
    main()
