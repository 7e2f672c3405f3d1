"""Before/after numbers of issue 20's step "sources of learning distinct" for
models/gvc_upgrading_v3.md, section "Model v3 (draft)": the draft after "prices that bite" (commit
3d15430, "before") against the working v3 model ("after").

Why a script: the step is about which capability each source of learning raises, which
a lever sweep shows directly, and the lead will want it again after calibrating v3. It
prints

1. the checks of models/gvc_upgrading_v3.checks.toml on the working model and the new
   group b19 on the draft before: checks holding at the base and each group's share of
   200 draws at +-20% (seed 1), Euler at 1/64 and RK4 at 1/8 (temporary copies with
   that TIME STEP);
2. a lever sweep of each source of learning (0 -> 0.8) over 200 random settings of the
   other levers (studies/lever_sweeps.py's random_levers, seed 10): mean change at year
   40 of Process Capability, Innovation Capability and Institutional Capacity, over the
   settings as drawn and over the same settings without a shock or a start (Shock Size
   and the three starts 0), each model at its declared integration and TIME STEP (the
   draft before: Euler 1/64; v3: its settings file's rk23 since issue 20's seventh step,
   RK4 1/8 before; the numbers in models/gvc_upgrading_v3.md were measured while v3 still declared
   Euler 1/64).

    python studies/v3_sources_measures.py [--draws 200] [--before REV] [--skip-checks]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd

import gvcdyn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "studies"))
import lever_sweeps as ls  # noqa: E402  (sibling scripts, not packages)
import v3_prices_measures as pm  # noqa: E402
from v3_draft_measures import V3, V3_CHECKS, V22_FIT, params_file, reference  # noqa: E402

#: The draft after "prices that bite", before the sources of learning were told apart.
BEFORE_REV = "3d15430"
SOURCES = (
    "Initial Institutional Capacity",
    "State Participation",
    "Business Association Strength",
    "University Research Strength",
    "FDI Learning",
)
OUTS = ("Process Capability", "Innovation Capability", "Institutional Capacity")
STARTS = ("Shock Size", "Buyer Led Start", "State Led Start", "FDI Led Start")


def source_sweeps(models: dict[str, Path], bases: dict[str, dict[str, float]]) -> None:
    """Mean change at year 40 when each source goes from 0 to 0.8 alone."""
    for label, mdl in models.items():
        model = gvcdyn.load(mdl)
        drawn = ls.random_levers(model, 200, seed=10)
        calm = drawn.assign(**dict.fromkeys(STARTS, 0.0))
        for where, fit in bases.items():
            print(f"{label} at {where} (200 settings as drawn | the same without a shock or "
                  "start): mean change at year 40")  # fmt: skip
            for lever in SOURCES:
                table = pd.concat(
                    [s.assign(**fit, **{lever: v}) for s in (drawn, calm) for v in (0.0, 0.8)]
                )
                ds = model.run(table.reset_index(drop=True), saveper=1.0, variables=list(OUTS))
                parts = []
                for out in OUTS:
                    v = ds[out].sel(time=40).values
                    d, c = v[200:400] - v[:200], v[600:] - v[400:600]
                    parts.append(f"{out} {d.mean():+.3f} | {c.mean():+.3f}")
                print(f"  {lever} 0 -> 0.8: " + "; ".join(parts), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--before", default=BEFORE_REV, help="git revision of the draft")
    parser.add_argument("--skip-checks", action="store_true")
    args = parser.parse_args()
    ref = reference()
    fit = {**ref, **V22_FIT}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        before = pm.before_model(folder, args.before)
        bases = {"reference": pm.REFERENCE_FILE, "v2.2 fit": params_file(folder, fit, "fit.toml")}
        b19 = pm.only_groups(folder, ("b19",))
        for method, step in () if args.skip_checks else (("euler", 0.015625), ("rk4", 0.125)):
            setting = f"{method} 1/{round(1 / step)}"
            after = pm.with_step(V3, folder, step)
            old = pm.with_step(before, folder, step)
            pm.checks(f"after, {setting}", after, V3_CHECKS, bases, method, args.draws)
            pm.checks(f"before (b19 only), {setting}", old, b19, bases, method, args.draws)
        source_sweeps({"before": before, "after": V3}, {"reference": {}, "v2.2 fit": V22_FIT})


if __name__ == "__main__":
    main()
