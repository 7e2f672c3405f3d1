"""Read Vensim reference outputs and compare simulated results with them.

Correctness in gvcdyn is shown against outputs that Vensim itself wrote (the reference
suite in ``../shared/sd-test-models``) or against a PySD run of the same model, never
asserted by hand. This module owns the three steps of that check:

- :func:`read_reference` reads a Vensim "Export Dataset" file (``.tab`` or ``.csv``) in
  all the shapes Vensim writes: old Mac ``\\r`` line endings, quoted headers, constants
  written only in the first row, and exports transposed with times across.
- :func:`dataset_columns` flattens a gvcdyn result (an ``xarray.Dataset``) into the same
  one-column-per-element layout Vensim uses (``Var[e1,e2]``).
- :func:`compare` applies the suite's rule, ``numpy.isclose(sim, ref, rtol, atol)`` at
  every reference time, and returns a :class:`Comparison` that says where the worst
  disagreement is. Nothing compared is a failure, never a silent pass.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from gvcdyn.errors import ComparisonInputError, ReferenceFileError, ReferenceFormatError

__all__ = [
    "Comparison",
    "ReferenceFileError",
    "ReferenceFormatError",
    "compare",
    "compare_frames",
    "dataset_columns",
    "normalize_name",
    "read_reference",
]


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------

_LINE_SPLIT = re.compile(r"\r\n|\r|\n")

# Spellings of non-finite numbers that Vensim (or the C runtime it was built with) may
# print. ``float`` already accepts nan/inf/infinity in any case.
_SPECIAL_VALUES = {
    ":na:": math.nan,
    "1.#qnan": math.nan,
    "-1.#qnan": math.nan,
    "1.#ind": math.nan,
    "-1.#ind": math.nan,
    "1.#inf": math.inf,
    "-1.#inf": -math.inf,
}


def _parse_number(cell: str) -> float:
    """Parse one cell; blank means "not written" (NaN). Raises ValueError otherwise."""
    text = cell.strip()
    if not text:
        return math.nan
    special = _SPECIAL_VALUES.get(text.lower())
    if special is not None:
        return special
    return float(text)


def _is_number(cell: str) -> bool:
    """True for a finite number: how a time in a transposed header looks (a variable
    named ``Infinity`` or ``NaN`` must not make a file look transposed)."""
    try:
        return math.isfinite(float(cell.strip()))
    except ValueError:
        return False


def _decode(raw: bytes) -> str:
    """Vensim writes UTF-8 (sometimes with a BOM); old Windows exports are cp1252."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def read_reference(path: str | Path) -> pd.DataFrame:
    """Read a Vensim data export into a DataFrame indexed by time.

    The index is the float time (named ``"time"``); the columns are the variable names
    as Vensim wrote them, with CSV quoting removed and surrounding whitespace trimmed
    (a Vensim quoted name such as ``"$ euro"`` keeps its own quotes, as in the model
    and in PySD; :func:`normalize_name` ignores them when matching). Blank cells (Vensim
    writes constants only in the first row) become NaN. The separator is detected from
    the header line (tab if it contains one, else comma), so a misnamed file still
    reads; a file with times across (transposed) is detected by its second header field
    being a number.

    Raises:
        ReferenceFileError: the file does not exist.
        ReferenceFormatError: the file is empty or not text, has no variable columns, a
            cell that is not a number, a row longer than the header, or times that do
            not increase.
    """
    path = Path(path)
    if not path.exists():
        raise ReferenceFileError(f"reference output {str(path)!r} does not exist")
    if path.is_dir():
        raise ReferenceFormatError(f"reference output {str(path)!r} is a directory, not a file")

    def fail(what: str) -> ReferenceFormatError:
        return ReferenceFormatError(f"cannot read reference output {str(path)!r}: {what}")

    raw = path.read_bytes()
    if b"\x00" in raw:  # decoded as text, its first bytes read as a column ('\u2030HDF')
        raise fail(
            "not a text export (it holds NUL bytes: a binary file such as Vensim's .vdf, a "
            "netCDF .nc or a workbook, or text saved as UTF-16); export the run as .tab or "
            ".csv (Vensim: Export Dataset; gvcdyn run: -o run.csv)"
        )
    text = _decode(raw)
    # Keep the physical line numbers (1-based) so errors point into the file.
    lines = [(i + 1, line) for i, line in enumerate(_LINE_SPLIT.split(text)) if line.strip()]
    if not lines:
        raise fail("the file is empty")
    delimiter = "\t" if "\t" in lines[0][1] else ","
    if delimiter not in lines[0][1] and ";" in lines[0][1]:  # a spreadsheet's European CSV
        raise fail(
            "its fields are separated by ';', and a Vensim export by tabs or commas; "
            "save it with commas (or export the run from Vensim as .tab)"
        )
    try:
        records = [
            (lineno, next(csv.reader([line], delimiter=delimiter, skipinitialspace=True)))
            for lineno, line in lines
        ]
    except csv.Error as exc:
        raise fail(f"malformed quoting ({exc})") from exc

    header = [field.strip() for field in records[0][1]]
    transposed = len(header) > 1 and _is_number(header[1])
    if transposed:
        names, times, table = _untranspose(records, fail)
    else:
        names, times, table = _rows(records, header, fail)

    if not names:
        raise fail("no variable columns (only a time column)")
    if not times:
        raise fail("no data rows (only a header)")
    if any(not name for name in names):
        raise fail("a variable column has an empty name")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise fail(f"duplicate column names {duplicates[:5]}")
    time_arr = np.asarray(times, dtype=float)
    if not np.all(np.isfinite(time_arr)):
        raise fail("a time value is blank or not finite")
    steps = np.diff(time_arr)
    if np.any(steps <= 0):
        k = int(np.argmax(steps <= 0))
        raise fail(f"times do not increase ({time_arr[k]:g} then {time_arr[k + 1]:g})")

    frame = pd.DataFrame(
        np.asarray(table, dtype=float).reshape(len(times), len(names)),
        index=pd.Index(time_arr, name="time"),
        columns=names,
    )
    frame.attrs["source"] = str(path)
    return frame


def _cell(value: str, lineno: int, column: str, fail: Any) -> float:
    try:
        return _parse_number(value)
    except ValueError:
        raise fail(f"line {lineno}, column {column!r}: {value.strip()!r} is not a number") from None


def _rows(
    records: list[tuple[int, list[str]]], header: list[str], fail: Any
) -> tuple[list[str], list[float], list[list[float]]]:
    """The usual layout: one row per saved time, first column the time."""
    width = len(header)
    names = header[1:]
    times: list[float] = []
    table: list[list[float]] = []
    for lineno, fields in records[1:]:
        if len(fields) > width:
            if any(f.strip() for f in fields[width:]):
                raise fail(f"line {lineno} has {len(fields)} fields but the header has {width}")
            fields = fields[:width]
        # Vensim drops trailing blank cells on some rows: pad them back as blanks.
        fields = fields + [""] * (width - len(fields))
        times.append(_cell(fields[0], lineno, header[0] or "time", fail))
        table.append([_cell(v, lineno, n, fail) for v, n in zip(fields[1:], names, strict=True)])
    return names, times, table


def _untranspose(
    records: list[tuple[int, list[str]]], fail: Any
) -> tuple[list[str], list[float], list[list[float]]]:
    """Times across: first row ``Time, t0, t1, ...``; each next row ``name, v0, v1, ...``."""
    lineno0, first = records[0]
    time_cells = [f for f in first[1:]]
    while time_cells and not time_cells[-1].strip():
        time_cells.pop()
    times = [_cell(v, lineno0, "time", fail) for v in time_cells]
    width = len(times)
    names: list[str] = []
    columns: list[list[float]] = []
    for lineno, fields in records[1:]:
        name = fields[0].strip()
        values = fields[1:]
        if len(values) > width:
            if any(v.strip() for v in values[width:]):
                raise fail(f"line {lineno} has {len(values)} values but there are {width} times")
            values = values[:width]
        values = values + [""] * (width - len(values))
        names.append(name)
        columns.append([_cell(v, lineno, name, fail) for v in values])
    table = [list(row) for row in zip(*columns, strict=True)] if columns else []
    return names, times, table


# ---------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------

_RUNS = re.compile(r"[\s_]+")


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def _normalize_part(part: str) -> str:
    part = part.strip()
    while len(part) >= 2 and part[0] == '"' and part[-1] == '"':
        part = part[1:-1].replace('\\"', '"').strip()
    return _RUNS.sub("_", part.lower())


def normalize_name(name: str) -> str:
    """Return the key under which two spellings of one variable name match.

    Vensim, PySD and gvcdyn spell the same variable differently (``Teacup Temperature``,
    ``teacup_temperature``, ``"Teacup  Temperature"``); matching on this key lets a
    reference column find its simulated column without a hand-written map. The key is
    lower case, with runs of whitespace/underscores collapsed to one ``_``, surrounding
    quotes removed (an escaped ``\\"`` inside becomes ``"``), and for a subscripted name
    ``Var[a, b]`` the elements normalized the same way and joined by ``,`` without
    spaces: ``var[a,b]``.
    """
    text = name.strip()
    pieces = _split_outside_quotes(text, "[")
    if len(pieces) > 1 and text.endswith("]"):
        base = pieces[0]
        inside = "[".join(pieces[1:])[:-1]
        elements = _split_outside_quotes(inside, ",")
        return f"{_normalize_part(base)}[{','.join(_normalize_part(e) for e in elements)}]"
    return _normalize_part(text)


# ---------------------------------------------------------------------------------------
# Flattening a gvcdyn result
# ---------------------------------------------------------------------------------------


def dataset_columns(ds: xr.Dataset, run: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Flatten one run of a gvcdyn result into Vensim's column layout.

    Returns ``(time, columns)``: the float time vector and ``{name: values over time}``
    where a subscripted variable with dims ``(run, time, Dim1, Dim2)`` becomes one column
    per element, ``Var[e1,e2]``, named from the subscript coordinates in the variable's
    own dimension order (the order Vensim writes). Model constants, stored without a
    ``time`` dimension (attribute ``kind``), are repeated over time as Vensim writes them;
    other variables without ``time`` (``status``) are skipped.

    Raises:
        ComparisonInputError: there is no ``time`` coordinate, ``run`` is out of range,
            or a subscript dimension has no coordinate to name its elements.
    """
    if "time" not in ds.coords:
        raise ComparisonInputError("the result has no 'time' coordinate")
    time = np.asarray(ds["time"].values, dtype=float)
    if "run" in ds.dims and not -ds.sizes["run"] <= run < ds.sizes["run"]:
        raise ComparisonInputError(f"run {run} is out of range (the result has {ds.sizes['run']})")
    columns: dict[str, np.ndarray] = {}
    for name, var in ds.data_vars.items():
        if "time" not in var.dims:
            if "kind" not in var.attrs:
                continue
            var = var.expand_dims(time=time)
        if "run" in var.dims:
            var = var.isel(run=run)
        sub_dims = [d for d in var.dims if d != "time"]
        values = np.asarray(var.transpose("time", *sub_dims).values, dtype=float)
        if not sub_dims:
            columns[str(name)] = values
            continue
        labels = []
        for dim in sub_dims:
            if dim not in var.coords:
                raise ComparisonInputError(
                    f"variable {name!r}: subscript dimension {dim!r} has no coordinate of "
                    "element names"
                )
            labels.append([str(v) for v in var.coords[dim].values])
        for index in product(*(range(len(lab)) for lab in labels)):
            elements = ",".join(lab[i] for lab, i in zip(labels, index, strict=True))
            columns[f"{name}[{elements}]"] = values[(slice(None), *index)]
    return time, columns


# ---------------------------------------------------------------------------------------
# Comparing
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing simulated columns with a reference.

    ``worst_*`` locate the largest tolerance excess ``|sim-ref| - (atol + rtol*|ref|)``
    among failing values (``inf`` for a NaN against a number); when every value passes
    they locate the largest relative error ``|sim-ref|/|ref|`` instead (absolute error
    where ``ref == 0``), so a pass still tells how close it was.
    """

    passed: bool
    n_compared_columns: int
    n_failed_columns: int
    n_compared_values: int
    worst_variable: str | None
    worst_time: float | None
    worst_simulated: float | None
    worst_reference: float | None
    worst_error: float | None
    failed_columns: tuple[str, ...]
    unmatched_reference_columns: tuple[str, ...]
    missing_times: tuple[float, ...]
    rtol: float
    atol: float
    #: simulated times no reference row matched: not compared (a reference that ends
    #: before FINAL TIME passed on the times it has, without a word about the others)
    unreferenced_times: tuple[float, ...] = ()

    def summary(self) -> str:
        """One paragraph for the CLI: verdict, counts, the worst value, what was left out."""
        tol = f"rtol={self.rtol:g}, atol={self.atol:g}"
        if self.n_compared_values == 0:
            text = (
                f"FAIL: nothing was compared ({tol}): no reference column matched a "
                "simulated variable at a simulated time"
            )
        elif self.passed:
            text = (
                f"PASS: {self.n_compared_columns} columns agree ({self.n_compared_values} "
                f"values, {tol}); largest relative error {self.worst_error:.3g} in "
                f"{self.worst_variable!r} at time {self.worst_time:g} "
                f"(simulated {self.worst_simulated:.6g}, reference {self.worst_reference:.6g})"
            )
        else:
            shown = ", ".join(repr(c) for c in self.failed_columns[:5])
            extra = len(self.failed_columns) - 5
            more = f" and {extra} more" if extra > 0 else ""
            text = (
                f"FAIL: {self.n_failed_columns} of {self.n_compared_columns} columns differ "
                f"({tol}); worst {self.worst_variable!r} at time {self.worst_time:g}: "
                f"simulated {self.worst_simulated:.6g}, reference {self.worst_reference:.6g} "
                f"(beyond tolerance by {self.worst_error:.3g}); failing: {shown}{more}"
            )
        notes = []
        if self.unmatched_reference_columns:
            n = len(self.unmatched_reference_columns)
            sample = ", ".join(repr(c) for c in self.unmatched_reference_columns[:3])
            notes.append(f"{n} reference columns not simulated (e.g. {sample})")
        if self.missing_times:
            notes.append(
                f"{len(self.missing_times)} reference times not simulated "
                f"(first {self.missing_times[0]:g})"
            )
        if self.unreferenced_times and self.n_compared_values:
            notes.append(
                f"{len(self.unreferenced_times)} simulated times not in the reference, "
                f"not compared (first {self.unreferenced_times[0]:g})"
            )
        if notes:
            text += "; " + "; ".join(notes)
        return text + "."


def _as_columns(
    simulated: Mapping[str, Any] | pd.DataFrame, time: Any
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    if isinstance(simulated, pd.DataFrame):
        sim_time = np.asarray(simulated.index, dtype=float) if time is None else time
        cols = {str(c): simulated[c].to_numpy() for c in simulated.columns}
    else:
        if time is None:
            raise ComparisonInputError("simulated columns given without their time vector")
        sim_time = time
        cols = {str(k): v for k, v in simulated.items()}
    sim_time = np.asarray(sim_time, dtype=float).reshape(-1)
    out: dict[str, np.ndarray] = {}
    for name, values in cols.items():
        try:
            arr = np.asarray(values, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            continue  # not a numeric output (e.g. a lookup object in a PySD frame)
        if arr.shape != sim_time.shape:
            raise ComparisonInputError(
                f"simulated column {name!r} has {arr.size} values but there are "
                f"{sim_time.size} times"
            )
        out[name] = arr
    if sim_time.size > 1 and np.any(np.diff(sim_time) <= 0):
        raise ComparisonInputError("simulated times do not increase")
    return sim_time, out


def _min_spacing(t: np.ndarray) -> float:
    steps = np.diff(t)
    steps = steps[steps > 0]
    return float(steps.min()) if steps.size else math.inf


def _match_times(sim_time: np.ndarray, ref_time: np.ndarray) -> np.ndarray:
    """Index into ``sim_time`` for each reference time, -1 where none is close enough.

    Vensim prints times with ~6 significant digits (99.9688 for 99.96875), so exact
    matching would miss them; the tolerance is 1e-4 relative (to the time, but at least
    to the output spacing, so that t=0 does not demand exact equality) and never more
    than a quarter of the finer of the two output spacings, so no reference time can
    match a neighbouring save point.
    """
    if sim_time.size == 0:
        return np.full(ref_time.shape, -1, dtype=int)
    spacing = min(_min_spacing(sim_time), _min_spacing(ref_time))
    floor = spacing if math.isfinite(spacing) else 1.0
    tol = np.minimum(1e-4 * np.maximum(np.abs(ref_time), floor), spacing / 4)
    right = np.clip(np.searchsorted(sim_time, ref_time), 0, sim_time.size - 1)
    left = np.clip(right - 1, 0, sim_time.size - 1)
    nearest = np.where(
        np.abs(sim_time[left] - ref_time) <= np.abs(sim_time[right] - ref_time), left, right
    )
    close = np.abs(sim_time[nearest] - ref_time) <= tol
    return np.where(close, nearest, -1)


def check_tolerances(rtol: float, atol: float) -> None:
    """Refuse a tolerance that is not a finite number >= 0: ``numpy.isclose`` takes it
    without complaint (or with a warning) and the verdict would be the tolerance's, not
    the model's (a negative one fails equal values, an infinite one passes anything).

    Raises:
        ComparisonInputError: naming the tolerance and its value.
    """
    for name, value, example in (("rtol", rtol, "1e-3"), ("atol", atol, "1e-6")):
        try:
            number = float(value)
            shown = f"{number:g}"
        except (TypeError, ValueError):
            number, shown = math.nan, repr(value)
        if not (math.isfinite(number) and number >= 0):
            raise ComparisonInputError(
                f"{name} = {shown}: a tolerance must be a finite number >= 0, e.g. {example}"
            )


def compare(
    simulated: Mapping[str, Any] | pd.DataFrame,
    reference: pd.DataFrame,
    *,
    time: Any = None,
    rtol: float = 1e-3,
    atol: float = 1e-6,
    skip_blank_reference: bool = True,
) -> Comparison:
    """Compare simulated columns with a reference under the suite's rule.

    ``simulated`` is ``{name: values}`` with ``time`` (as from :func:`dataset_columns`),
    or a DataFrame indexed by time. Every reference column whose
    :func:`normalize_name` key matches a simulated column is compared at every
    reference time that was simulated (times matched with a small tolerance; the others
    are reported in ``missing_times``, not failed). A value passes if
    ``numpy.isclose(sim, ref, rtol=rtol, atol=atol, equal_nan=True)``.

    With ``skip_blank_reference`` (the default, right for Vensim exports) a NaN
    reference cell is a blank and is skipped: Vensim writes constants only in the first
    row. Set it to False when the reference is another simulator's output, where NaN
    is a value that must be matched by NaN.

    Zero compared values is a failure: a check that compared nothing proves nothing.
    A tolerance that is negative, NaN or infinite is refused (:func:`check_tolerances`).
    """
    check_tolerances(rtol, atol)
    sim_time, sim_cols = _as_columns(simulated, time)
    by_key: dict[str, str] = {}
    for name in sim_cols:
        key = normalize_name(name)
        if key in by_key:
            raise ComparisonInputError(
                f"simulated columns {by_key[key]!r} and {name!r} have the same name key {key!r}"
            )
        by_key[key] = name

    ref_time = np.asarray(reference.index, dtype=float)
    sim_index = _match_times(sim_time, ref_time)
    matched = sim_index >= 0
    missing = tuple(float(t) for t in ref_time[~matched])
    rows = np.flatnonzero(matched)
    sim_rows = sim_index[matched]

    unmatched: list[str] = []
    failed: list[str] = []
    n_columns = 0
    n_values = 0
    worst: tuple[float, str, float, float, float] | None = None  # (score, name, t, sim, ref)
    worst_is_failure = False

    for column in reference.columns:
        key = normalize_name(str(column))
        sim_name = by_key.get(key)
        if sim_name is None:
            unmatched.append(str(column))
            continue
        try:
            ref_vals = reference[column].to_numpy(dtype=float)[rows]
        except (TypeError, ValueError):
            unmatched.append(str(column))
            continue
        sim_vals = sim_cols[sim_name][sim_rows]
        times = ref_time[rows]
        if skip_blank_reference:
            keep = ~np.isnan(ref_vals)
            ref_vals, sim_vals, times = ref_vals[keep], sim_vals[keep], times[keep]
        if ref_vals.size == 0:
            continue
        n_columns += 1
        n_values += ref_vals.size
        ok = np.isclose(sim_vals, ref_vals, rtol=rtol, atol=atol, equal_nan=True)
        diff = np.abs(sim_vals - ref_vals)
        if not ok.all():
            failed.append(str(column))
            excess = diff - (atol + rtol * np.abs(ref_vals))
            excess = np.where(np.isnan(excess), np.inf, excess)
            excess = np.where(ok, -np.inf, excess)
            k = int(np.argmax(excess))
            candidate = (
                float(excess[k]),
                str(column),
                float(times[k]),
                float(sim_vals[k]),
                float(ref_vals[k]),
            )
            if not worst_is_failure or worst is None or candidate[0] > worst[0]:
                worst = candidate
            worst_is_failure = True
        elif not worst_is_failure:
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = np.where(ref_vals != 0, diff / np.abs(ref_vals), diff)
            rel = np.where(np.isnan(rel), 0.0, rel)  # NaN == NaN: no error
            k = int(np.argmax(rel))
            candidate = (
                float(rel[k]),
                str(column),
                float(times[k]),
                float(sim_vals[k]),
                float(ref_vals[k]),
            )
            if worst is None or candidate[0] > worst[0]:
                worst = candidate

    return Comparison(
        passed=n_values > 0 and not failed,
        n_compared_columns=n_columns,
        n_failed_columns=len(failed),
        n_compared_values=n_values,
        worst_variable=worst[1] if worst else None,
        worst_time=worst[2] if worst else None,
        worst_simulated=worst[3] if worst else None,
        worst_reference=worst[4] if worst else None,
        worst_error=worst[0] if worst else None,
        failed_columns=tuple(failed),
        unmatched_reference_columns=tuple(unmatched),
        missing_times=missing,
        rtol=rtol,
        atol=atol,
        unreferenced_times=tuple(float(t) for t in np.delete(sim_time, sim_index[matched])),
    )


def compare_frames(
    simulated: Mapping[str, Any] | pd.DataFrame,
    other: pd.DataFrame,
    *,
    time: Any = None,
    rtol: float = 1e-3,
    atol: float = 1e-6,
) -> Comparison:
    """Compare a gvcdyn result with another simulator's output (e.g. PySD ``run()``).

    PySD returns a DataFrame indexed by time with columns under the Vensim names
    (subscripted variables flattened as ``Var[e1,e2]``), the same layout as a Vensim
    export, so this is :func:`compare` with one difference: a NaN in ``other`` is a
    simulated value, not a blank cell, and must be matched by NaN.
    """
    return compare(simulated, other, time=time, rtol=rtol, atol=atol, skip_blank_reference=False)
