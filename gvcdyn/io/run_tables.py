"""Runs as text tables: CSV and Vensim ``.tab``, in the layout Vensim exports.

Vensim's "Export Dataset" writes one row per variable and the times as columns: a
header ``Time, t0, t1, ...``, then ``Name, v0, v1, ...``, a subscripted variable one row
per element (``Var[e1,e2]``) and a constant repeated at every time. ``.tab`` is
tab-separated, ``.csv`` comma-separated (a name with a comma is quoted). One run is
written under the variables' own names, so the file reads back as a reference
(``gvcdyn check --reference``); several runs get one block of rows each, named
``Variable : run label`` as Vensim names the runs of a table. Numbers are written with
every digit (Python's shortest exact form), so nothing is lost but the provenance and
lever values, which only the netCDF file keeps.
"""

from __future__ import annotations

import csv
from pathlib import Path

import xarray as xr

from gvcdyn.io.reference import dataset_columns
from gvcdyn.io.results_io import atomic_write

__all__ = ["write_run_table"]

#: the column separator by extension
SEPARATORS = {".csv": ",", ".tab": "\t"}


def _number(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _labels(ds: xr.Dataset) -> list[str]:
    if "scenario" in ds.coords:
        return [str(label) for label in ds["scenario"].values]
    return [str(run) for run in ds["run"].values] if "run" in ds.coords else []


def rows(ds: xr.Dataset) -> list[list[str]]:
    """The table as rows of cells: the header, then one row per variable (and run)."""
    n_runs = ds.sizes.get("run", 1)
    labels = _labels(ds)
    table: list[list[str]] = []
    for run in range(n_runs):
        time, columns = dataset_columns(ds, run)
        if not table:
            table.append(["Time", *(_number(t) for t in time)])
        suffix = f" : {labels[run]}" if n_runs > 1 else ""
        for name, values in columns.items():
            table.append([f"{name}{suffix}", *(_number(v) for v in values)])
    return table


def write_run_table(ds: xr.Dataset, path: str | Path) -> Path:
    """Write the runs of ``ds`` to ``path`` (``.csv`` or ``.tab``), atomically."""
    path = Path(path)
    separator = SEPARATORS[path.suffix.lower()]
    table = rows(ds)

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            if separator == "\t":
                handle.writelines("\t".join(row) + "\n" for row in table)
            else:
                csv.writer(handle, lineterminator="\n").writerows(table)

    return atomic_write(path, write)
