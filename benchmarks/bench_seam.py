"""Benchmark the everyday paths against the bare kernel and PySD, all in this process.

Prints, for a batch of 10,000 random parameter sets of the benchmark model:

- ``Model.run`` (a DataFrame in, every variable out as an xarray Dataset) against
  ``Model.simulate`` (matrix in, every cell out as raw arrays): target within 1.3x;
- the evaluator for 5 final-time outcomes against ``Model.simulate`` saving just those
  5 cells (the bare kernel call): target within 1.1x;
- ``Model.run`` per run against PySD's ``run()``: target at least 20,000x.

    python benchmarks/bench_seam.py                     # benchmarks/models/gvc_like.mdl
    python benchmarks/bench_seam.py --runs 2000 --repeats 3 path/to/model.mdl

Numbers depend on the machine and its load; run it on an idle machine.
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

import numpy as np
import pandas as pd

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


def varied_bounds(model: gvcdyn.Model) -> dict[str, tuple[float, float]]:
    """Every non-structural parameter: its documented range, else +-20% of its default."""
    bounds = {}
    for p in model.parameters:
        if p.variable in model.ir.structural:
            continue
        if p.minimum is not None and p.maximum is not None and p.minimum < p.maximum:
            bounds[p.name] = (p.minimum, p.maximum)
        elif p.default != 0 and np.isfinite(p.default):
            bounds[p.name] = tuple(sorted((0.8 * p.default, 1.2 * p.default)))
    return bounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    model = gvcdyn.load(args.model)
    bounds = varied_bounds(model)
    space = gvcdyn.ParameterSpace(model, list(bounds), bounds=bounds)
    X = space.scale(np.random.default_rng(0).uniform(size=(args.runs, space.k)))
    design = pd.DataFrame(X, columns=list(space.names))
    matrix = model.parameter_matrix(design)
    stocks = [v.name for v in model.variables if v.kind == "stock"][:5]
    outcomes = [gvcdyn.Outcome(name) for name in stocks]
    evaluator = model.evaluator(space, outcomes)
    grid = model.grid(matrix)
    five = np.array([model.cell_index(model.variable(n).cells[0]) for n in stocks])

    t_run = median_seconds(lambda: model.run(design), args.repeats)
    t_simulate = median_seconds(lambda: model.simulate(matrix), args.repeats)
    t_eval = median_seconds(lambda: evaluator(X), args.repeats)
    t_bare = median_seconds(lambda: model.simulate(matrix, grid=grid, columns=five), args.repeats)
    t_pysd = pysd_seconds_per_run(args.model, max(1, min(args.repeats, 3)))

    n = args.runs
    per = 1e6 / n
    print(
        f"model {args.model.name}: {n:,} runs, {len(model.parameters)} parameters "
        f"({space.k} varied), {len(model.variables)} variables, median of {args.repeats}"
    )
    print(f"  Model.simulate, every cell        {t_simulate * per:9.2f} us/run")
    print(
        f"  Model.run, every variable         {t_run * per:9.2f} us/run   "
        f"{t_run / t_simulate:5.2f}x simulate (target <= 1.3x)"
    )
    print(f"  bare kernel, 5 cells              {t_bare * per:9.2f} us/run")
    print(
        f"  evaluator, 5 final-time outcomes  {t_eval * per:9.2f} us/run   "
        f"{t_eval / t_bare:5.2f}x bare kernel (target <= 1.1x)"
    )
    print(f"  PySD run()                        {t_pysd * 1e6:9.0f} us/run")
    print(f"  Model.run vs PySD per run         {t_pysd / (t_run / n):9,.0f}x (target >= 20,000x)")


if __name__ == "__main__":
    main()
