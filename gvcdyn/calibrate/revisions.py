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

from pathlib import Path

import pandas as pd

from gvcdyn.errors import CaseDataError

__all__ = ["REQUIRED", "apply_revisions", "read_revisions"]

#: The columns a revisions file must have.
REQUIRED = ("id", "column", "coded", "revised", "source", "quote")


def read_revisions(path: str | Path) -> pd.DataFrame:
    """The revisions file as strings, every row checked to name a cell, a new value and a
    source with a quote (a revision without a source is a guess, which the case table's
    README rules out)."""
    path = Path(path)
    if not path.is_file():
        raise CaseDataError(f"case revisions file {path} does not exist")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise CaseDataError(f"case revisions file {path} is not a readable CSV: {exc}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise CaseDataError(
            f"case revisions file {path} lacks the column(s) {missing}; it needs {list(REQUIRED)}"
        )
    frame = frame.map(lambda v: v.strip() if isinstance(v, str) else v)
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
                f"revision replaces {rev['coded']!r}; the table changed since the revision "
                "was written: check the revision against the new value"
            )
        out.at[rows[case_id], column] = rev["revised"]
    return out
