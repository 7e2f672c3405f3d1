"""Low-wage entry inside the period (issue 20, twelfth step): the sourced column, and v3
with and without the year the race to the bottom reaches the cluster's buyers.

Why: in v3 buyers develop low-wage entrants from the start of every run [S s.8 concern
2], so the race runs on each case's own clock, whatever the calendar year and industry;
studies/v3_horizon_paths.py found that this clock, the same in every case, carries most of
the fall of Cluster Market Position after year 10 at the later-shock fit. Whether and
when lower-wage producers elsewhere took the cluster's buyers is a fact each case's
sources can state: calibration/sources/lowwage_entry.csv, coded under the protocol
calibration/sources/lowwage_entry_protocol.md (fixed before any run read the column). v3
gains one lever, ``Entrant Entry Year`` (0, the default: under way from the start, every
earlier run bit for bit), mapped only by calibration/case_levers_v3_lowwage.toml.

This script checks the sourced table (``lowwage_table``) and builds v3 without the
lever's term (``earlier_text``) for the neutrality test; it prints the coded column
against the outcome codes.

    python studies/v3_lowwage_entry.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "studies"))
V3 = REPO / "models" / "gvc_upgrading_v3.mdl"
LOWWAGE = REPO / "calibration" / "sources" / "lowwage_entry.csv"
CODES = ("yes", "no", "open")
TERM = "*entrants scouted"


def lowwage_table() -> pd.DataFrame:
    """The sourced low-wage entry of every case, checked: one row per case of
    gvc_cases.csv, a code of CODES, a year for `yes` (not after the period's end) and
    none otherwise, a source and a quote for `yes` and `no`."""
    from gvcdyn.calibrate.cases import read_case_csv

    rows = pd.read_csv(LOWWAGE, dtype=str, keep_default_na=False)
    cases = read_case_csv(REPO / "calibration" / "gvc_cases.csv").set_index("id")
    if sorted(rows["id"]) != sorted(cases.index):
        extra = sorted(set(rows["id"]) ^ set(cases.index))
        raise SystemExit(f"{LOWWAGE.name}: not one row per case ({extra[:5]})")
    for row in rows.itertuples():
        where = f"{LOWWAGE.name}, {row.id}"
        if row.lowwage_entry not in CODES:
            raise SystemExit(f"{where}: code '{row.lowwage_entry}' is not one of {CODES}")
        if row.lowwage_entry != "open" and not (row.source and row.quote):
            raise SystemExit(f"{where}: '{row.lowwage_entry}' needs a source and a quote")
        if row.lowwage_entry == "yes":
            year = float(row.lowwage_entry_year)
            if year > float(cases.loc[row.id, "period_end"]):
                raise SystemExit(f"{where}: {year:g} is after the period's end")
        elif row.lowwage_entry_year:
            raise SystemExit(f"{where}: a year is given only with 'yes'")
    return rows


def earlier_text(text: str) -> str:
    """v3's .mdl text without ``Entrant Entry Year``'s term in ``entrant learning`` (the
    model before the twelfth step); refused on a text without it."""
    pattern = re.compile(r"(entrant learning=\n\t[^\n]*?)" + re.escape(TERM) + r"\n")
    if not pattern.search(text):
        raise SystemExit("this .mdl has no low-wage entry term in 'entrant learning'")
    return pattern.sub(r"\1\n", text, count=1)


def without_entry_year(folder: Path) -> Path:
    """Write v3 without the lever's term into ``folder`` (with v3's settings file, as
    v3_later_shock's copies); return its path."""
    from v3_later_shock import write_v3_copy  # a sibling script

    text = earlier_text(V3.read_text(encoding="utf-8"))
    return write_v3_copy(text, folder / "gvc_upgrading_v3_before_lowwage.mdl")


def main() -> None:
    rows = lowwage_table()
    cases = pd.read_csv(REPO / "calibration" / "gvc_cases.csv").set_index("id")
    table = rows.set_index("id").join(cases[["period_start", "period_end", "outcome_class"]])
    print(f"{len(rows)} cases: " + ", ".join(
        f"{code} {int((rows['lowwage_entry'] == code).sum())}" for code in CODES))  # fmt: skip
    print(pd.crosstab(table["lowwage_entry"], table["outcome_class"]).to_string())
    yes = table[table["lowwage_entry"] == "yes"]
    for case_id, row in yes.iterrows():
        start = float(row["period_start"])
        year = float(row["lowwage_entry_year"])
        print(f"  {case_id}: {year:g} (year {max(0.0, year - start):g} of "
              f"{float(row['period_end']) - start:g})")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
