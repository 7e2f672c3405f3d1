"""The before/after numbers of models/gvc_upgrading_v3.md, section "Model v3 (draft)" (issue 20):
the shipped v2.2 model against the v3 draft, at the pinned reference params and at v2.2's
fit (the eight estimates of calibration/report.md over the reference params).

Why a script: the draft is not calibrated, so every number is a comparison the lead will
want to repeat after calibrating v3 or changing its structure. It prints

1. the checks of models/gvc_upgrading_v3.checks.toml on v3, and on v2.2 where they apply
   (v2.2's own checks file plus the new groups b16 and b17): failing checks at the base
   and each group's pass rate over 200 draws at +-20% (seed 1);
2. Functional Upgrading at 20 and 40 years in captive.toml for each kind of start;
3. issue 10's lever sweep (studies/lever_sweeps.py, its functions unchanged) of the
   start levers;
4. face validity (calibration/face_validity.py with the declared case mapping pointed at
   each model): Spearman rho per outcome, and over the cases not started by buyers,
   foreign firms or a TNC.

Each model runs at its own integration: v2.2 its settings file's rk23 (Euler 1/64, the
.mdl's, before issue 21); v3 its settings file's rk23 since issue 20's seventh step, RK4
1/8 before it, and Euler 1/64 when the numbers of models/gvc_upgrading_v3.md's first step were
measured.

    python studies/v3_draft_measures.py [--draws 200] [--skip-sweeps]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import tomllib
from pathlib import Path

import pandas as pd
from scipy.stats import spearmanr

import gvcdyn

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
V22, V3 = MODELS / "gvc_upgrading.mdl", MODELS / "gvc_upgrading_v3.mdl"
V3_CHECKS = MODELS / "gvc_upgrading_v3.checks.toml"
REFERENCE = REPO / "tests" / "gvc_reference_params.toml"
sys.path.insert(0, str(REPO / "studies"))
sys.path.insert(0, str(REPO / "calibration"))
import face_validity as fv  # noqa: E402  (sibling scripts, not packages)
import lever_sweeps as ls  # noqa: E402
import v3_check_summary as cs  # noqa: E402

#: v2.2's estimate (calibration/report.md, objective 111.538); the other constants are
#: the reference params.
V22_FIT = {
    "Entrant Price Pressure": 0.0,
    "Share Loss Sensitivity": 10.0,
    "Capability Erosion Rate": 0.1,
    "Learning Adaptation Rate": 3.0,
    "Product Local Learning Share": 1.0,
    "Innovation Depreciation Rate": 0.02,
    "Shock Order Loss": 0.3615,
    "Innovation Learning Rate": 1.386,
}
STRONG = {
    "Initial Institutional Capacity": 0.8,
    "Business Association Strength": 0.8,
    "University Research Strength": 0.5,
    "State Participation": 0.8,
}
YEAR5 = {"Shock Year": 5.0, "Scouting Intensity": 0.2}
SETTINGS = {
    "buyer-led start": {"Buyer Led Start": 0.8, **YEAR5},
    "buyer-led start, strong sources": {"Buyer Led Start": 0.8, **YEAR5, **STRONG},
    "FDI-led start": {"FDI Led Start": 0.8, **YEAR5},
    "policy shock, default sources": {"Shock Size": 0.8, **YEAR5},
    "policy shock, strong sources": {"Shock Size": 0.8, **YEAR5, **STRONG},
    "state-led start (0.6)": {"State Led Start": 0.6, **YEAR5},
}
START_SWEEPS = (
    ("Shock Size", 0.0, 0.8),
    ("State Led Start", 0.0, 1.0),
    ("Buyer Led Start", 0.0, 1.0),
    ("FDI Led Start", 0.0, 1.0),
)
#: Cases started by buyers, foreign firms or a domestic TNC (trigger column).
STARTED = re.compile(r"^buyer-led|FDI|TNC")


def reference() -> dict[str, float]:
    data = tomllib.loads(REFERENCE.read_text(encoding="utf-8"))["parameters"]
    return {k: float(v) for k, v in data.items()}


def v22_checks_file(folder: Path) -> Path:
    """v2.2's own checks file plus the v3 file's new settings and groups (b16 on)."""
    v3 = V3_CHECKS.read_text(encoding="utf-8")
    settings = re.search(r"# issue 20 \(b16\).*?\n\n", v3, re.S)  # to the blank line
    anchor = 'start_year_5 = { "Shock Year" = 5.0 }\n'
    text = (MODELS / "gvc_upgrading.checks.toml").read_text(encoding="utf-8")
    text = text.replace(anchor, anchor + settings.group(0), 1)
    text = text.rstrip("\n") + "\n\n" + v3[v3.index("# b16 [S sec.4") :]
    path = folder / "v22_with_v3_checks.toml"
    path.write_text(text, encoding="utf-8")
    return path


def params_file(folder: Path, values: dict[str, float], name: str) -> Path:
    path = folder / name
    lines = "".join(f'"{k}" = {v!r}\n' for k, v in values.items())
    path.write_text("[parameters]\n" + lines, encoding="utf-8")
    return path


def checks(folder: Path, bases: dict[str, Path], draws: int) -> None:
    """Failing checks at the base and each group's pass rate under +-20% draws."""
    for label, mdl, path in (("v2.2", V22, v22_checks_file(folder)), ("v3", V3, V3_CHECKS)):
        model = gvcdyn.load(mdl)
        groups = cs.check_groups(path)
        for where, base in bases.items():
            ds = gvcdyn.reality_check(model, path, params=base, perturb=0.2, draws=draws, seed=1)
            held = ds["holds"].values
            print(f"{label} at {where}: {held.sum()} of {held.size} checks hold")
            print(f"  failing: {cs.failing(ds, 3) or 'none'}")
            print(
                f"  groups, share of {draws} draws at +-20%: "
                + "; ".join(cs.group_shares(ds, groups))
            )


def captive_starts(bases: dict[str, dict[str, float]]) -> None:
    """Functional Upgrading at 20 / 40 years in captive.toml for each setting."""
    captive = tomllib.loads((MODELS / "scenarios" / "captive.toml").read_text())["parameters"]
    outs = ["Functional Upgrading", "Innovation Gap", "Production Gap"]
    for label, mdl in (("v2.2", V22), ("v3", V3)):
        model = gvcdyn.load(mdl)
        for where, base in bases.items():
            rows = pd.DataFrame([{**base, **captive, **s} for s in SETTINGS.values()])
            ds = model.run(rows, saveper=1.0, variables=outs)
            print(f"{label} at {where}, captive.toml: Functional Upgrading at 20 / 40 years")
            for i, name in enumerate(SETTINGS):
                fu = ds["Functional Upgrading"].values[i]
                gaps = ds["Innovation Gap"].values[i, 40], ds["Production Gap"].values[i, 40]
                print(f"  {name:34s} {fu[20]:+.3f} / {fu[40]:+.3f}  gaps at 40: {gaps[0]:.3f}"
                      f" innovation vs {gaps[1]:.3f} production")  # fmt: skip


def sweeps() -> None:
    """Issue 10's lever sweep of the start levers, at the defaults and at v2.2's fit."""
    for label, mdl in (("v2.2", V22), ("v3", V3)):
        model = gvcdyn.load(mdl)
        settings = ls.random_levers(model, 200, seed=10)
        for where, base in (("defaults", settings), ("v2.2 fit", settings.assign(**V22_FIT))):
            print(f"{label} at {where}:")
            for lever, low, high in START_SWEEPS:
                print("  " + ls.sweep(model, base, lever, low, high), flush=True)


def face(folder: Path) -> None:
    """Spearman rho of each model with the declared mapping, all cases and without the
    cases started by buyers, foreign firms or a TNC."""
    text = fv.MAPPING.read_text(encoding="utf-8")
    cases = pd.read_csv(fv.CASES).set_index("id")
    for label, mdl in (("v2.2", V22), ("v3", V3)):
        mapping = folder / f"case_levers_{label}.toml"
        mapping.write_text(
            re.sub(r'(?m)^model = "[^"]*"', f'model = "{mdl.as_posix()}"', text, count=1)
        )
        fv.MAPPING = mapping
        for where, params in (("defaults", None), ("v2.2 fit", V22_FIT)):
            frame, rho = fv.face_validity(params)
            keep = ~cases.loc[frame.index, "trigger"].astype(str).str.contains(STARTED)
            rest = {
                k: spearmanr(frame.loc[keep, v], frame.loc[keep, k]).statistic
                for k, v in fv.MEASURES.items()
            }
            print(f"{label} at {where}: " + " ".join(f"{k} {v:+.3f}" for k, v in rho.items()))
            print(f"  without the {int((~keep).sum())} started cases: "
                  + " ".join(f"{k} {v:+.3f}" for k, v in rest.items()))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--skip-sweeps", action="store_true")
    args = parser.parse_args()
    ref = reference()
    fit = {**ref, **V22_FIT}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bases = {"reference": REFERENCE, "v2.2 fit": params_file(folder, fit, "fit.toml")}
        checks(folder, bases, args.draws)
        captive_starts({"reference": ref, "v2.2 fit": fit})
        if not args.skip_sweeps:
            sweeps()
        face(folder)


if __name__ == "__main__":
    main()
