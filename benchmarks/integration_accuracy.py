"""Accuracy and cost of integration settings: each method and step against a converged run.

Why: a model's answers should not depend on its time step. This prints, for Euler and RK4
at several steps and for the adaptive methods (rk23, rk45; TIME STEP is only their first
step) at several tolerances, the kernel's CPU time per run (on one thread, the least
of --repeats rounds, without building the Dataset) and the worst error on every stock against a
reference (RK4 at a very small step, itself checked against rk45 at a tolerance of
1e-10): at the model's defaults, over a Latin hypercube of every lever with a finite
documented range, and at a calibration's fit (``--fit results/fit.nc``: its estimate
with each case's levers). The error of a stock is its largest absolute deviation from
the reference at the saved times, divided by the stock's scale (its largest absolute
reference value over all runs and times), so a stock that stays near zero in one run is
not judged by that run's tiny values.

    python benchmarks/integration_accuracy.py models/gvc_upgrading.mdl --runs 200 \
        --fit results/fit.nc

Reading the output: pick the cheapest setting whose worst error is below the accuracy you
need (the project's target is 0.5%). Kinks in the equations (IF THEN ELSE, MIN, MAX, a
trigger year between steps) make RK4's error fall like dt^2 rather than dt^4; the
adaptive methods shorten their step around them.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numba
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
    ("rk23:1e-4", 1 / 64),
    ("rk23:3e-5", 1 / 64),
    ("rk23:1e-5", 1 / 64),
    ("rk23:3e-6", 1 / 64),
    ("rk45:1e-5", 1 / 64),
    ("rk45:3e-6", 1 / 64),
    ("rk45:1e-6", 1 / 64),
]


def lever_design(model: gvcdyn.Model, runs: int, seed: int) -> dict[str, np.ndarray]:
    """A Latin hypercube over every parameter with a finite, non-degenerate range."""
    table = model.parameter_table()
    rows = table[np.isfinite(table["min"]) & np.isfinite(table["max"])]
    rows = rows[(rows["max"] > rows["min"]) & (rows["name"] != "NOISE SEED")]
    unit = qmc.LatinHypercube(d=len(rows), seed=seed).random(runs)
    X = qmc.scale(unit, rows["min"].to_numpy(float), rows["max"].to_numpy(float))
    return {name: X[:, j] for j, name in enumerate(rows["name"])}


def fit_design(model: gvcdyn.Model, path: Path) -> dict[str, np.ndarray]:
    """A calibration's estimate with each of its cases' levers (one run per case)."""
    import xarray as xr  # lazy: only with --fit

    with xr.open_dataset(path) as fit:
        cases = fit.sizes["case"]
        design = {
            str(p): np.full(cases, float(v))
            for p, v in zip(fit["parameter"].values, fit["estimate"].values, strict=True)
        }
        for j, lever in enumerate(fit["lever"].values):
            design[str(lever)] = fit["lever_value"].values[:, j].astype(float)
    model.parameter_matrix(design, allow_out_of_range=True)  # names and values check
    return design


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


def kernel_cpu(
    model: gvcdyn.Model,
    matrix: np.ndarray,
    columns: np.ndarray,
    settings: list[tuple[str, float]],
    repeats: int,
) -> list[float]:
    """CPU seconds of the kernel's batch for each setting, on one thread (no Dataset):
    the least of ``repeats`` rounds that time every setting once in turn, so that on a
    shared machine a busy moment falls on all settings alike and the least is the
    time other processes disturbed least."""
    grids = [model.grid(matrix, time_step=dt, saveper=1.0) for _, dt in settings]
    best = [np.inf] * len(settings)
    before = numba.get_num_threads()
    numba.set_num_threads(1)  # the work itself, without threads waiting for each other
    try:
        for _ in range(repeats):
            for k, ((method, _), grid) in enumerate(zip(settings, grids, strict=True)):
                start = time.process_time()
                model.simulate(matrix, method=method, grid=grid, columns=columns, checked=True)
                best[k] = min(best[k], time.process_time() - start)
    finally:
        numba.set_num_threads(before)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mdl", type=Path)
    parser.add_argument("--runs", type=int, default=200, help="Latin-hypercube settings")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reference-step", type=float, default=1 / 512)
    parser.add_argument("--fit", type=Path, help="a calibration result (gvcdyn calibrate)")
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds of all settings")
    args = parser.parse_args()
    model = gvcdyn.load(args.mdl)
    stocks = stock_names(model)
    designs = {"defaults": {}, f"LHS x {args.runs}": lever_design(model, args.runs, args.seed)}
    if args.fit is not None:
        fit = fit_design(model, args.fit)
        designs[f"fit x {len(next(iter(fit.values())))} cases"] = fit
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
        check, _ = worst_error(run("rk45:1e-10", 1 / 64), reference, stocks)
        print(f"\n{label} (reference vs rk45 at tolerance 1e-10: {check:.1e})")
        print(f"{'method':10s} {'dt':>7s} {'CPU us/run':>11s} {'worst error':>12s}  stock")
        matrix = model.parameter_matrix(params, allow_out_of_range=True)
        _, columns = model.output_columns(stocks)
        results = [run(method, dt) for method, dt in SETTINGS]  # compiles before the timing
        seconds = kernel_cpu(model, matrix, columns, SETTINGS, args.repeats)
        for (method, dt), result, cpu in zip(SETTINGS, results, seconds, strict=True):
            error, stock = worst_error(result, reference, stocks)
            failed = int((result["status"].values != 0).sum())
            note = f"  ({failed} runs failed)" if failed else ""
            step = f"1/{round(1 / dt)}" if dt < 1 else f"{dt:g}"
            print(f"{method:10s} {step:>7s} {cpu / n * 1e6:11.0f} {error:12.2e}  {stock}{note}")


if __name__ == "__main__":
    main()
