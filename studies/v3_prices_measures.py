"""Before/after numbers of issue 20's step "prices that bite" for models/gvc_upgrading_v3.md,
section "Model v3 (draft)": the directed-search draft (commit f86ea13, "before") against
the working v3 model ("after"), at the pinned reference params and at v2.2's fit.

Why a script: the step changes where the world price and the competitors reach the
cluster (value capture, realised margins, competitors' capability), and sets one new
constant (Price Pass Through) by a bound from the cases; every number it rests on should
be repeatable after the next structural step or a calibration of v3. It prints

1. the checks of models/gvc_upgrading_v3.checks.toml on the working model (before: only
   the new group b18, which the draft's names can run): checks holding at the base and
   each group's share of 200 draws at +-20% (seed 1), with Euler at 1/64 (the drafts'
   setting) and RK4 at 1/8 (v3's declared setting), each on a temporary copy of the
   model with that TIME STEP, since reality_check takes no step;
2. b18's quantities: Value Capture Share, Cluster Margin and Cluster Market Position,
   Global Demand Growth 0 minus 0.08, mean over years 10-40, per background;
3. the treadmill through competitors: a captive cluster with weak sources, no shock and
   no scouting, exporting everything or selling 90% at home (where its buyers teach it
   little and its production capability stands still): Market Share and Cluster Market
   Position at 40;
4. the case bound of Price Pass Through: with the declared case mapping, how many of the
   41 cases end their period with no margin, and below their starting market position,
   at Price Pass Through 0, 0.25, 0.5, 1 (coded: 4 declines, 6 treadmilling);
5. issue 10's lever sweeps (studies/lever_sweeps.py, functions unchanged) of Global
   Demand Growth, Scouting Intensity and Entrant Wage Gap;
6. face validity (Spearman rho per outcome, declared mapping).

Parts 2-6 run each model at its own declared integration and TIME STEP, as the
calibration scripts do: the drafts before Euler at 1/64; v3 its settings file's rk23
(since issue 20's seventh step; RK4 1/8 before; the numbers in models/gvc_upgrading_v3.md were
measured while v3 still declared Euler at 1/64).

    python studies/v3_prices_measures.py [--draws 200] [--skip-sweeps] [--before REV]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
from scipy.stats import spearmanr

import gvcdyn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "studies"))
sys.path.insert(0, str(REPO / "calibration"))
import face_validity as fv  # noqa: E402  (sibling scripts, not packages)
import lever_sweeps as ls  # noqa: E402
import v3_check_summary as cs  # noqa: E402
from v3_draft_measures import STRONG, V3, V3_CHECKS, V22_FIT, params_file, reference  # noqa: E402

REFERENCE_FILE = REPO / "tests" / "gvc_reference_params.toml"
#: The directed-search draft, before prices bite.
BEFORE_REV = "f86ea13"
BACKGROUNDS = {
    "default": {},
    "shock, strong sources": {"Shock Size": 0.8, "Shock Year": 5.0, "Scouting Intensity": 0.2}
    | STRONG,
    "captive": {"Initial Buyer Control": 0.9, "Buyer Challenge": 0.8, "Buyer Support": 0.8},
}
#: A captive chain with weak sources, no shock and no scouting: the cluster's upgrading is
#: what its buyers teach; exporting everything, or selling 90% at home (taught little).
TREADMILL = {
    "Initial Buyer Control": 0.9,
    "Buyer Challenge": 0.8,
    "Buyer Support": 0.8,
    "Scouting Intensity": 0.0,
    "Initial Institutional Capacity": 0.05,
    "Business Association Strength": 0.05,
    "University Research Strength": 0.0,
    "FDI Learning": 0.0,
    "State Participation": 0.0,
}
PRICE_SWEEPS = (
    ("Global Demand Growth", 0.0, 0.08),
    ("Scouting Intensity", 0.0, 1.0),
    ("Entrant Wage Gap", 0.0, 0.9),
)
PASS_THROUGH = (0.0, 0.25, 0.5, 1.0)


def before_model(folder: Path, rev: str) -> Path:
    """The v3 .mdl as committed at ``rev``, written to ``folder``."""
    text = subprocess.run(
        ["git", "show", f"{rev}:models/gvc_upgrading_v3.mdl"],
        cwd=REPO, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    path = folder / "v3_before.mdl"
    path.write_text(text, encoding="utf-8")
    return path


def with_step(mdl: Path, folder: Path, step: float) -> Path:
    """A copy of ``mdl`` whose TIME STEP is ``step``."""
    text = mdl.read_text(encoding="utf-8")
    text, n = re.subn(r"(?m)^(TIME STEP\s*=\s*)[0-9.eE+-]+", rf"\g<1>{step!r}", text)
    assert n == 1, mdl
    path = folder / f"{mdl.stem}_dt{step:g}.mdl"
    path.write_text(text, encoding="utf-8")
    return path


def only_groups(folder: Path, groups: tuple[str, ...]) -> Path:
    """The v3 checks file with only the checks of ``groups`` (settings kept)."""
    text = V3_CHECKS.read_text(encoding="utf-8")
    head, *blocks = re.split(r"(?m)^(?=\[\[check\]\])", text)
    keep = [b for b in blocks if re.search(r'(?m)^group = "(\w+)"', b).group(1) in groups]
    path = folder / "v3_checks_subset.toml"
    path.write_text(head + "".join(keep), encoding="utf-8")
    return path


def checks(label: str, mdl: Path, path: Path, bases: dict[str, Path], method: str, draws: int):
    """Checks holding at each base and each group's share of draws at +-20%."""
    model = gvcdyn.load(mdl)
    groups = cs.check_groups(path)
    for where, base in bases.items():
        ds = gvcdyn.reality_check(
            model, path, params=base, perturb=0.2, draws=draws, seed=1, method=method
        )
        held = ds["holds"].values
        print(f"{label} at {where}: {held.sum()} of {held.size} hold; all together in "
              f"{float(ds['share_all']):.1%} of {draws} draws")  # fmt: skip
        print(f"  failing: {cs.failing(ds, 4) or 'none'}")
        print("  groups: " + "; ".join(cs.group_shares(ds, groups)), flush=True)


def b18_values(models: dict[str, Path], bases: dict[str, dict[str, float]]) -> None:
    """Slow minus fast demand growth, mean over years 10-40, per background."""
    outs = ["Value Capture Share", "Cluster Margin", "Cluster Market Position"]
    for label, mdl in models.items():
        model = gvcdyn.load(mdl)
        for where, base in bases.items():
            rows = [
                {**base, **bg, "Global Demand Growth": g}
                for bg in BACKGROUNDS.values()
                for g in (0.0, 0.08)
            ]
            ds = model.run(pd.DataFrame(rows), saveper=1.0, variables=outs)
            print(f"{label} at {where}: Global Demand Growth 0 minus 0.08, mean years 10-40")
            for i, bg in enumerate(BACKGROUNDS):
                diffs = [
                    ds[o].values[2 * i, 10:].mean() - ds[o].values[2 * i + 1, 10:].mean()
                    for o in outs
                ]
                pairs = zip(outs, diffs, strict=True)
                print(f"  {bg:24s} " + "  ".join(f"{o} {d:+.4f}" for o, d in pairs))


def stand_still(models: dict[str, Path], bases: dict[str, dict[str, float]]) -> None:
    """The treadmill: a captive cluster taught by its buyers, exporting all (National
    Market Share 0) or selling 90% at home (0.9): share of buyers' orders (0.2 at the
    start), market position and production upgrading at 40."""
    outs = ["Market Share", "Cluster Market Position", "Process Upgrading", "Product Upgrading"]
    for label, mdl in models.items():
        model = gvcdyn.load(mdl)
        rows = [
            {**base, **TREADMILL, "National Market Share": n}
            for base in bases.values()
            for n in (0.0, 0.9)
        ]
        ds = model.run(pd.DataFrame(rows), saveper=1.0, variables=outs)
        for i, (where, n) in enumerate((w, n) for w in bases for n in (0.0, 0.9)):
            vals = "  ".join(f"{o} {ds[o].values[i, 40]:+.3f}" for o in outs)
            print(f"{label} at {where}, captive, National Market Share {n:g}: {vals}")


def cases(models: dict[str, Path], folder: Path) -> None:
    """Face validity, and the case bound of Price Pass Through."""
    measures = dict(fv.MEASURES)
    text = fv.MAPPING.read_text(encoding="utf-8")
    obs = fv.observed_codes(pd.read_csv(fv.CASES))
    fv.MEASURES = {**measures, "margin": "Cluster Margin"}
    try:
        for label, mdl in models.items():
            mapping = folder / f"case_levers_{label}.toml"
            mapping.write_text(
                re.sub(r'(?m)^model = "[^"]*"', f'model = "{mdl.as_posix()}"', text, count=1)
            )
            fv.MAPPING = mapping
            settings = [("", {})]
            if label == "after":
                settings = [(f", Price Pass Through {p:g}", {"Price Pass Through": p})
                            for p in PASS_THROUGH]  # fmt: skip
            for where, fit in (("reference", {}), ("v2.2 fit", V22_FIT)):
                for name, extra in settings:
                    _, y = fv.case_runs({**fit, **extra} or None)
                    o = obs.loc[y.index]
                    rho = {k: spearmanr(y[v], o[k]).statistic for k, v in measures.items()}
                    no_margin = int((y["Cluster Margin"] <= 1e-9).sum())
                    below = int((y["Cluster Market Position"] < 0).sum())
                    print(f"{label} at {where}{name}: no margin left {no_margin}/41, below "
                          f"the start's position {below}/41; rho "
                          + " ".join(f"{k} {v:+.3f}" for k, v in rho.items()))  # fmt: skip
    finally:
        fv.MEASURES = measures


def sweeps(models: dict[str, Path]) -> None:
    """Issue 10's lever sweeps of the price and race levers."""
    for label, mdl in models.items():
        model = gvcdyn.load(mdl)
        settings = ls.random_levers(model, 200, seed=10)
        for where, base in (("reference", settings), ("v2.2 fit", settings.assign(**V22_FIT))):
            print(f"{label} at {where}:")
            for lever, low, high in PRICE_SWEEPS:
                print("  " + ls.sweep(model, base, lever, low, high), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--skip-sweeps", action="store_true")
    parser.add_argument("--before", default=BEFORE_REV, help="git revision of the draft")
    args = parser.parse_args()
    ref = reference()
    fit = {**ref, **V22_FIT}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        before = before_model(folder, args.before)
        models = {"before": before, "after": V3}
        bases = {"reference": REFERENCE_FILE, "v2.2 fit": params_file(folder, fit, "fit.toml")}
        b18 = only_groups(folder, ("b18",))
        for method, step in (("euler", 0.015625), ("rk4", 0.125)):
            setting = f"{method} 1/{round(1 / step)}"
            after = with_step(V3, folder, step)
            old = with_step(before, folder, step)
            checks(f"after, {setting}", after, V3_CHECKS, bases, method, args.draws)
            checks(f"before (b18 only), {setting}", old, b18, bases, method, args.draws)
        b18_values(models, {"reference": ref, "v2.2 fit": fit})
        stand_still(models, {"reference": ref, "v2.2 fit": fit})
        cases(models, folder)
        if not args.skip_sweeps:
            sweeps(models)


if __name__ == "__main__":
    main()
