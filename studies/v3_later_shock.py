"""A later shock inside a case's period, as a candidate for v3 (issue 20; models/README.md
"The case table against stored sources", Next 1, and "A later shock, tried").

Why a script: the stored sources name a later shock of market vulnerability inside the
coded period for most rows of the case table (the 2005 quota end for the apparel cases,
TW_BICYCLE's loss of Schwinn's orders in 1987, currency moves, lost preferences;
calibration/sources/later_shocks.md), and [PF] makes shocks the usual initiators of
upgrading. v3 holds one trigger a row: its starts and shocks share ``Shock Year``. This
adds a second shock to a copy of gvc_upgrading_v3.mdl (``CANDIDATE``) and, with
``--refit``, refits v3 on the case table with the sourced later shocks
(``LATER_SHOCKS``, a revisions file over two added, otherwise blank, columns) and prints
what v3_fit_measures prints for it.

The later shock is the first one's structure again: its unadapted part
``Later Shock Unadapted`` starts at ``Later Shock Size`` and is worked off at the same
``shock adaptation rate`` once its onset has begun, so its pressure is ``later shock
onset x Later Shock Unadapted`` (the first shock's ``Shock Size x trigger onset x (1 -
Shock Adaptation)``), and the two pressures add (capped at 1). With ``Later Shock Size`` 0
the stock stays exactly 0 and every run is bitwise the committed v3's, rk23's step
control included (its acceptance is a per-stock maximum): ``check_neutral`` asserts it.

    python studies/v3_later_shock.py            # neutrality at size 0, and one shocked run
    python studies/v3_later_shock.py --refit    # + the refit on the case table with later shocks
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
V3 = REPO / "models" / "gvc_upgrading_v3.mdl"
sys.path.insert(0, str(REPO / "studies"))
from v3_face_validity_residuals import replace_equation  # noqa: E402

#: The new equations, inserted before the .mdl's control section.
NEW_EQUATIONS = (
    "Later Shock Size=\n\t0\n\t~\tDmnl [0,1]\n"
    "\t~\tMarket vulnerability produced by a second shock inside the period, after the "
    "trigger (0 none): a lost main buyer, a currency move, the end of quotas or preferences "
    "[PF]. Set from a case's sourced later shock (calibration/sources/later_shocks.csv).\n\t|\n\n"
    "Later Shock Year=\n\t40\n\t~\tYear [0,40]\n"
    "\t~\tYear the later shock hits, counted from the start of the run.\n\t|\n\n"
    "later shock onset=\n"
    "\tIF THEN ELSE(Time>=Later Shock Year, 1-EXP((Later Shock Year-Time)/Shock Onset Time), 0)\n"
    "\t~\tDmnl [0,1]\n\t~\tThe later shock phased in as the trigger is (trigger onset).\n\t|\n\n"
    "Later Shock Unadapted= INTEG (\n"
    "\t-shock adaptation rate*later shock onset*Later Shock Unadapted,\n\t\tLater Shock Size)\n"
    "\t~\tDmnl [0,1]\n"
    "\t~\tThe part of the later shock the cluster has not adapted to: Later Shock Size x (1 - "
    "its adaptation), worked off at the shock adaptation rate once it has hit, as the "
    "trigger's shock is [PF]. Stays exactly 0 without a later shock.\n\t|\n\n"
    "later shock pressure=\n\tlater shock onset*Later Shock Unadapted\n\t~\tDmnl [0,1]\n"
    "\t~\tThe later shock's pressure not yet adapted to.\n\t|\n\n"
)

#: The trigger's shock pressure plus the later one's, capped at 1 (exactly the committed
#: value when the later one is 0).
SHOCK_PRESSURE = "MIN(1, Shock Size*trigger onset*(1-Shock Adaptation)+later shock pressure)"


def candidate_text(text: str) -> str:
    """gvc_upgrading_v3.mdl's text with the later shock added."""
    marker = "********************************************************\n\t.Control"
    if text.count(marker) != 1 or "Later Shock Size=" in text:
        raise SystemExit("the v3 .mdl is not the one this candidate was written for")
    text = replace_equation(text, "shock pressure", SHOCK_PRESSURE)
    return text.replace(marker, NEW_EQUATIONS + "\n" + marker, 1)


def candidate_model(folder: Path) -> Path:
    path = folder / "gvc_upgrading_v3_later_shock.mdl"
    path.write_text(candidate_text(V3.read_text(encoding="utf-8")), encoding="utf-8")
    settings = V3.with_suffix(".settings.toml")
    if settings.exists():
        shutil.copy(settings, folder / "gvc_upgrading_v3_later_shock.settings.toml")
    return path


def check_neutral(path: Path) -> None:
    """Without a later shock the candidate's runs equal the committed v3's, bit for bit,
    at rk23 (v3's setting) and Euler, over a batch of lever settings."""
    import gvcdyn

    sys.path.insert(0, str(REPO / "studies"))
    from v3_fit_measures import lhs_levers

    base, cand = gvcdyn.load(V3), gvcdyn.load(path)
    table = lhs_levers(base, 50, seed=3)
    names = ["Functional Upgrading", "Process Upgrading", "Cluster Market Position"]
    for method in ("rk23", "euler"):
        a = base.run(table, method=method, saveper=1.0, variables=names)
        b = cand.run(table, method=method, saveper=1.0, variables=names)
        for name in names:
            if not np.array_equal(a[name].values, b[name].values):
                raise SystemExit(f"not neutral: {name} differs at {method}")
    print("neutral: 50 lever settings x rk23 and Euler, three outcomes, bitwise equal")


def shocked_example(path: Path) -> None:
    """A buyer-led start in year 5 and a later loss of orders (size 0.6) in year 15,
    against the start alone and the later shock alone, at the model's defaults."""
    import gvcdyn

    model = gvcdyn.load(path)
    runs = pd.DataFrame(
        [
            {"Buyer Led Start": 0.8, "Shock Year": 5.0, "Later Shock Size": 0.0},
            {"Buyer Led Start": 0.8, "Shock Year": 5.0, "Later Shock Size": 0.6},
            {"Buyer Led Start": 0.0, "Shock Year": 5.0, "Later Shock Size": 0.6},
        ]
    ).assign(**{"Later Shock Year": 15.0})
    ds = model.run(runs, saveper=1.0, variables=["Functional Upgrading", "Functional Search"])
    labels = ["buyer-led start", "start + later shock", "later shock alone"]
    for i, label in enumerate(labels):
        fu = ds["Functional Upgrading"].values[i]
        fs = ds["Functional Search"].values[i]
        print(f"  {label}: Functional Upgrading at 40 {fu[-1]:+.3f}, Functional Search peak "
              f"{fs.max():.3f}")  # fmt: skip


#: The sourced later shocks: one row per case with one (id, later_shock as a trigger
#: code, later_shock_year, source, quote); a case not listed has none.
LATER_SHOCKS = REPO / "calibration" / "sources" / "later_shocks.csv"

#: The two mappings the candidate adds to calibration/case_levers.toml: the trigger's
#: shock sizes (0.6, quota removal 0.8) for a later shock, its year as the trigger's is.
MAPPING = """
# candidate (studies/v3_later_shock.py): a sourced later shock inside the period
[[map]]
column = "later_shock"
match = "prefix"
values."shock:" = { "Later Shock Size" = 0.6 }
values."shock:quota-removal" = { "Later Shock Size" = 0.8 }
values."none" = { "Later Shock Size" = 0.0 }

[[map]]
column = "later_shock_year"
lever = "Later Shock Year"
offset = "period_start"
clip = [0, 40]
missing = 40.0
"""


def later_shock_table() -> pd.DataFrame:
    """The sourced later shocks, checked: a known case, a shock code, a year inside the
    case's period, a source and a quote each."""
    from gvcdyn.calibrate.cases import read_case_csv

    shocks = pd.read_csv(LATER_SHOCKS, dtype=str, keep_default_na=False)
    cases = read_case_csv(REPO / "calibration" / "gvc_cases.csv").set_index("id")
    for row in shocks.itertuples():
        where = f"{LATER_SHOCKS.name}, {row.id}"
        if row.id not in cases.index:
            raise SystemExit(f"{where}: not a case of gvc_cases.csv")
        if not row.later_shock.startswith("shock:") or not row.source or not row.quote:
            raise SystemExit(f"{where}: a shock code, a source and a quote are needed")
        year, case = float(row.later_shock_year), cases.loc[row.id]
        if not float(case.period_start) <= year <= float(case.period_end):
            raise SystemExit(f"{where}: {year:g} is outside the period")
    return shocks


def refit_in_copy(dest: Path) -> Path:
    """An export of HEAD in ``dest`` with the candidate in place of v3 (the calibration and
    v3_fit_measures read models/gvc_upgrading_v3.mdl), the case table with the two
    later-shock columns ("none" and a blank year where no source names one) and the
    mapping with ``MAPPING`` added; returns the config to fit (the revised table's)."""
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(f"git -C {REPO} archive HEAD | tar -x -C {dest}", shell=True, check=True)
    target = dest / "models" / "gvc_upgrading_v3.mdl"
    target.write_text(candidate_text(target.read_text(encoding="utf-8")), encoding="utf-8")
    shocks = later_shock_table().set_index("id")
    cases_path = dest / "calibration" / "gvc_cases.csv"
    cases = pd.read_csv(cases_path, dtype=str, keep_default_na=False)
    cases["later_shock"] = cases["id"].map(shocks["later_shock"]).fillna("none")
    cases["later_shock_year"] = cases["id"].map(shocks["later_shock_year"]).fillna("")
    cases.to_csv(cases_path, index=False)
    mapping = dest / "calibration" / "case_levers.toml"
    text = mapping.read_text(encoding="utf-8")
    cut = text.index("\n[unmapped]") if "\n[unmapped]" in text else len(text)
    mapping.write_text(text[:cut] + "\n" + MAPPING + text[cut:], encoding="utf-8")
    return dest / "calibration" / "config_v3_checks_revised.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--refit",
        type=Path,
        metavar="FOLDER",
        help="export the repository with the candidate to FOLDER and refit there",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = candidate_model(Path(tmp))
        check_neutral(path)
        shocked_example(path)
    if args.refit:
        config = refit_in_copy(args.refit)
        bin_dir = Path(sys.executable).parent
        env = {"PYTHONPATH": str(args.refit), "PATH": f"{bin_dir}:/usr/bin:/bin"}
        fit = args.refit / "results" / "fit_v3_later_shock.nc"
        command = ["gvcdyn", "calibrate", str(config), "--crossval", "--no-posterior"]
        subprocess.run([*command, "--out", str(fit)], check=True, env=env, cwd=args.refit)
        measures = [sys.executable, "studies/v3_fit_measures.py", str(fit)]
        subprocess.run(measures, check=True, env=env, cwd=args.refit)


if __name__ == "__main__":
    main()
