"""Model v3's integration accuracy at its fits (issue 20: "choose the method and step by a
convergence study at the fit and over Latin-hypercube settings (relative error <= 0.5%
against a converged reference on every reported stock), and use the same setting in
calibration").

Why a script: v3 declares RK4 at TIME STEP 1/8, chosen with
``benchmarks/integration_accuracy.py`` at the .mdl defaults and over 200 Latin-hypercube
settings of every constant (worst 0.29%). The four v3 fits (models/gvc_upgrading_v3.md, "v3 without
the ten started cases, and with the checks as constraints") moved constants the
integration error depends on (Learning Adaptation Rate 2.4-3 against 1, Share Loss
Sensitivity up to 10 against 3), so the declared setting has to be checked at each fit's
estimate, which the calibration and every number at the fit use. For each fit file that
exists it prints, for v3's declared setting and a few neighbours, the worst error over
every stock of the model

- at the fit's estimate with each of its cases' levers (the runs the likelihood reads);
- at the fit's estimate with ``--runs`` Latin-hypercube settings of the 18 levers
  (studies/lever_sweeps.py's LEVERS) over their documented .mdl ranges (scipy's qmc,
  ``--seed``).

The error is the benchmark's (``integration_accuracy.worst_error``, imported, so it is the
same measure): a stock's largest absolute deviation from the reference at the yearly saved
times, divided by the stock's largest absolute reference value over the design's runs and
times. The reference is RK4 at ``--reference-step`` (1/512), itself compared with rk45 at
a tolerance of 1e-10 (printed).

    nice -n 5 python studies/v3_integration_at_fits.py [FIT ...] [--runs 200] [--seed 1]

Without FIT arguments it reads the four fits results/fit_v3.nc, fit_v3_no_started.nc,
fit_v3_checks.nc and fit_v3_no_started_checks.nc (git-ignored: made by ``gvcdyn
calibrate calibration/config_v3*.toml``), skipping any that does not exist.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import xarray as xr
from scipy.stats import qmc

import gvcdyn

REPO = Path(__file__).resolve().parents[1]
V3 = REPO / "models" / "gvc_upgrading_v3.mdl"
FITS = tuple(
    REPO / "results" / f"fit_v3{tag}.nc"
    for tag in ("", "_no_started", "_checks", "_no_started_checks")
)
sys.path.insert(0, str(REPO / "studies"))
sys.path.insert(0, str(REPO / "benchmarks"))
import integration_accuracy as ia  # noqa: E402  (sibling script: one error measure)
import lever_sweeps as ls  # noqa: E402

#: (method, TIME STEP): v3's declared setting first, then coarser/finer neighbours and
#: the calibration's v2.2 setting (Euler 1/16) and the adaptive method the speed study
#: proposes for v2.2 (rk23 at 1e-5), for comparison: its TIME STEP is only its first
#: step (gvcdyn/backend/adaptive.py), so it takes v3's declared 1/8 as it is.
SETTINGS = (
    ("rk4", 1 / 8),
    ("rk4", 1 / 4),
    ("rk4", 1 / 16),
    ("euler", 1 / 16),
    ("euler", 1 / 64),
    ("rk23:1e-5", 1 / 8),
)
TARGET = 0.005


def fit_estimate(fit: xr.Dataset) -> dict[str, float]:
    """The fit's estimated constants, by name."""
    return {
        str(p): float(v)
        for p, v in zip(fit["parameter"].values, fit["estimate"].values, strict=True)
    }


def case_design(fit: xr.Dataset) -> dict[str, np.ndarray]:
    """The estimate with each of the fit's cases' levers: one run per case."""
    n = fit.sizes["case"]
    design = {name: np.full(n, value) for name, value in fit_estimate(fit).items()}
    for j, lever in enumerate(fit["lever"].values):
        design[str(lever)] = fit["lever_value"].values[:, j].astype(float)
    return design


def lhs_design(model: gvcdyn.Model, fit: xr.Dataset, runs: int, seed: int) -> dict[str, np.ndarray]:
    """The estimate with ``runs`` Latin-hypercube settings of the 18 levers."""
    unit = qmc.LatinHypercube(d=len(ls.LEVERS), seed=seed).random(runs)
    lo = np.array([model.parameter(p).minimum for p in ls.LEVERS])
    hi = np.array([model.parameter(p).maximum for p in ls.LEVERS])
    design = {name: np.full(runs, value) for name, value in fit_estimate(fit).items()}
    design.update({p: lo[j] + unit[:, j] * (hi[j] - lo[j]) for j, p in enumerate(ls.LEVERS)})
    return design


def errors(
    model: gvcdyn.Model, design: dict[str, np.ndarray], reference_step: float
) -> tuple[float, list[tuple[str, float, float, str, int]]]:
    """(reference vs rk45 at 1e-10, [(method, dt, worst error, its stock, failed runs)])."""
    stocks = ia.stock_names(model)

    def run(method: str, dt: float) -> xr.Dataset:
        return model.run(
            design, method=method, time_step=dt, saveper=1.0, variables=stocks,
            allow_out_of_range=True,
        )  # fmt: skip

    reference = run("rk4", reference_step)
    check, _ = ia.worst_error(run("rk45:1e-10", 1.0), reference, stocks)
    rows = []
    for method, dt in SETTINGS:
        result = run(method, dt)
        error, stock = ia.worst_error(result, reference, stocks)
        rows.append((method, dt, error, stock, int((result["status"].values != 0).sum())))
    return check, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fits", type=Path, nargs="*", default=list(FITS))
    parser.add_argument("--runs", type=int, default=200, help="Latin-hypercube settings")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reference-step", type=float, default=1 / 512)
    args = parser.parse_args()
    model = gvcdyn.load(V3)
    print(f"{V3.name}: {len(ia.stock_names(model))} stocks; reference RK4 at dt = "
          f"1/{round(1 / args.reference_step)}; target {TARGET:.1%}")  # fmt: skip
    for path in args.fits:
        if not path.exists():
            print(f"\n{path.name}: not found, skipped")
            continue
        with xr.open_dataset(path) as fit:
            fit = fit.load()
        designs = {
            f"{fit.sizes['case']} cases": case_design(fit),
            f"LHS x {args.runs} (seed {args.seed})": lhs_design(model, fit, args.runs, args.seed),
        }
        print(f"\n{path.name}: objective {float(fit.attrs['objective']):.3f}, "
              + ", ".join(f"{k} {v:.4g}" for k, v in fit_estimate(fit).items()))  # fmt: skip
        for label, design in designs.items():
            check, rows = errors(model, design, args.reference_step)
            print(f"  {label} (reference vs rk45 at 1e-10: {check:.1e})")
            for method, dt, error, stock, failed in rows:
                step = f"1/{round(1 / dt)}" if dt < 1 else f"{dt:g}"
                verdict = "ok" if error <= TARGET else "ABOVE TARGET"
                note = f", {failed} runs failed" if failed else ""
                print(f"    {method:10s} {step:>5s} {error:9.3%}  {stock} ({verdict}{note})")


if __name__ == "__main__":
    main()
