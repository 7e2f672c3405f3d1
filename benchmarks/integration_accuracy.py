"""Accuracy and cost of integration settings: each method and step against a converged run.

Why: a model's answers should not depend on its time step. This prints, for Euler and RK4
at several steps, the CPU time per run and the worst error on every stock against a
reference (RK4 at a very small step), at the model's defaults and over a Latin hypercube
of every lever with a finite documented range. The error of a stock is its largest
absolute deviation from the reference at the saved times, divided by the stock's scale
(its largest absolute reference value over all runs and times), so a stock that stays
near zero in one run is not judged by that run's tiny values.

    python benchmarks/integration_accuracy.py models/gvc_upgrading.mdl --runs 200

Reading the output: pick the cheapest setting whose worst error is below the accuracy you
need (the project's target is 0.5%). Kinks in the equations (IF THEN ELSE, MIN, MAX, a
trigger year between steps) make RK4's error fall like dt^2 rather than dt^4.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from scipy.stats import qmc

import gvcdyn

SETTINGS = [
    ("euler", 1 / 16),
    ("euler", 1 / 64),
    ("euler", 1 / 256),
    ("rk4", 1 / 2),
    ("rk4", 1 / 4),
    ("rk4", 1 / 8),
    ("rk4", 1 / 16),
]


def lever_design(model: gvcdyn.Model, runs: int, seed: int) -> dict[str, np.ndarray]:
    """A Latin hypercube over every parameter with a finite, non-degenerate range."""
    table = model.parameter_table()
    rows = table[np.isfinite(table["min"]) & np.isfinite(table["max"])]
    rows = rows[(rows["max"] > rows["min"]) & (rows["name"] != "NOISE SEED")]
    unit = qmc.LatinHypercube(d=len(rows), seed=seed).random(runs)
    X = qmc.scale(unit, rows["min"].to_numpy(float), rows["max"].to_numpy(float))
    return {name: X[:, j] for j, name in enumerate(rows["name"])}


def stock_names(model: gvcdyn.Model) -> list[str]:
    return [v.name for v in model.ir.variables if v.kind == "stock"]


def worst_error(run, reference, stocks: list[str]) -> tuple[float, str]:
    """The largest scaled error over stocks, runs and saved times, and its stock."""
    worst, where = 0.0, ""
    for stock in stocks:
        ref = reference[stock].values
        scale = max(float(np.nanmax(np.abs(ref))), 1e-12)
        error = float(np.nanmax(np.abs(run[stock].values - ref))) / scale
        if error > worst:
            worst, where = error, stock
    return worst, where


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mdl", type=Path)
    parser.add_argument("--runs", type=int, default=200, help="Latin-hypercube settings")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reference-step", type=float, default=1 / 512)
    args = parser.parse_args()
    model = gvcdyn.load(args.mdl)
    stocks = stock_names(model)
    designs = {"defaults": {}, f"LHS x {args.runs}": lever_design(model, args.runs, args.seed)}
    print(f"{args.mdl.name}: {len(stocks)} stocks; load average {os.getloadavg()[0]:.1f}")
    step = round(1 / args.reference_step)
    print(f"reference: RK4 at dt = 1/{step}; error = max |x - ref| / scale")
    for label, params in designs.items():
        n = max((len(v) for v in params.values()), default=1)

        def run(method: str, dt: float, params=params):
            return model.run(
                params,
                method=method,
                time_step=dt,
                saveper=1.0,
                variables=stocks,
                allow_out_of_range=True,
            )

        reference = run("rk4", args.reference_step)
        print(f"\n{label}")
        print(f"{'method':6s} {'dt':>7s} {'CPU us/run':>11s} {'worst error':>12s}  stock")
        for method, dt in SETTINGS:
            run(method, dt)  # compile and warm up outside the timing
            start = time.process_time()
            result = run(method, dt)
            cpu = (time.process_time() - start) / n * 1e6
            error, stock = worst_error(result, reference, stocks)
            failed = int((result["status"].values != 0).sum())
            note = f"  ({failed} runs failed)" if failed else ""
            print(f"{method:6s} 1/{round(1 / dt):<5d} {cpu:11.0f} {error:12.2e}  {stock}{note}")


if __name__ == "__main__":
    main()
