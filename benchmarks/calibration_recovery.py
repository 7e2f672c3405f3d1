"""Parameter recovery at scale: simulate case outcomes from known parameters, fit them back.

For each of ``--datasets`` synthetic data sets (the real cases' context and horizons,
outcomes drawn from the ordered logit at known parameters and cutpoints), run the fit
and the profile likelihood, and count how often each true value falls inside its 95%
profile interval (nominal: 95%). Prints the coverage per parameter, the median
estimate and interval width, and the wall time per fit.

    python benchmarks/calibration_recovery.py                      # toy model, 40 sets
    python benchmarks/calibration_recovery.py --config calibration/config.toml --datasets 8
    python benchmarks/calibration_recovery.py --config calibration/config.toml --dt-check

With the GVC config the true parameters are the model's defaults, and the fit is made
cheaper (one DE start, fewer generations) so that a handful of sets runs in minutes.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from gvcdyn.calibrate.config import load_config
from gvcdyn.calibrate.fit import fit
from gvcdyn.calibrate.problem import CalibrationProblem
from gvcdyn.calibrate.synthetic import balanced_cutpoints, simulate_outcomes
from gvcdyn.calibrate.uncertainty import profiles

REPO = Path(__file__).resolve().parents[1]
TOY = REPO / "tests" / "data" / "calibration" / "toy_config.toml"


def dt_check(config) -> None:
    """Largest change of each measurement quantity when the time step is the model's own."""
    coarse = CalibrationProblem.from_config(config)
    fine = CalibrationProblem.from_config(replace(config, time_step=None), model=coarse.model)
    theta = np.array([[coarse.model.parameter(n).default for n in coarse.names]])
    rng = np.random.default_rng(0)
    theta = np.vstack([theta, coarse.from_unit(rng.random((20, coarse.k)))])
    for problem, label in ((coarse, f"time step {config.time_step}"), (fine, "model's step")):
        problem.quantities(theta[:1])  # load the kernel first
        start = time.perf_counter()
        problem.quantities(theta)
        print(
            f"{label}: {time.perf_counter() - start:.2f} s for {len(theta) * len(problem.cases)}"
            " runs"
        )
    s_c, _ = coarse.quantities(theta)
    s_f, _ = fine.quantities(theta)
    for k, o in enumerate(coarse.outcomes):
        diff = np.abs(s_c[..., k] - s_f[..., k]).max()
        print(f"  {o.quantity}: max |difference| {diff:.4f} = {diff / o.scale:.3f} logit units")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=TOY)
    parser.add_argument("--datasets", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--dt-check", action="store_true")
    args = parser.parse_args()
    config = load_config(args.config)
    if args.dt_check:
        dt_check(config)
        return
    toy = args.config.resolve() == TOY.resolve()
    if toy:
        config = replace(config, seeds=(1,), popsize=8, maxiter=15, profile_points=9)
    else:
        config = replace(config, seeds=(1,), popsize=8, maxiter=15, profile_points=7)
    problem = CalibrationProblem.from_config(config)
    truth = (
        np.array([0.3, 0.2])
        if toy
        else np.array([problem.model.parameter(n).default for n in problem.names])
    )
    cuts = balanced_cutpoints(problem, truth)
    rng = np.random.default_rng(args.seed)
    covered = np.zeros(problem.k)
    estimates, widths, seconds = [], [], []
    print(f"{problem.k} parameters, {len(problem.cases)} cases, {args.datasets} data sets")
    for d in range(args.datasets):
        start = time.perf_counter()
        data = problem.with_frame(simulate_outcomes(problem, truth, cuts, rng))
        result = fit(data)
        prof, theta, _ = profiles(data, result.theta, result.objective, config.profile_points)
        seconds.append(time.perf_counter() - start)
        inside = np.array([p.low <= t <= p.high for p, t in zip(prof, truth, strict=True)])
        covered += inside
        estimates.append(theta)
        widths.append([p.high - p.low for p in prof])
        print(
            f"set {d + 1}: {seconds[-1]:.1f} s, estimate {np.round(theta, 3)}, "
            f"inside {inside.astype(int)}",
            flush=True,
        )
    estimates, widths = np.array(estimates), np.array(widths)
    print("\nparameter                        truth  median est  median width  coverage (95%)")
    for i, name in enumerate(problem.names):
        print(
            f"{name:32s} {truth[i]:6.3g}  {np.median(estimates[:, i]):10.3g}  "
            f"{np.median(widths[:, i]):12.3g}  {covered[i] / args.datasets:6.0%} "
            f"({int(covered[i])}/{args.datasets})"
        )
    print(
        f"wall time per fit + profiles: median {np.median(seconds):.1f} s; "
        f"model runs in total {problem.counter.runs:,}"
    )


if __name__ == "__main__":
    main()
