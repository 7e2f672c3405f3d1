"""Benchmark the everyday paths against the bare kernel, a hand-written kernel and PySD.

All in this process, on one model (default ``benchmarks/models/gvc_like.mdl``):

1. per-run times at batches of 1, 100 and 10,000 of the evaluator (every non-structural
   parameter varied, 5 stocks at the final time) and of ``Model.run`` (every variable),
   wall and CPU, with PySD's time per run over theirs and their time over the
   hand-written kernel's (``hand_gvc_like.py``, the benchmark model only);
2. at ``--runs`` (10,000): ``Model.run`` against ``Model.simulate`` (every cell, raw
   arrays; target within 1.3x) and the evaluator against ``Model.simulate`` saving just
   its 5 cells (the bare kernel call; target within 1.1x).

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


if __name__ == "__main__":
    main()
