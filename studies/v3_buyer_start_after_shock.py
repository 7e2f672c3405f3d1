"""Why a buyer-led start raises v3's Functional Upgrading a little after a shock (issue 20).

Why a script: at the constrained v3 fits, one lever at a time from the lever defaults with
a policy shock of 0.8 in year 5 (``v3_fit_measures.sweeps``), Buyer Led Start 0 -> 1 raises
Functional Upgrading at year 40 (+0.003 at the fit without the ten started cases, +0.017
on all 41), against the seeds' sign [S s.4, s.5, s.8]. Directed search gives buyers' demands
no function-directed search, so the rise has to come through another factor of
``innovation learning``. This script finds which, exactly:

- ``dIC/dt = innovation learning - Innovation Depreciation Rate x IC`` is linear in IC, so
  the difference at year 40 between the two runs is the integral of the difference in
  ``innovation learning`` discounted by ``exp(-rate x (40 - t))``;
- ``innovation learning`` is a product of factors (Innovation Learning Rate x Functional
  Search x financing capacity x innovation learning sources x experimentation space x
  production base x (1 - IC)), so its difference at each saved time splits exactly into
  one term per factor with the logarithmic mean (LMDI: ``L(a, b) x ln(f_b / f_a)``);
- likewise the difference in ``functional search rise`` (= Search Response Rate x function
  pressure x (1 - Search Effort) x (1 - buyer blocking) wherever search pressure > 0).

Runs at RK4 with TIME STEP 1/64 and saved every 1/64 year so the integral is accurate
(v3 declares RK4 1/8; the year-40 differences at both are printed); fits read from
results/ (git-ignored; ``gvcdyn calibrate calibration/config_v3*.toml``).

    python studies/v3_buyer_start_after_shock.py [FIT ...] [--candidate]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

import gvcdyn

REPO = Path(__file__).resolve().parents[1]
V3 = REPO / "models" / "gvc_upgrading_v3.mdl"
FITS = tuple(
    REPO / "results" / f"fit_v3{t}.nc" for t in ("_checks", "_no_started_checks", "", "_no_started")
)
sys.path.insert(0, str(REPO / "studies"))
import lever_sweeps as ls  # noqa: E402

SHOCK = {"Shock Size": 0.8, "Shock Year": 5.0}
DT = 1 / 64
LEARNING = (
    "Functional Search", "financing capacity", "innovation learning sources",
    "experimentation space", "production base", "one minus IC",
)  # fmt: skip
RISE = ("function pressure", "one minus Search Effort", "one minus blocking")
TRACE = (
    "Search Effort", "Functional Search", "functional share of search", "shock pressure",
    "buyer blocking", "financing capacity", "profit index", "Cluster Margin",
    "Process Capability", "Product Capability", "Institutional Capacity",
    "innovation learning sources", "experimentation space", "production base",
    "Buyer Control", "innovation learning",
)  # fmt: skip
VARIABLES = sorted(
    {*TRACE, "Innovation Capability", "Functional Upgrading", "function pressure",
     "search pressure", "functional search rise"}
)  # fmt: skip


#: The candidate tried (not adopted, models/gvc_upgrading_v3.md): an adopting buyer holds the chain
#: power that takes rents and productivity gains [S s.5, s.8], so the four rent and gain
#: terms read buyer power = 1 - (1 - Buyer Control)(1 - buyer adoption) for Buyer Control.
POWER = "(1-(1-Buyer Control)*(1-buyer adoption))"
CANDIDATE = (
    "*(1-Buyer Rent Share*Buyer Control)*(1-entrant price squeeze)",
    "Buyer Gain Capture*Buyer Control*export share*productivity gain",
    "(1+Quality Premium*Product Capability*(1-Buyer Rent Share*Buyer Control))",
    "Cluster Margin*relative volume*(1-Buyer Rent Share*Buyer Control)/Initial Margin",
)


def candidate_model(folder: Path) -> Path:
    """A copy of the v3 .mdl with the candidate's four replacements (each found once)."""
    text = V3.read_text(encoding="utf-8")
    for old in CANDIDATE:
        if text.count(old) != 1:
            raise SystemExit(f"candidate: {old!r} is not in the model exactly once")
        text = text.replace(old, old.replace("Buyer Control", POWER))
    path = folder / "gvc_upgrading_v3_adoption_power.mdl"
    path.write_text(text, encoding="utf-8")
    return path


def estimate(path: Path) -> dict[str, float]:
    with xr.open_dataset(path) as fit:
        return {
            str(p): float(v)
            for p, v in zip(fit["parameter"].values, fit["estimate"].values, strict=True)
        }


def logmean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The logarithmic mean (a - b) / (ln a - ln b), a where a == b."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (a - b) / (np.log(a) - np.log(b))
    return np.where(np.isclose(a, b, rtol=1e-12, atol=0), a, out)


def lmdi(total0: np.ndarray, total1: np.ndarray, factors0: dict, factors1: dict) -> dict:
    """Each factor's exact share of total1 - total0 at each time (positive totals)."""
    weight = logmean(total1, total0)
    return {k: weight * np.log(factors1[k] / factors0[k]) for k in factors0}


def runs(model: gvcdyn.Model, values: dict[str, float], time_step: float) -> xr.Dataset:
    defaults = {p: model.parameter(p).default for p in ls.LEVERS}
    table = pd.DataFrame(
        [{**defaults, **SHOCK, "Buyer Led Start": b, **values} for b in (0.0, 1.0)]
    )
    # RK4 named, not the model's default (rk23 since issue 20's seventh step, whose
    # TIME STEP is only a first step): the decomposition needs fixed steps of 1/64.
    return model.run(
        table, method="rk4", time_step=time_step, saveper=time_step, variables=VARIABLES
    )


def decompose(model: gvcdyn.Model, values: dict[str, float]) -> dict:
    """The two runs (no start, buyer-led start 1, both after the shock) at ``values``:
    Functional Upgrading at 40 (and its difference at the declared RK4 1/8), the
    difference split by factor of innovation learning (discounted integral, in units of
    Functional Upgrading), the integral of functional search rise's difference by factor,
    and each traced variable's (mean over years 5-40, value at 40) per run."""
    declared = runs(model, values, 1 / 8)["Functional Upgrading"].sel(time=40).values
    ds = runs(model, values, DT)
    v = {k: ds[k].values for k in VARIABLES}
    t = ds["time"].values
    v["one minus IC"] = 1 - v["Innovation Capability"]
    v["one minus Search Effort"] = 1 - v["Search Effort"]
    v["one minus blocking"] = 1 - v["buyer blocking"]
    discount = np.exp(-values["Innovation Depreciation Rate"] * (t[-1] - t))
    ic = v["Innovation Capability"][:, -1]
    scale = 1 - v["Innovation Capability"][0, 0]  # Functional Upgrading = dIC / (1 - IC0)
    learning = v["innovation learning"]
    live = (learning > 0).all(axis=0)
    parts = lmdi(
        learning[0, live],
        learning[1, live],
        {k: v[k][0, live] for k in LEARNING},
        {k: v[k][1, live] for k in LEARNING},
    )
    rise_live = (v["search pressure"] > 0).all(axis=0) & (v["function pressure"] > 0).all(axis=0)
    rise = lmdi(
        v["functional search rise"][0, rise_live],
        v["functional search rise"][1, rise_live],
        {k: v[k][0, rise_live] for k in RISE},
        {k: v[k][1, rise_live] for k in RISE},
    )
    after = t >= 5
    return {
        "fu": v["Functional Upgrading"][:, -1],
        "declared": float(declared[1] - declared[0]),
        "direct": float((ic[1] - ic[0]) / scale),
        "total": float(np.trapezoid(discount * (learning[1] - learning[0]), t) / scale),
        "learning": {
            k: float(np.trapezoid(discount[live] * x, t[live]) / scale) for k, x in parts.items()
        },
        "rise": {k: float(np.trapezoid(x, t[rise_live])) for k, x in rise.items()},
        "trace": {k: (v[k][:, after].mean(axis=1), v[k][:, -1]) for k in TRACE},
    }


def diagnose(model: gvcdyn.Model, name: str, values: dict[str, float]) -> None:
    d = decompose(model, values)
    fu = d["fu"]
    print(f"\n{name}: Buyer Led Start 0 -> 1 after a shock of 0.8 in year 5: Functional "
          f"Upgrading at 40 {fu[0]:.4f} -> {fu[1]:.4f} ({fu[1] - fu[0]:+.4f}; at the declared "
          f"RK4 1/8 {d['declared']:+.4f})")  # fmt: skip
    print(f"  Functional Upgrading difference = discounted integral of the learning "
          f"difference: {d['total']:+.4f} (direct {d['direct']:+.4f}); by factor "
          "of innovation learning (LMDI):")  # fmt: skip
    for k, x in d["learning"].items():
        print(f"    {k:28s} {x:+.4f}")
    print("  functional search rise, integral of its difference over the run, by factor:")
    for k, x in d["rise"].items():
        print(f"    {k:28s} {x:+.4f}")
    print("  trace (no start / buyer-led start): mean over years 5-40 | value at 40")
    for k, (a, b) in d["trace"].items():
        print(f"    {k:28s} {a[0]:.4f} / {a[1]:.4f} | {b[0]:.4f} / {b[1]:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fits", type=Path, nargs="*", default=list(FITS))
    parser.add_argument("--candidate", action="store_true", help="the candidate (CANDIDATE)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        model = gvcdyn.load(candidate_model(Path(folder)) if args.candidate else V3)
    for path in args.fits:
        if path.exists():
            diagnose(model, path.name, estimate(path))
        else:
            print(f"\n{path.name}: not found, skipped")


if __name__ == "__main__":
    main()
