"""What the v2.2 treadmill (buyers take the cluster's process gains as lower prices) does
to the cases, at a fit's estimate: per group of cases, observed mean level against the
model's mean most probable level and mean quantity, with Buyer Gain Capture at 0 (model
v2.1's structure) and at the model's value.

The groups are the ones calibration/report_notes.md names: shocked captive global-market
cases coded treadmilling or decline (the worst-fitted ones), other captive cases, and the
rest. Cutpoints are profiled at each setting, as in the fit.

    python studies/diagnose_treadmill.py --fit results/fit.nc
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

import gvcdyn
from gvcdyn.calibrate.config import load_config
from gvcdyn.calibrate.likelihood import level_probabilities
from gvcdyn.calibrate.problem import CalibrationProblem

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "calibration"))
from refit_variants import with_default  # noqa: E402  (a sibling script, not a package)

CONFIG = REPO / "calibration" / "config.toml"
TREADMILL = "Buyer Gain Capture"


def problem_with(config, value: float, directory: Path) -> CalibrationProblem:
    """The calibration problem on a copy of the model whose Buyer Gain Capture is ``value``."""
    copy = with_default(REPO / "models" / "gvc_upgrading.mdl", TREADMILL, value, directory)
    return CalibrationProblem.from_config(config, model=gvcdyn.load(copy))


def case_groups(problem: CalibrationProblem) -> dict[str, np.ndarray]:
    """Boolean masks over the cases for the groups the calibration notes discuss."""
    frame = problem.cases.frame
    captive = frame["governance"].isin(["captive", "hierarchy"]).to_numpy()
    shocked = frame["trigger"].str.startswith("shock").to_numpy()
    global_market = (frame["end_market"] == "global").to_numpy()
    stuck = frame["outcome_class"].isin(["treadmilling", "decline"]).to_numpy()
    target = captive & shocked & global_market & stuck
    return {
        "shocked captive global, treadmill/decline": target,
        "other captive": captive & ~target,
        "not captive": ~captive,
    }


def summarise(
    problem: CalibrationProblem, theta: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Objective, quantities ``(C, m)``, most probable level ``(C, m)`` and each case's
    surprise (weighted -log probability of its observed levels, ``(C,)``) at ``theta``."""
    s, status = problem.quantities(theta[None, :])
    nll, cuts = problem.nll_from_quantities(s, status)
    levels = []
    surprise = np.zeros(len(problem.cases))
    for k in range(len(problem.outcomes)):
        eta = s[0, :, k] / problem.scales[k]
        prob = level_probabilities(eta, cuts[k][0])
        levels.append(np.argmax(prob, axis=-1))
        observed = problem.levels[:, k]
        seen = observed >= 0
        p_obs = prob[np.arange(len(observed)), np.where(seen, observed, 0)]
        surprise += np.where(seen, -np.log(p_obs) * problem.weights, 0.0)
    objective = float(nll[0] + problem.log_prior(theta[None, :])[0])
    return objective, s[0], np.array(levels).T, surprise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", type=Path, required=True, help="a gvcdyn calibrate fit file")
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument(
        "--estimate", type=float, nargs="+", help="estimated constants instead of the fit's"
    )
    parser.add_argument("--cases", type=int, default=6, help="cases with the largest changes")
    args = parser.parse_args()
    config = load_config(args.config)
    problem = CalibrationProblem.from_config(config)
    with xr.open_dataset(args.fit) as fit:
        theta = np.array([float(fit.estimate.sel(parameter=n)) for n in problem.names])
    if args.estimate:
        if len(args.estimate) != problem.k:
            raise SystemExit(f"--estimate needs {problem.k} values: {', '.join(problem.names)}")
        theta = np.array(args.estimate)
    model_value = problem.model.parameter(TREADMILL).default
    observed = problem.levels.astype(float)
    columns = [o.column for o in problem.outcomes]
    source = "the estimate given" if args.estimate else f"estimate of {args.fit}"
    print(f"{source}; {TREADMILL} 0 (v2.1) vs {model_value:g} (v2.2)")
    results = {}
    for value in (0.0, model_value):
        with tempfile.TemporaryDirectory() as tmp:
            results[value] = summarise(problem_with(config, value, Path(tmp)), theta)
    for value, (objective, *_) in results.items():
        print(f"  {TREADMILL} = {value:g}: objective {objective:.2f} (cutpoints profiled)")
    for group, mask in case_groups(problem).items():
        print(f"{group} ({mask.sum()} cases): observed / model level (mean quantity)")
        for k, column in enumerate(columns):
            cells = [f"{observed[mask, k].mean():.2f}"]
            for _, s, levels, _ in results.values():
                cells.append(f"{levels[mask, k].mean():.2f} ({s[mask, k].mean():+.3f})")
            print(f"  {column:15s} {cells[0]} / {' -> '.join(cells[1:])}")

    before, after = (r[3] for r in results.values())
    change = after - before
    order = np.argsort(change)
    print(f"surprise per case (weighted -log P), 0 -> {model_value:g}; largest changes:")
    for i in [*order[: args.cases], *order[-args.cases :]]:
        case = problem.cases.ids[i]
        print(f"  {case:24s} {before[i]:.2f} -> {after[i]:.2f} ({change[i]:+.2f})")


if __name__ == "__main__":
    main()
