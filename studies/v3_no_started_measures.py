"""The v3 fit without the ten started cases against v3's fit on all 41 (issue 20): each
estimate scored on both case sets, for models/gvc_upgrading_v3.md, section "Model v3 (draft)",
subsection "v3 without the ten started cases".

Why a script: the two fits' objectives are over different cases (41 and 31), so they
cannot be compared as printed; scoring each estimate on the other's cases can. If the
ten started cases flatten the fit, the all-41 estimate should score clearly worse on the
31 than the 31's own estimate does, and the 31's estimate clearly worse on the ten.
Given the fit files, it prints the objective (negative log-likelihood, profiled
cutpoints, the configs' weights; uniform priors add nothing) of every estimate on the 41
cases, the 31 and the ten (the 41 minus the 31 is the ten's share: the cutpoints are
profiled per case set, so it is not a sum of per-case terms), and how many of the 73
checks hold at each estimate; the fits with v3's checks as constraints (on all 41 and
without the ten) are included when their files exist.

Everything else about a fit (estimates on bounds, checks with +-20% draws,
cross-validation, face validity, lever sweeps) is ``python studies/v3_fit_measures.py
FIT``. Runs at v3's own integration: RK4 at 1/8 (the four configs') when the numbers in
models/gvc_upgrading_v3.md were measured, its settings file's rk23 since issue 20's seventh step.

    python studies/v3_no_started_measures.py [--all results/fit_v3.nc]
        [--no-started results/fit_v3_no_started.nc]
        [--checks results/fit_v3_no_started_checks.nc] [--all-checks results/fit_v3_checks.nc]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import xarray as xr

import gvcdyn
from gvcdyn.calibrate.config import load_config
from gvcdyn.calibrate.problem import CalibrationProblem

REPO = Path(__file__).resolve().parents[1]
CALIBRATION = REPO / "calibration"
RESULTS = REPO / "results"
V3 = REPO / "models" / "gvc_upgrading_v3.mdl"
V3_CHECKS = REPO / "models" / "gvc_upgrading_v3.checks.toml"
sys.path.insert(0, str(REPO / "studies"))
import v3_check_summary as cs  # noqa: E402  (a sibling script, not a package)


def estimate(path: Path, names: tuple[str, ...]) -> np.ndarray:
    """The fit file's estimate, in ``names`` order."""
    with xr.open_dataset(path) as ds:
        est = ds["estimate"].to_series()
    return np.array([float(est[n]) for n in names])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", default=str(RESULTS / "fit_v3.nc"))
    parser.add_argument("--no-started", default=str(RESULTS / "fit_v3_no_started.nc"))
    parser.add_argument("--checks", default=str(RESULTS / "fit_v3_no_started_checks.nc"))
    parser.add_argument("--all-checks", default=str(RESULTS / "fit_v3_checks.nc"))
    args = parser.parse_args()
    model = gvcdyn.load(V3)
    all41 = CalibrationProblem.from_config(load_config(CALIBRATION / "config_v3.toml"), model)
    cfg31 = load_config(CALIBRATION / "config_v3_no_started.toml")
    only31 = CalibrationProblem.from_config(cfg31, model)
    fits = {"v3 fit, all 41": Path(args.all), "v3 fit without the ten": Path(args.no_started)}
    if Path(args.all_checks).exists():
        fits["v3 fit, all 41, checks as constraints"] = Path(args.all_checks)
    if Path(args.checks).exists():
        fits["v3 fit without the ten, checks as constraints"] = Path(args.checks)
    thetas = {label: estimate(path, all41.names) for label, path in fits.items()}
    print(f"objective (negative log-likelihood) on the {len(all41.cases)} cases / the "
          f"{len(only31.cases)} / the difference (the ten's share)")  # fmt: skip
    for label, theta in thetas.items():
        on41 = float(all41.objective(theta[None, :])[0])
        on31 = float(only31.objective(theta[None, :])[0])
        print(f"  {label}: {on41:.3f} / {on31:.3f} / {on41 - on31:.3f}")
    for label, theta in thetas.items():
        values = dict(zip(all41.names, theta, strict=True))
        print(f"  {label}: " + ", ".join(f"{k} {v:.4g}" for k, v in values.items()))
    print("checks at each estimate (no draws)")
    for label, path in fits.items():
        ds = gvcdyn.reality_check(model, V3_CHECKS, params=path)
        print(f"  {label}: {int(ds['holds'].sum())} of {ds['holds'].size} hold; "
              f"failing: {cs.failing(ds, 4) or 'none'}")  # fmt: skip


if __name__ == "__main__":
    main()
