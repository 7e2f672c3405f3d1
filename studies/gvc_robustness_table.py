"""Pass rates of the shipped model's behavioural tests under draws of its constants, v2.2
and v2.1 on one draw set (models/README.md, "Behavioural tests and their robustness").

Why a script: the README's pass rates at +-20% and +-50% came from different draw sets
(v2.1's from the Python tests' draws, v2.2's from the checks file's, the comparison
tables from others again), so differences of a few points between versions were partly
the draws. This prints every pass rate of that section from ONE draw set:

- ``--draws`` (200) draws, ``--seed`` (20261201, tests/test_gvc_robustness.py's), of every
  non-lever constant the checks file lets ``gvcdyn.reality_check`` perturb, each the
  pinned reference value (tests/gvc_reference_params.toml) times ``1 + U(-s, s)``, clipped
  to its documented range. numpy draws ``U(-s, s)`` as ``-s + 2 s u`` from the same stream,
  so at +-50% the factors are the +-20% factors stretched 2.5 times: the same draws.
- v2.2 is the shipped model at those draws; v2.1 is the same model with ``Buyer Gain
  Capture`` 0 (v2.2's one new constant; at 0 the model is v2.1 exactly, models/README.md
  "Model v2.2"). It is set over the base before drawing, so every draw keeps it at 0 and
  every other constant takes the very value it takes in v2.2's draw.

A test holds in a draw when every check of its group bN holds there. The runs use the
model's own integration (its settings file: rk23) unless ``--integration`` names another
(``euler``: Vensim's, at the .mdl's TIME STEP 1/64, the setting of the pass rates before
issue 21); the header prints it.

    nice -n 5 python studies/gvc_robustness_table.py [--draws 200] [--seed 20261201]
        [--integration euler]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

import gvcdyn

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "gvc_upgrading.mdl"
CHECKS = REPO / "models" / "gvc_upgrading.checks.toml"
REFERENCE = REPO / "tests" / "gvc_reference_params.toml"
SEED = 20261201
SPREADS = (0.2, 0.5)
#: version -> what is set over the reference values (v2.1: v2.2 without the treadmill)
VERSIONS = {"v2.2": {}, "v2.1": {"Buyer Gain Capture": 0.0}}
#: the test each version does not have (b15 is v2.2's)
NEW_IN = {"b15": "v2.2"}


def draws(
    model: gvcdyn.Model, spread: float, n: int, seed: int, version: str, method: str | None = None
) -> xr.Dataset:
    """Every check on ``n`` draws within +-``spread`` of the reference: one batch."""
    return gvcdyn.reality_check(
        model,
        CHECKS,
        params=REFERENCE,
        settings=VERSIONS[version] or None,
        perturb=spread,
        draws=n,
        seed=seed,
        method=method,
    )


def group_rates(ds: xr.Dataset) -> pd.Series:
    """Share of draws in which every check of a group holds, by group in file order."""
    held = ds["holds_draw"].transpose("draw", "check").values.astype(bool)
    groups = [str(g) for g in ds["group"].values]
    return pd.Series(
        {g: held[:, [i for i, x in enumerate(groups) if x == g]].all(axis=1).mean()
         for g in dict.fromkeys(groups)}
    )  # fmt: skip


def own_checks(ds: xr.Dataset, version: str) -> xr.Dataset:
    """The checks of the tests ``version`` has (v2.1: without b15)."""
    mine = [NEW_IN.get(str(g), version) == version for g in ds["group"].values]
    return ds.isel(check=np.flatnonzero(mine))


def all_together(ds: xr.Dataset) -> float:
    """Share of draws in which every check of ``ds`` holds."""
    return float(ds["holds_draw"].transpose("draw", "check").values.astype(bool).all(axis=1).mean())


def measure(
    n: int = 200, seed: int = SEED, method: str | None = None
) -> tuple[pd.DataFrame, dict[tuple, xr.Dataset]]:
    """Pass rates (rows: groups; columns: (version, spread)) and the datasets behind them;
    ``method`` None: the model's own integration (its settings file's)."""
    model = gvcdyn.load(MODEL)
    results = {
        (version, spread): draws(model, spread, n, seed, version, method)
        for version in VERSIONS
        for spread in SPREADS
    }
    rates = pd.DataFrame({key: group_rates(ds) for key, ds in results.items()})
    for group, version in NEW_IN.items():  # a test the older version does not have
        for other in VERSIONS:
            if other != version:
                rates.loc[group, [(other, s) for s in SPREADS]] = np.nan
    return rates, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--integration", help="e.g. euler (at the .mdl's TIME STEP); default: the model's own"
    )
    args = parser.parse_args()
    rates, results = measure(args.draws, args.seed, args.integration)
    first = next(iter(results.values()))
    values = first["draw_value"].transpose("draw", "parameter").values
    varied = int((values.max(axis=0) > values.min(axis=0)).sum())
    print(
        f"{MODEL.name} at {REFERENCE.name}; {args.draws} draws (seed {args.seed}) of "
        f"{first.sizes['parameter']} constants ({varied} vary; the others' ranges hold "
        f"them); {first.attrs['method']}, first step {first.attrs['time_step']:g}"
    )
    header = " | ".join(f"{v} +-{s:.0%}" for v, s in rates.columns)
    print(f"| test | {header} |")
    print("|---" * (len(rates.columns) + 1) + "|")
    for group, row in rates.iterrows():
        cells = " | ".join("new" if np.isnan(r) else f"{r:.1%}" for r in row)
        print(f"| {group} | {cells} |")
    lowest = " | ".join(f"{rates[c].min():.1%} ({rates[c].idxmin()})" for c in rates.columns)
    print(f"| lowest | {lowest} |")
    held = " | ".join(
        f"{int((rates[c] >= 0.9).sum())} of {int(rates[c].notna().sum())}" for c in rates.columns
    )
    print(f"| tests >= 90% | {held} |")
    own = {c: own_checks(results[c], c[0]) for c in rates.columns}
    together = " | ".join(f"{all_together(own[c]):.1%}" for c in rates.columns)
    print(f"| all its checks together | {together} |")
    base = " | ".join(
        f"{int(own[c]['holds'].values.sum())} of {own[c].sizes['check']}" for c in rates.columns
    )
    print(f"| checks holding at the reference | {base} |")


if __name__ == "__main__":
    main()
