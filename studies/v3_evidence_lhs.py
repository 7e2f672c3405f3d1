"""What narrowing v3's five uncoded levers would change in the Latin-hypercube lever sweeps
at the fits (issue 20: "uncoded levers narrow"; "lever sweeps ... over 200 Latin-hypercube
settings have the seeds' signs").

Why a script: studies/v3_lever_ranges.py flags five levers whose documented range has no
basis and gives the range that has one (``BASIS[lever].proposed``: the seed's part, else
+-20% around the default); the .mdl keeps the documented ranges (models/gvc_upgrading_v3.md says
why). Before the lead decides, this measures what the narrowing would do to the sweeps the
issue judges: for each claim of ``v3_fit_measures.SEED_SIGNS`` (lever low -> high, outcome
at year 40, the seeds' sign), the share of 200 Latin-hypercube backgrounds (scipy's qmc,
seed 10, the 18 levers) with the seeds' sign and the mean change, once over the documented
ranges (``v3_fit_measures.sweeps``' LHS column) and once over the ranges with a basis; the
swept lever itself goes low -> high as in that study (so out of the narrowed range for a
flagged lever: run with out-of-range values allowed).

    nice -n 5 python studies/v3_evidence_lhs.py [FIT ...]     # default: the four v3 fits
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import qmc

import gvcdyn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "studies"))
import v3_buyer_start_after_shock as bs  # noqa: E402  (sibling scripts, not packages)
import v3_fit_measures as fm  # noqa: E402
import v3_lever_ranges as vr  # noqa: E402

RUNS, SEED = 200, 10


def lhs(ranges: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """``RUNS`` Latin-hypercube settings of the 18 levers over ``ranges`` (seed ``SEED``,
    the same unit points whatever the ranges)."""
    unit = qmc.LatinHypercube(d=len(vr.LEVERS), seed=SEED).random(RUNS)
    lo = np.array([ranges[p][0] for p in vr.LEVERS])
    hi = np.array([ranges[p][1] for p in vr.LEVERS])
    return pd.DataFrame(lo + unit * (hi - lo), columns=list(vr.LEVERS))


def shares(model: gvcdyn.Model, values: dict[str, float], base: pd.DataFrame) -> list:
    """Per claim of SEED_SIGNS: (share with the seeds' sign, mean change) over ``base``."""
    out = []
    for lever, low, high, outcome, sign, _source in fm.SEED_SIGNS:
        at_fit = base.assign(**values)  # the estimates first: a swept lever stays swept
        table = pd.concat([at_fit.assign(**{lever: low}), at_fit.assign(**{lever: high})])
        table = table.reset_index(drop=True)
        ds = model.run(table, saveper=1.0, variables=[outcome], allow_out_of_range=True)
        y = fm.claim_values(ds, lever, outcome)
        diff = y[len(base) :] - y[: len(base)]
        out.append(((sign * diff > fm.EPS).mean(), diff.mean()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fits", type=Path, nargs="*", default=list(bs.FITS))
    args = parser.parse_args()
    model = gvcdyn.load(vr.V3)
    documented = {p: (model.parameter(p).minimum, model.parameter(p).maximum) for p in vr.LEVERS}
    narrowed = vr.evidence_ranges(model)
    changed = {p: r for p, r in narrowed.items() if r != documented[p]}
    print("ranges with a basis: " + ", ".join(f"{p} {r}" for p, r in changed.items()))
    for path in args.fits:
        if not path.exists():
            print(f"\n{path.name}: not found, skipped")
            continue
        values = bs.estimate(path)
        wide = shares(model, values, lhs(documented))
        narrow = shares(model, values, lhs(narrowed))
        print(f"\n{path.name}: share of {RUNS} LHS settings with the seeds' sign (mean change), "
              "documented ranges -> ranges with a basis")  # fmt: skip
        for row, (sw, mw), (sn, mn) in zip(fm.SEED_SIGNS, wide, narrow, strict=True):
            lever, low, high, outcome, sign, source = row
            print(f"  {lever} {low:g} -> {high:g}, {outcome} ({'+' if sign > 0 else '-'}, "
                  f"{source}): {sw:.0%} ({mw:+.3f}) -> {sn:.0%} ({mn:+.3f})")  # fmt: skip
        low_w = sum(s < 0.9 for s, _ in wide)
        low_n = sum(s < 0.9 for s, _ in narrow)
        print(f"  claims below 90% of settings: {low_w} -> {low_n} of {len(wide)}")


if __name__ == "__main__":
    main()
