"""A later shock inside a case's period in v3 (issue 20; models/gvc_upgrading_v3.md "A later shock
inside the period (issue 20, tenth step)").

Why a script: the stored sources name a later shock of market vulnerability inside the
coded period for most rows of the case table (the 2005 quota end for the apparel cases,
TW_BICYCLE's loss of Schwinn's orders in 1987, disease, anti-dumping cases, lost lead
firms; calibration/sources/later_shocks.md), and [PF] makes shocks the usual initiators of
upgrading, while a row's one trigger (starts and shocks share ``Shock Year``) could not
hold them. gvc_upgrading_v3.mdl now carries a second shock (``Later Shock Size``,
``Later Shock Year``; the equations are in the .mdl, documented there): its unadapted
part ``Later Shock Unadapted`` starts at the size and is worked off at the same ``shock
adaptation rate`` once its onset has begun,
its pressure is ``later shock onset x Later Shock Unadapted`` (the trigger's is ``Shock
Size x trigger onset x (1 - Shock Adaptation)``), and the two add (capped at 1). With
``Later Shock Size`` 0 the stock stays exactly 0 and every run is the earlier v3's bit for
bit, rk23's step control included (its acceptance is a per-stock maximum):
``check_neutral`` compares with the same model whose shock pressure leaves the later shock
out. The sourced later shocks (calibration/sources/later_shocks.csv, one row per case
with one) are the case table's columns ``later_shock`` and ``later_shock_year``, which
calibration/case_levers_v3_later.toml maps and config_v3_later.toml fits.

    python studies/v3_later_shock.py            # neutrality at size 0, and one shocked run
    python studies/v3_later_shock.py --refit    # + gvcdyn calibrate config_v3_later.toml
                                                #   --crossval --no-posterior, and the measures
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
CONFIG = REPO / "calibration" / "config_v3_later.toml"
#: The sourced later shocks: one row per case with one (id, later_shock as a trigger
#: code, later_shock_year, source, quote, note); the case table's two columns hold them.
LATER_SHOCKS = REPO / "calibration" / "sources" / "later_shocks.csv"
sys.path.insert(0, str(REPO / "studies"))
from v3_face_validity_residuals import replace_equation  # noqa: E402

#: The trigger's shock pressure alone: v3's before the later shock was added.
EARLIER_SHOCK_PRESSURE = "Shock Size*trigger onset*(1-Shock Adaptation)"


def earlier_text(text: str) -> str:
    """A v3 .mdl text with the later shock's term left out of ``shock pressure`` (the
    rest of the later shock's equations stay, unused); refused on a text without it."""
    if "Later Shock Size=" not in text or "later shock pressure)" not in text:
        raise SystemExit("the v3 .mdl carries no later shock")
    return replace_equation(text, "shock pressure", EARLIER_SHOCK_PRESSURE)


def without_later_shock(folder: Path) -> Path:
    """A copy of v3 whose shock pressure leaves the later shock out (the earlier form)."""
    text = earlier_text(V3.read_text(encoding="utf-8"))
    return write_v3_copy(text, folder / "gvc_upgrading_v3_no_later_shock.mdl")


def write_v3_copy(text: str, path: Path) -> Path:
    """Write ``text`` (an edited v3) to ``path`` with v3's settings file beside it, so the
    copy integrates as v3 does (rk23; without it, the .mdl's declared RK4 1/8)."""
    path.write_text(text, encoding="utf-8")
    settings = V3.with_suffix(".settings.toml")
    if settings.exists():
        shutil.copy(settings, path.with_suffix(".settings.toml"))
    return path


#: The integration methods neutrality is checked at: v3's setting (rk23) and Euler.
METHODS = ("rk23", "euler")
#: The outcomes this study's neutrality compares (the programme study compares them all).
NEUTRAL_OUTCOMES = ("Functional Upgrading", "Process Upgrading", "Cluster Market Position")


def check_neutral(
    earlier: Path,
    n: int = 50,
    *,
    seed: int = 3,
    levers: tuple[str, ...] | None = None,
    variables: tuple[str, ...] | None = None,
) -> int:
    """Exit unless v3's runs equal those of ``earlier`` (v3 without a later term, or
    another .mdl) bit for bit, at rk23 (v3's setting) and Euler, over ``n`` Latin-hypercube
    settings (``seed``) of ``levers`` (default the 18 of lever_sweeps) over v3's ranges;
    return the number of variables compared. The neutral condition is what the settings
    leave at its default: the later shock's or the later programme's size, 0.
    ``variables``: those compared (None: every one ``earlier`` saves). One checker for
    the later levers (this study's and v3_later_programme.py's), so that each is judged
    alike; ``earlier`` is given the columns it has (an older v3 lacks the later levers)."""
    import lever_sweeps
    from v3_fit_measures import lhs_levers

    import gvcdyn

    base, current = gvcdyn.load(earlier), gvcdyn.load(V3)
    table = lhs_levers(current, n, seed, lever_sweeps.LEVERS if levers is None else levers)
    for method in METHODS:
        compared, bad = differing(base, current, table, method, variables)
        if bad:
            raise SystemExit(f"not neutral at {method}: {', '.join(bad[:5])}")
    return compared


def differing(
    earlier: object,
    current: object,
    table: pd.DataFrame,
    method: str,
    variables: tuple[str, ...] | None = None,
) -> tuple[int, list[str]]:
    """How many variables are compared (``variables``, else every one ``earlier``
    saves), and those whose values (every run, every year) are not bitwise equal in
    ``current``, run on ``table`` with ``method``; ``earlier`` is given the columns it has."""
    known = [c for c in table.columns if c in {p.name for p in earlier.parameters}]
    chosen = None if variables is None else list(variables)
    a = earlier.run(table[known], method=method, saveper=1.0, variables=chosen)
    b = current.run(table, method=method, saveper=1.0, variables=chosen)
    names = chosen or [*a.data_vars]  # a run given variables holds others beside them
    return len(names), [n for n in names if not np.array_equal(a[n].values, b[n].values)]


def shocked_example() -> None:
    """A buyer-led start in year 5 and a later loss of orders (size 0.6) in year 15,
    against the start alone and the later shock alone, at the model's defaults."""
    import gvcdyn

    model = gvcdyn.load(V3)
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


#: The basis of the two levers' documented ranges (the columns of
#: studies/v3_lever_ranges.py's table, which covers the 18 levers of the hypercube).
LATER_BASIS = {
    "Later Shock Size": (
        "cases: later_shock: 0 none / 0.6 a shock / 0.8 quota removal, the trigger's sizes "
        "(the sources code the kind, not the size) [PF]; index 0 none ... 1 existential"
    ),
    "Later Shock Year": (
        "cases: later_shock_year minus period_start, clipped to [0,40] (40, after every "
        "period, where no later shock is coded); 40 years is the run (FINAL TIME)"
    ),
}


def lever_rows() -> list[str]:
    """The two levers' rows of models/gvc_upgrading_v3.md's range table, read from the model, the
    variant mapping and the 41 cases it maps."""
    return range_rows(REPO / "calibration" / "case_levers_v3_later.toml", LATER_BASIS)


def range_rows(
    mapping: Path, basis: dict[str, str], cases: Path = REPO / "calibration" / "gvc_cases.csv"
) -> list[str]:
    """Rows of models/gvc_upgrading_v3.md's range table for the levers of ``basis`` (lever
    -> the basis of its range), read from v3, ``mapping`` and the ``cases`` it maps: the
    mapped values and how many cases set each lever off its default. One function for
    every later lever (the later shock's here, the later programme's in
    v3_later_programme.py), so that their rows are read and written alike."""
    import gvcdyn
    from gvcdyn.calibrate.cases import apply_mapping, read_case_csv, read_mapping

    model = gvcdyn.load(V3)
    table = apply_mapping(read_case_csv(cases), read_mapping(mapping), model=model)
    frame = pd.DataFrame(table.values, columns=list(table.levers))
    rows = []
    for lever, text in basis.items():
        p = model.parameter(lever)
        given = frame[lever]
        rows.append(
            f"| `{lever}` | {p.default:g} | [{p.minimum:g}, {p.maximum:g}] | "
            f"{given.min():g} .. {given.max():g} ({int((given != p.default).sum())} of "
            f"{len(given)} cases set it off its default) | {text} | none |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refit", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "fit_v3_later.nc")
    args = parser.parse_args()
    runs = 50
    with tempfile.TemporaryDirectory() as tmp:
        check_neutral(without_later_shock(Path(tmp)), n=runs, variables=NEUTRAL_OUTCOMES)
    print(f"neutral: {runs} lever settings x rk23 and Euler, three outcomes, bitwise equal")
    shocked_example()
    print("\n".join(lever_rows()))
    if args.refit:
        command = ["gvcdyn", "calibrate", str(CONFIG), "--crossval", "--no-posterior"]
        subprocess.run([*command, "--out", str(args.out)], check=True)
        measures = [sys.executable, str(REPO / "studies" / "v3_fit_measures.py"), str(args.out)]
        subprocess.run(measures, check=True)


if __name__ == "__main__":
    main()
