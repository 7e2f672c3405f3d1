"""Case tables and the case -> lever mapping: from a coded case CSV to one lever row per case.

A case table (one row per case, context columns and observed outcomes) says nothing
about any model; a mapping file (``case_levers.toml``) declares how each context column
sets the levers of one model, and which rows cannot be mapped and why. Both are checked
here before anything runs: an unknown lever, a value with no mapping, a non-numeric year,
a period that ends before it starts, or one longer than the model runs (a year 1e7
would ask for billions of saved values per run) is an error naming the case id and the
column, so nothing is simulated (or written) from a half-understood table.

Mapping format (every key but ``[[map]]`` entries' ``column`` is optional)::

    model = "../models/gvc_upgrading.mdl"   # relative to the mapping file
    [case]
    id = "id"; start = "period_start"; end = "period_end"   # horizon = end - start
    [[map]]                                  # categorical: value -> lever settings
    column = "governance"
    values.market = { "Initial Buyer Control" = 0.1 }
    exclude.hierarchy = "why these rows cannot be mapped"
    [[map]]
    column = "trigger"
    match = "prefix"                         # keys are prefixes; the longest wins
    values."shock:" = { "Shock Size" = 0.5 }
    [[map]]                                  # numeric: the value goes into one lever
    column = "trigger_year"; lever = "Shock Year"
    offset = "period_start"                  # lever = value - period_start
    clip = [0, 40]; missing = 0.0            # clip range, value for a blank cell
    [unmapped]
    "Global Demand Growth" = "no case column"

Binary columns are categorical with keys ``"0"`` and ``"1"``. Two maps setting the same
lever for the same case with different values is an error (no silent precedence).
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gvcdyn.errors import CaseDataError, CaseMappingError, GvcdynError
from gvcdyn.io.tomlfile import check_keys, read_toml, shown
from gvcdyn.model import Model  # for typing.get_type_hints; its importers load it anyway
from gvcdyn.names import first_repeat

__all__ = [
    "CaseIssue",
    "CaseMapping",
    "CaseTable",
    "ColumnMap",
    "apply_mapping",
    "file_sha256",
    "model_horizon",
    "read_case_csv",
    "read_mapping",
    "read_text_table",
]


@dataclass(frozen=True)
class ColumnMap:
    """How one case column sets levers: categorical (``values``) or numeric (``lever``)."""

    column: str
    values: dict[str, dict[str, float]] = field(default_factory=dict)
    exclude: dict[str, str] = field(default_factory=dict)
    prefix: bool = False
    lever: str | None = None
    offset: str | None = None
    clip: tuple[float, float] | None = None
    missing: float | None = None

    @property
    def numeric(self) -> bool:
        return self.lever is not None

    @property
    def levers(self) -> tuple[str, ...]:
        if self.lever is not None:
            return (self.lever,)
        names: dict[str, None] = {}
        for setting in self.values.values():
            names.update(dict.fromkeys(setting))
        return tuple(names)


@dataclass(frozen=True)
class CaseMapping:
    """A parsed ``case_levers.toml``."""

    path: Path | None
    model: Path | None
    id_column: str
    start_column: str
    end_column: str
    maps: tuple[ColumnMap, ...]
    unmapped: dict[str, str]
    text: str = ""

    @property
    def levers(self) -> tuple[str, ...]:
        """Every lever some column sets, in first-mention order."""
        names: dict[str, None] = {}
        for m in self.maps:
            names.update(dict.fromkeys(m.levers))
        return tuple(names)

    def canonical(self, model: Model) -> CaseMapping:
        """The same mapping with lever names checked against ``model`` and made canonical."""
        where = f"mapping file {self.path}" if self.path else "case mapping"

        def name(lever: str, column: str) -> str:
            try:
                return model.parameter(lever).name
            except KeyError as exc:
                raise CaseMappingError(f"{where}, column '{column}': {exc}") from None

        def levers(setting: dict[str, float], column: str, key: str) -> dict[str, float]:
            named = {lever: name(lever, column) for lever in setting}
            if repeat := first_repeat((canonical, lever) for lever, canonical in named.items()):
                first, lever = repeat  # two spellings of one name: the last would win
                raise CaseMappingError(
                    f"{where}, column '{column}', values.{key}: lever '{named[lever]}' is "
                    f"set twice (as '{first}' = {setting[first]:g} and '{lever}' = "
                    f"{setting[lever]:g}); give it once"
                )
            return {named[lever]: value for lever, value in setting.items()}

        maps = []
        for m in self.maps:
            values = {key: levers(setting, m.column, key) for key, setting in m.values.items()}
            lever = name(m.lever, m.column) if m.lever else None
            maps.append(
                ColumnMap(m.column, values, m.exclude, m.prefix, lever, m.offset, m.clip, m.missing)
            )
        unmapped = {}
        for lever, why in self.unmapped.items():
            unmapped[name(lever, "[unmapped]")] = why
        return CaseMapping(
            self.path,
            self.model,
            self.id_column,
            self.start_column,
            self.end_column,
            tuple(maps),
            unmapped,
            self.text,
        )


@dataclass(frozen=True)
class CaseIssue:
    """A row that is excluded by the mapping or has a bad value: case id, column, why."""

    case_id: str
    column: str
    message: str

    def __str__(self) -> str:
        return f"case '{self.case_id}', column '{self.column}': {self.message}"


@dataclass(frozen=True)
class CaseTable:
    """The mapped cases: one lever row and one horizon per case, plus the source rows."""

    ids: tuple[str, ...]
    levers: tuple[str, ...]
    values: np.ndarray  # (C, L); NaN = this case does not set this lever (base value)
    horizon: np.ndarray  # (C,) years from period start to period end
    frame: pd.DataFrame  # the source rows of the mapped cases (strings), same order
    excluded: tuple[CaseIssue, ...]  # rows the mapping excludes, with the reason
    invalid: tuple[CaseIssue, ...] = ()  # rows with bad values (only when not strict)

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, rows: Sequence[int] | np.ndarray) -> CaseTable:
        rows = np.asarray(rows, dtype=np.int64)
        return CaseTable(
            tuple(self.ids[i] for i in rows),
            self.levers,
            self.values[rows],
            self.horizon[rows],
            self.frame.iloc[rows].reset_index(drop=True),
            self.excluded,
            self.invalid,
        )


# --------------------------------------------------------------------------- reading


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_text_table(path: Path, what: str, text: str | None = None) -> pd.DataFrame:
    """A CSV file as a table of stripped strings (blank cells ``""``), with the errors a
    person editing it in a spreadsheet makes (a missing file, another encoding than
    UTF-8, an unquoted comma that pandas would read as an index column and shift every
    value of its row) refused naming ``what`` and ``path`` and what to do. ``text``: the
    file's content as recorded elsewhere (a fit file's copy), read instead of ``path``,
    which then only names it."""
    if text is None and not path.is_file():
        raise CaseDataError(f"{what} {path} does not exist or is not a file")
    source = path if text is None else io.StringIO(text)
    options = {"dtype": str, "keep_default_na": False, "skipinitialspace": True}
    try:
        frame = pd.read_csv(source, **options)
        # the header as written: pandas renames a repeated name (x, x.1), hiding it
        head = path if text is None else io.StringIO(text)
        header = pd.read_csv(head, header=None, nrows=1, **options).iloc[0].tolist()
    except UnicodeDecodeError as exc:
        raise CaseDataError(
            f"{what} {path} is not UTF-8 text ({exc.reason}): save it as UTF-8"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise CaseDataError(f"{what} {path} is not a readable CSV: {exc}") from None
    if not isinstance(frame.index, pd.RangeIndex):  # rows wider than the header
        raise CaseDataError(
            f"{what} {path}: some rows have more cells than the header has columns; check "
            "the header line, and put a value with a comma in double quotes"
        )
    frame.columns = _column_names(frame, header, what, path)
    return frame.map(lambda v: v.strip() if isinstance(v, str) else v)


def _column_names(frame: pd.DataFrame, header: list[Any], what: str, path: Path) -> list[str]:
    """The columns' names as the header writes them, stripped; a name given twice (also
    once stripped: ``x`` and ``x ``) is refused: which column holds the codes cannot be
    known, and reading one of them would use the other's values without a word. Blank
    header cells (a spreadsheet's empty trailing columns) keep pandas' ``Unnamed: N``."""
    if len(header) != len(frame.columns):  # cannot happen for a table pandas read
        header = list(frame.columns)
    names = [
        str(raw).strip() or str(read).strip()
        for raw, read in zip(header, frame.columns, strict=True)
    ]
    first: dict[str, int] = {}
    for i, (raw, name) in enumerate(zip(header, names, strict=True)):
        if not str(raw).strip():
            continue
        if name in first:
            raise CaseDataError(
                f"{what} {path}: column '{name}' appears twice in the header (columns "
                f"{first[name] + 1} and {i + 1}); rename or delete one, as which of them "
                "holds the values cannot be told"
            )
        first[name] = i
    return names


def read_case_csv(path: str | Path, id_column: str = "id") -> pd.DataFrame:
    """The case table as strings (blank cells are ``""``), ids checked unique and present.

    A table without rows is refused: it is the wrong file or a failed export, and would
    otherwise be "0 of 0 cases predicted" (or a fit of nothing) with no word of why."""
    path = Path(path)
    frame = read_text_table(path, "case file")
    if frame.empty:
        raise CaseDataError(
            f"case file {path} has no rows (only a header, or nothing); give one row per "
            f"case, with its '{id_column}' and the columns the mapping reads"
        )
    if id_column not in frame.columns:
        raise CaseDataError(f"case file {path} has no id column '{id_column}'")
    blank = frame.index[frame[id_column] == ""]
    if len(blank):
        raise CaseDataError(f"case file {path}, row {blank[0] + 2}: the '{id_column}' is blank")
    dup = frame[id_column][frame[id_column].duplicated()]
    if len(dup):
        raise CaseDataError(f"case file {path}: case id '{dup.iloc[0]}' appears twice")
    return frame


def read_mapping(path: str | Path) -> CaseMapping:
    """Parse and check the structure of a mapping file (levers are checked by ``canonical``)."""
    doc, text = read_toml(path, what="mapping file", invalid=CaseMappingError)
    return parse_mapping(doc, path=Path(path), text=text)


def parse_mapping(doc: dict[str, Any], *, path: Path | None = None, text: str = "") -> CaseMapping:
    where = f"mapping file {path}" if path else "case mapping"
    known = {"model", "case", "map", "unmapped"}
    check_keys(doc, known, where, CaseMappingError)
    model = None
    if "model" in doc:
        model = Path(str(doc["model"]))
        if path is not None and not model.is_absolute():
            model = (path.parent / model).resolve()
    case = doc.get("case", {})
    if not isinstance(case, dict):
        raise CaseMappingError(f"{where}: [case] must be a table")
    maps = []
    for i, entry in enumerate(doc.get("map", [])):
        maps.append(_parse_map(entry, f"{where}, [[map]] #{i + 1}"))
    unmapped = doc.get("unmapped", {})
    if not isinstance(unmapped, dict):
        raise CaseMappingError(f"{where}: [unmapped] must be a table of lever = reason")
    return CaseMapping(
        path,
        model,
        str(case.get("id", "id")),
        str(case.get("start", "period_start")),
        str(case.get("end", "period_end")),
        tuple(maps),
        {str(k): str(v) for k, v in unmapped.items()},
        text,
    )


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CaseMappingError(f"{where}: {shown(value)} is not a finite number")
    return float(value)


def _parse_map(entry: Any, where: str) -> ColumnMap:
    if not isinstance(entry, dict) or "column" not in entry:
        raise CaseMappingError(f"{where}: each [[map]] needs a 'column'")
    column = str(entry["column"])
    where = f"{where} (column '{column}')"
    known = {"column", "values", "exclude", "match", "lever", "offset", "clip", "missing"}
    check_keys(entry, known, where, CaseMappingError)
    match = entry.get("match", "exact")
    if match not in ("exact", "prefix"):
        raise CaseMappingError(f"{where}: match = {match!r}; use 'exact' or 'prefix'")
    exclude = {str(k): str(v) for k, v in dict(entry.get("exclude", {})).items()}
    if "lever" in entry:
        if "values" in entry:
            raise CaseMappingError(f"{where}: give either 'lever' (numeric) or 'values', not both")
        clip = entry.get("clip")
        if clip is not None:
            if not isinstance(clip, list) or len(clip) != 2:
                raise CaseMappingError(f"{where}: clip must be [low, high]")
            clip = (_number(clip[0], where), _number(clip[1], where))
            if clip[0] > clip[1]:
                raise CaseMappingError(f"{where}: clip low {clip[0]:g} > high {clip[1]:g}")
        missing = entry.get("missing")
        return ColumnMap(
            column,
            exclude=exclude,
            lever=str(entry["lever"]),
            offset=str(entry["offset"]) if "offset" in entry else None,
            clip=clip,
            missing=None if missing is None else _number(missing, where),
        )
    values = entry.get("values")
    if not isinstance(values, dict) or not values:
        raise CaseMappingError(f"{where}: give 'values' (value -> levers) or 'lever'")
    parsed: dict[str, dict[str, float]] = {}
    for key, setting in values.items():
        if not isinstance(setting, dict):
            raise CaseMappingError(f"{where}: values.{key} must be a table of lever = number")
        parsed[str(key)] = {
            str(lv): _number(v, f"{where}, values.{key}.{lv}") for lv, v in setting.items()
        }
    return ColumnMap(column, parsed, exclude, prefix=(match == "prefix"))


# --------------------------------------------------------------------------- applying


def _key_of(raw: str) -> str:
    """A cell as a mapping key: numbers in their plain form ("1.0" -> "1")."""
    try:
        number = float(raw)
    except ValueError:
        return raw
    if math.isfinite(number) and number == int(number) and raw.replace(".", "", 1).isdigit():
        return str(int(number))
    return raw


def _lookup(m: ColumnMap, raw: str, table: dict[str, Any]) -> str | None:
    key = _key_of(raw)
    if key in table:
        return key
    if m.prefix:
        hits = [k for k in table if key.startswith(k)]
        if hits:
            return max(hits, key=len)
    return None


def _year(raw: str, case_id: str, column: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise _Bad(CaseIssue(case_id, column, f"'{raw}' is not a year (a number is needed)"))
    return value


class _Bad(Exception):
    def __init__(self, issue: CaseIssue) -> None:
        self.issue = issue


def apply_mapping(
    frame: pd.DataFrame,
    mapping: CaseMapping,
    *,
    model: Model | None = None,
    strict: bool = True,
    source: str = "case table",
) -> CaseTable:
    """Set each case's levers from its context columns.

    ``strict``: any bad row raises one ``CaseDataError`` listing every bad (case, column);
    otherwise bad rows are dropped and reported in ``CaseTable.invalid`` (``predict``
    still answers for the other rows). Rows the mapping excludes are never an error:
    they are listed in ``CaseTable.excluded`` with the mapping's reason. With a
    ``model``, lever names are checked and values outside a lever's range are bad rows.
    """
    if model is not None:
        mapping = mapping.canonical(model)
    needed = [mapping.id_column, mapping.start_column, mapping.end_column]
    needed += [m.column for m in mapping.maps] + [m.offset for m in mapping.maps if m.offset]
    missing_cols = [c for c in dict.fromkeys(needed) if c not in frame.columns]
    if missing_cols:
        raise CaseDataError(
            f"{source} has no column '{missing_cols[0]}', which the mapping "
            f"{mapping.path or ''} uses; add it or fix the mapping"
        )
    levers = mapping.levers
    lever_index = {lv: j for j, lv in enumerate(levers)}
    longest = model_horizon(model) if model is not None else None
    rows, values, horizon, excluded, invalid = [], [], [], [], []
    for i, row in enumerate(frame.to_dict("records")):
        case_id = row[mapping.id_column]
        try:
            start = _year(row[mapping.start_column], case_id, mapping.start_column)
            end = _year(row[mapping.end_column], case_id, mapping.end_column)
            if end <= start:
                raise _Bad(
                    CaseIssue(
                        case_id,
                        mapping.end_column,
                        f"period ends ({end:g}) before it starts ({start:g})",
                    )
                )
            if longest is not None and end - start > longest[0]:
                raise _Bad(
                    CaseIssue(
                        case_id,
                        mapping.end_column,
                        f"the period {start:g} to {end:g} lasts {end - start:g}, longer "
                        f"than the model runs ({longest[1]}); fix the period, or "
                        "lengthen the model's FINAL TIME if the model holds that long",
                    )
                )
            setting = np.full(len(levers), np.nan)
            origin: dict[str, str] = {}
            reason = None
            for m in mapping.maps:
                result = _apply_one(m, row, case_id)
                if isinstance(result, CaseIssue):
                    reason = reason or result
                    continue
                for lever, value in result.items():
                    j = lever_index[lever]
                    if lever in origin and setting[j] != value:
                        raise _Bad(
                            CaseIssue(
                                case_id,
                                m.column,
                                f"sets '{lever}' = {value:g}, but column "
                                f"'{origin[lever]}' already set it to "
                                f"{setting[j]:g}; fix the mapping",
                            )
                        )
                    setting[j], origin[lever] = value, m.column
            if reason is not None:
                excluded.append(reason)
                continue
            if model is not None:
                for lever, j in lever_index.items():
                    param = model.parameter(lever)
                    if not math.isnan(setting[j]) and param.outside_range(setting[j : j + 1]).any():
                        raise _Bad(
                            CaseIssue(
                                case_id,
                                origin[lever],
                                f"sets '{lever}' = {setting[j]:g}, outside its "
                                f"range {param.range_text()}",
                            )
                        )
        except _Bad as bad:
            invalid.append(bad.issue)
            continue
        rows.append(i)
        values.append(setting)
        horizon.append(end - start)
    if strict and invalid:
        listed = "; ".join(str(x) for x in invalid[:10])
        more = f" (and {len(invalid) - 10} more)" if len(invalid) > 10 else ""
        raise CaseDataError(f"{source}: {len(invalid)} bad row(s): {listed}{more}")
    kept = frame.iloc[rows].reset_index(drop=True)
    return CaseTable(
        tuple(kept[mapping.id_column]),
        levers,
        np.array(values, dtype=float).reshape(len(rows), len(levers)),
        np.array(horizon, dtype=float),
        kept,
        tuple(excluded),
        tuple(invalid),
    )


def model_horizon(model: Model) -> tuple[float, str] | None:
    """How long ``model`` runs (FINAL TIME - INITIAL TIME at its defaults) and that in
    words, or None when its controls depend on parameters a case may set.

    A case period longer than that is a bad row: the model was not built to run so long,
    and a period that ends in the year 1e7 or 1e308 (a typo, a unit slip) would ask
    the calibration for billions of saved values or steps per run."""

    try:
        grid = model.grid(model.defaults()[None, :])
    except GvcdynError:
        return None
    span = grid.final_time - grid.initial_time
    words = f"FINAL TIME {grid.final_time:g} - INITIAL TIME {grid.initial_time:g} = {span:g}"
    return span, words


def _apply_one(m: ColumnMap, row: dict[str, str], case_id: str) -> dict[str, float] | CaseIssue:
    """The lever values one column gives a row, or the exclusion reason."""
    raw = row[m.column]
    hit = _lookup(m, raw, m.exclude) if m.exclude else None
    if hit is not None:
        return CaseIssue(case_id, m.column, f"excluded ('{raw}'): {m.exclude[hit]}")
    if not m.numeric:
        key = _lookup(m, raw, m.values)
        if key is None:
            known = ", ".join(repr(k) for k in m.values)
            raise _Bad(
                CaseIssue(case_id, m.column, f"value '{raw}' has no mapping (known: {known})")
            )
        return dict(m.values[key])
    if raw == "":
        if m.missing is None:
            raise _Bad(
                CaseIssue(case_id, m.column, "blank, and the mapping gives no 'missing' value")
            )
        return {m.lever: m.missing}  # type: ignore[dict-item]
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise _Bad(CaseIssue(case_id, m.column, f"'{raw}' is not a number"))
    if m.offset:
        value -= _year(row[m.offset], case_id, m.offset)
    if m.clip:
        value = min(max(value, m.clip[0]), m.clip[1])
    return {m.lever: value}  # type: ignore[dict-item]
