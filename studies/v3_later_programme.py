"""A state programme inside a case's period, after the trigger, in v3 (issue 20, fifteenth
step; the protocol calibration/sources/later_programme_protocol.md, "The model and the
mapping, fixed now").

Why a script: in v3 only a shock or a state programme directs firms' search to new
functions, and a case's start and its programme share one lever (``Shock Year``), so a
cluster started by a buyer, foreign firms or a shock, in which the state started a
programme later inside the period, is run without that programme [PF]. gvc_upgrading_v3.mdl
now carries a later programme (``Later Programme Size``, ``Later Programme Year``,
``later programme onset`` phased in as ``trigger onset`` is), and ``state programme`` is
``MAX(State Led Start x trigger onset, Later Programme Size x later programme onset)``: the
later programme is the state-led start again at its own year, through every channel the
state programme has. With ``Later Programme Size`` 0 the second term is exactly 0 and
``MAX(x, 0)`` is ``x`` for ``x >= 0``, so every run is the earlier v3's bit for bit:
``check_neutral`` compares every saved variable with v3 whose state programme is the
start's alone (``earlier_text``), or with any other .mdl given (``--against``, e.g. the
committed v3 before this step). The sourced programmes will be the case table's columns
``later_programme`` and ``later_programme_year`` (calibration/sources/later_programmes.csv),
which calibration/case_levers_v3_programme.toml maps and config_v3_programme.toml fits.

    python studies/v3_later_programme.py                       # neutrality, one example
    python studies/v3_later_programme.py --against old_v3.mdl  # neutrality against a file
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import qmc

REPO = Path(__file__).resolve().parents[1]
V3 = REPO / "models" / "gvc_upgrading_v3.mdl"
CASES = REPO / "calibration" / "gvc_cases.csv"
MAPPING = REPO / "calibration" / "case_levers_v3_programme.toml"
sys.path.insert(0, str(REPO / "studies"))
import lever_sweeps as ls  # noqa: E402  (sibling script: the 18 levers)
from v3_face_validity_residuals import replace_equation  # noqa: E402
from v3_later_shock import write_v3_copy  # noqa: E402

#: The state programme before the later programme: the state-led start's alone.
EARLIER_STATE_PROGRAMME = "State Led Start*trigger onset"
#: The later programme's term in ``state programme`` (what ``earlier_text`` takes out).
LATER_TERM = "Later Programme Size*later programme onset)"
#: Levers v3 gained after the 18 of the hypercube, drawn too in the neutrality design
#: (``Later Programme Size`` stays 0: that is the setting claimed neutral).
LATER_LEVERS = ("Later Shock Size", "Later Shock Year", "Entrant Entry Year",
                "Later Programme Year")  # fmt: skip
METHODS = ("rk23", "euler")

#: The basis of the two levers' documented ranges, as v3_later_shock.LATER_BASIS gives the
#: later shock's (rows of models/gvc_upgrading_v3.md's range table).
PROGRAMME_BASIS = {
    "Later Programme Size": (
        "cases: later_programme: 0 no or open / 0.6 yes, the state-led start's size in the "
        "mapping (the sources code whether and when, not the size) [PF]; 0 none ... 1 full"
    ),
    "Later Programme Year": (
        "cases: later_programme_year minus period_start, clipped to [0,40] (40, after every "
        "period, where no later programme is coded); 40 years is the run (FINAL TIME)"
    ),
}


def earlier_text(text: str) -> str:
    """A v3 .mdl text whose state programme is the state-led start's alone (the later
    programme's levers and onset stay, unused); refused on a text without the later
    programme, where there would be nothing to compare."""
    equation = text.split("\nstate programme=", 1)[-1][:200]
    if "Later Programme Size=" not in text or LATER_TERM not in equation:
        raise SystemExit("the v3 .mdl carries no later programme")
    return replace_equation(text, "state programme", EARLIER_STATE_PROGRAMME)


def without_later_programme(folder: Path) -> Path:
    """A copy of v3 whose state programme leaves the later programme out (the earlier
    form), with v3's settings file beside it so it integrates as v3 does."""
    text = earlier_text(V3.read_text(encoding="utf-8"))
    return write_v3_copy(text, folder / "gvc_upgrading_v3_no_later_programme.mdl")


def neutral_design(model: object, n: int, seed: int) -> pd.DataFrame:
    """``n`` Latin-hypercube settings of the 18 levers and LATER_LEVERS over their
    documented ranges, with ``Later Programme Size`` at its default 0."""
    names = (*ls.LEVERS, *LATER_LEVERS)
    unit = qmc.LatinHypercube(d=len(names), seed=seed).random(n)
    lo = np.array([model.parameter(p).minimum for p in names])
    hi = np.array([model.parameter(p).maximum for p in names])
    return pd.DataFrame(lo + unit * (hi - lo), columns=list(names))


def differing(
    earlier: object, current: object, table: pd.DataFrame, method: str
) -> tuple[int, list[str]]:
    """How many variables ``earlier`` saves, and those whose values (every run, every
    year) are not bitwise equal in ``current``, run on ``table`` with ``method``;
    ``earlier`` is given the columns it has (a v3 before this step has no programme levers)."""
    known = [c for c in table.columns if c in {p.name for p in earlier.parameters}]
    a = earlier.run(table[known], method=method, saveper=1.0)
    b = current.run(table, method=method, saveper=1.0)
    names = [*a.data_vars]
    return len(names), [n for n in names if not np.array_equal(a[n].values, b[n].values)]


def check_neutral(earlier: Path, n: int = 50, seed: int = 3) -> int:
    """Exit unless at ``Later Programme Size`` 0 v3's runs equal those of ``earlier``
    bit for bit, every variable ``earlier`` saves, at rk23 (v3's setting) and Euler, over
    ``n`` settings; return the number of variables compared."""
    import gvcdyn

    base, current = gvcdyn.load(earlier), gvcdyn.load(V3)
    table = neutral_design(current, n, seed)
    for method in METHODS:
        compared, bad = differing(base, current, table, method)
        if bad:
            raise SystemExit(f"not neutral at {method}: {', '.join(bad[:5])}")
    print(f"neutral against {earlier.name}: {n} lever settings x {' and '.join(METHODS)}, "
          f"{compared} saved variables, bitwise equal")  # fmt: skip
    return compared


def programme_example() -> pd.DataFrame:
    """A buyer-led start in year 5 with and without a later programme (size 0.6) in year
    15, at the model's defaults: Functional Search and Functional Upgrading by year."""
    import gvcdyn

    model = gvcdyn.load(V3)
    runs = pd.DataFrame(
        {"Buyer Led Start": [0.8, 0.8], "Shock Year": [5.0, 5.0],
         "Later Programme Size": [0.0, 0.6], "Later Programme Year": [15.0, 15.0]}
    )  # fmt: skip
    ds = model.run(runs, saveper=1.0, variables=["Functional Search", "Functional Upgrading"])
    frame = pd.DataFrame(
        {
            f"{name} {label}": ds[name].values[i]
            for name in ("Functional Search", "Functional Upgrading")
            for i, label in enumerate(("start", "start + programme"))
        },
        index=ds["time"].values,
    )
    return frame


def lever_rows(cases: Path = CASES) -> list[str]:
    """The two levers' rows of models/gvc_upgrading_v3.md's range table, read from the
    model, the variant mapping and the cases it maps (the table needs the columns
    ``later_programme`` and ``later_programme_year``)."""
    import gvcdyn
    from gvcdyn.calibrate.cases import apply_mapping, read_case_csv, read_mapping

    model = gvcdyn.load(V3)
    table = apply_mapping(read_case_csv(cases), read_mapping(MAPPING), model=model)
    frame = pd.DataFrame(table.values, columns=list(table.levers))
    rows = []
    for lever, basis in PROGRAMME_BASIS.items():
        p = model.parameter(lever)
        given = frame[lever]
        rows.append(
            f"| `{lever}` | {p.default:g} | [{p.minimum:g}, {p.maximum:g}] | "
            f"{given.min():g} .. {given.max():g} ({int((given != p.default).sum())} of "
            f"{len(given)} cases set it off its default) | {basis} | none |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, help="an .mdl to compare with (default: "
                        "v3 with the state-led start's programme alone)")  # fmt: skip
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        earlier = args.against or without_later_programme(Path(tmp))
        check_neutral(earlier, n=args.runs)
    frame = programme_example()
    print(frame.iloc[[5, 10, 15, 16, 20, 25, 30, 40]].round(4).to_string())
    header = pd.read_csv(CASES, nrows=0).columns
    if {"later_programme", "later_programme_year"} <= set(header):
        print("\n".join(lever_rows()))
    else:
        print(f"{CASES.name} has no later_programme columns yet: no range rows")


if __name__ == "__main__":
    main()
