"""Sourced revisions of a coded case table: a value changed only with a source that says so.

Why a separate file and not an edited case table: the case table is one reading of the
cited studies (its README: "the codes are this project's reading"), and a later reading
that contradicts a code should neither overwrite it silently nor be lost. A revisions
file keeps both: every changed cell names the value it replaces, the value it puts in
its place, the source and a short quote from it. A calibration config that names the
file (``revisions = "case_revisions.csv"``) fits the revised table; one that does not
fits the table as coded, so results can be reported both ways.

Format (CSV, one row per changed cell; extra columns such as ``reading`` are kept for
people and ignored here)::

    id,column,coded,revised,source,quote
    CO_FLOWERS,trigger,buyer-led,none:FDI-attraction,https://...,"Kick-started by ..."

``coded`` must equal the table's current cell: if the case table has changed since the
revision was written, the revision is stale and is refused, naming the cell, rather than
applied to a value nobody checked it against.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from gvcdyn.calibrate.cases import file_sha256, read_case_csv, read_text_table
from gvcdyn.errors import CaseDataError

__all__ = [
    "REQUIRED",
    "apply_revisions",
    "fit_revisions",
    "read_revised_cases",
    "read_revisions",
]

#: The columns a revisions file must have.
REQUIRED = ("id", "column", "coded", "revised", "source", "quote")


def read_revisions(path: str | Path, text: str | None = None) -> pd.DataFrame:
    """The revisions file as strings, every row checked to name a cell, a new value and a
    source with a quote (a revision without a source is a guess, which the case table's
    README rules out). ``text``: the file's content as a fit file recorded it, read
    instead of ``path``."""
    path = Path(path)
    frame = read_text_table(path, "case revisions file", text=text)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise CaseDataError(
            f"case revisions file {path} lacks the column(s) {missing}; it needs {list(REQUIRED)}"
        )
    for i, row in frame.iterrows():
        where = f"case revisions file {path}, row {int(i) + 2} ({row['id']} {row['column']})"
        for key in ("id", "column", "source", "quote"):
            if not row[key]:
                raise CaseDataError(f"{where}: '{key}' is blank; every revision needs it")
        if row["coded"] == row["revised"]:
            raise CaseDataError(f"{where}: 'revised' equals 'coded' ({row['coded']!r})")
    dup = frame.duplicated(["id", "column"])
    if dup.any():
        first = frame[dup].iloc[0]
        raise CaseDataError(
            f"case revisions file {path}: {first['id']} {first['column']} is revised twice"
        )
    return frame


def apply_revisions(
    cases: pd.DataFrame, revisions: pd.DataFrame, *, id_column: str = "id", source: str = ""
) -> pd.DataFrame:
    """A copy of ``cases`` (a table of strings, as ``read_case_csv`` returns) with each
    revision's cell set to its revised value, after checking that the case and column
    exist and that the cell still holds the value the revision replaces."""
    where = f"case revisions{' ' + source if source else ''}"
    out = cases.copy()
    rows = {case_id: i for i, case_id in zip(out.index, out[id_column], strict=True)}
    for _, rev in revisions.iterrows():
        case_id, column = rev["id"], rev["column"]
        if case_id not in rows:
            raise CaseDataError(f"{where}: case '{case_id}' is not in the case table")
        if column not in out.columns or column == id_column:
            raise CaseDataError(
                f"{where}: '{column}' (case {case_id}) is not a revisable column of the case table"
            )
        current = out.at[rows[case_id], column]
        if current != rev["coded"]:
            raise CaseDataError(
                f"{where}: {case_id} {column} is {current!r} in the case table, but the "
                f"revision replaces {rev['coded']!r}: either 'coded' is mistyped or the "
                "table changed since the revision was written; check the revision against "
                "the table's value"
            )
        out.at[rows[case_id], column] = rev["revised"]
    return out


def read_revised_cases(
    cases: str | Path, revisions: str | Path | None, id_column: str = "id"
) -> tuple[pd.DataFrame, str]:
    """The case table a calibration config fits (``read_case_csv`` with the config's
    ``revisions`` applied, if any) and the words that name it in an error. One reader, so
    that everything that reads a config's cases (the calibration, a sensitivity study's
    case source) reads the same table, and a mapping error on a revised cell says that
    the value came from the revisions file, not from the case file the user would open."""
    frame = read_case_csv(cases, id_column)
    if revisions is None:
        return frame, f"case file {cases}"
    frame = apply_revisions(
        frame, read_revisions(revisions), id_column=id_column, source=str(revisions)
    )
    return frame, f"case file {cases} with the revisions of {revisions}"


def fit_revisions(attrs: Mapping[str, Any]) -> pd.DataFrame | None:
    """The revisions a fit file records (its ``case_revisions`` attribute; None when it was
    made on the table as coded), for a reader that rebuilds the fit's case table (a
    report's case groups). A fit that recorded the file's text (``case_revisions_text``)
    is read from it, so the fit stays readable when the file moves or changes; an older
    fit's file is read from its path and refused when it changed since the fit (its
    SHA-256 differs from ``case_revisions_sha256``), since the table would not be the
    fitted one."""
    path = str(attrs.get("case_revisions", "") or "")
    if not path:
        return None
    text = str(attrs.get("case_revisions_text", "") or "")
    if text:
        return read_revisions(path, text=text)
    revisions = read_revisions(path)
    recorded = str(attrs.get("case_revisions_sha256", "") or "")
    if recorded and file_sha256(path) != recorded:
        raise CaseDataError(
            f"case revisions file {path} changed since the fit (SHA-256 differs from the "
            "fit's case_revisions_sha256): refit, or restore the file the fit was made with"
        )
    return revisions
