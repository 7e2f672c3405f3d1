"""The shared check of a case-table column coded from sources (issue 20's later
programmes, lead firms' resistance...): the case table's columns equal the sourced
table's row by row, and the sourced table keeps its protocol's form (one row per case, a
known code, a source and a quote for every code but `open`). A column's own rules (a
year only with `yes`, inside the period...) come in as ``more``, per row."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from gvcdyn.calibrate.cases import read_case_csv

#: a column's own checks of one sourced row against its case: the problems found
RowCheck = Callable[[Any, pd.Series], list[str]]


def sourced_mismatches(
    cases_path: Path,
    sourced_path: Path,
    columns: Sequence[str],
    codes: Sequence[str] = ("yes", "no", "open"),
    more: RowCheck | None = None,
) -> list[str]:
    """Where the case table's ``columns`` are not the sourced table's, or the sourced
    table breaks the form; ``columns[0]`` holds the code. Empty: they agree."""
    sourced = pd.read_csv(sourced_path, dtype=str, keep_default_na=False)
    cases = read_case_csv(cases_path).set_index("id")
    if sourced["id"].duplicated().any() or sorted(sourced["id"]) != sorted(cases.index):
        return [f"not one row per case: {sorted(set(sourced['id']) ^ set(cases.index))}"]
    found = []
    for row in sourced.itertuples():
        case = cases.loc[row.id]
        table = [case[c] for c in columns]
        if table != [getattr(row, c) for c in columns]:
            shown = table if len(columns) > 1 else table[0]
            found.append(f"{row.id}: table {shown!r} != sourced")
        code = getattr(row, columns[0])
        if code not in codes:
            found.append(f"{row.id}: code {code!r}")
        if code != "open" and not (row.source and row.quote):
            found.append(f"{row.id}: {code} without a source and a quote")
        if more is not None:
            found += more(row, case)
    return found
