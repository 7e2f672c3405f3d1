"""Turn a kernel's raw arrays into a self-describing ``xarray.Dataset``, with provenance.

The kernel's output is ``values[run, saved time, column]``; each variable becomes a
view of its columns (no copy for fully defined variables), constants come straight from
the parameter matrix as ``(run,)`` data, and auxiliaries that do not change over time
are reported once per run. The global attributes record what produced the numbers.

Speed: ``xr.Dataset(data_vars, coords)`` aligns and merges every variable, about 20 us
each (4 ms of a 5 ms ``Model.run`` of one run of a 180-variable model). Here the
variables are built directly: what a variable needs from the model (its dims, attrs,
columns, the subscripts' indexes) is worked out once per model and list of variables,
the run and time indexes once per batch as xarray makes them
(``PandasIndex.from_variables``), and the dataset is assembled by xarray's own
constructor without the merge (``Dataset._construct_direct``, the one private xarray
name used; the tests check the result is identical to the public constructor's).
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr
from xarray.indexes import Index, PandasIndex

from gvcdyn._version import __version__
from gvcdyn.language import ir
from gvcdyn.status import MESSAGES

if TYPE_CHECKING:
    from gvcdyn.model import Model, RawResult

STATUS_ATTRS = {
    "flag_values": np.array(sorted(MESSAGES), dtype=np.int64),
    "flag_meanings": " | ".join(MESSAGES[k] for k in sorted(MESSAGES)),
    "description": "per-run status: 0 ok; see flag_meanings",
}


@dataclass(frozen=True)
class _Entry:
    """How one reported variable is read from a batch's arrays."""

    name: str
    dims: tuple[str, ...]  # subscript dims only
    shape: tuple[int, ...]
    attrs: dict[str, str]
    parameter_columns: np.ndarray | None  # a constant read from the parameter matrix
    start: int  # else: its first column in ``values``
    defined: np.ndarray | None  # positions of its defined cells, None if all are
    n_cells: int
    time_varying: bool


@dataclass(frozen=True)
class _Layout:
    entries: tuple[_Entry, ...]
    coords: dict[str, list[str]]  # subscript dim -> elements, in order of appearance
    indexes: dict[str, Index]  # their indexes (immutable, so shared between results)


# per model, per list of reported variables (a model is not pickled with it)
_LAYOUTS: weakref.WeakKeyDictionary[Model, dict[tuple[str, ...], _Layout]] = (
    weakref.WeakKeyDictionary()
)


def _layout(model: Model, chosen: Sequence[ir.Variable]) -> _Layout:
    key = tuple(var.name for var in chosen)
    per_model = _LAYOUTS.setdefault(model, {})
    found = per_model.get(key)
    if found is None:
        found = per_model[key] = _make_layout(model, chosen)
    return found


def _make_layout(model: Model, chosen: Sequence[ir.Variable]) -> _Layout:
    coords: dict[str, list[str]] = {}
    entries = []
    start = 0
    for var in chosen:
        for dim, elements in zip(var.dims, var.coords, strict=True):
            coords.setdefault(dim, list(elements))
        columns = model.parameter_columns(var)
        n_defined = len(var.cells) - len(var.undefined)
        defined = None
        if var.undefined:
            defined = np.array([i for i, c in enumerate(var.cells) if c not in var.undefined])
        entries.append(
            _Entry(
                name=var.name,
                dims=tuple(var.dims),
                shape=tuple(len(c) for c in var.coords),
                attrs={"units": var.units, "description": var.doc, "kind": var.kind},
                parameter_columns=None if columns is None else np.array(columns, dtype=np.int64),
                start=start,
                defined=defined,
                n_cells=len(var.cells),
                time_varying=var.time_varying,
            )
        )
        if columns is None:
            start += n_defined
    indexes = {dim: _index(dim, elements) for dim, elements in coords.items()}
    return _Layout(tuple(entries), coords, indexes)


def build_dataset(
    model: Model,
    raw: RawResult,
    chosen: Sequence[ir.Variable],
    matrix: np.ndarray,
    method: str,
) -> xr.Dataset:
    """The dataset of one batch: dims ``run`` and ``time`` (plus subscript dims)."""
    layout = _layout(model, chosen)
    data_vars, coords = _pieces(layout, raw, matrix)
    variables: dict[str, xr.Variable] = {}
    sizes: dict[str, int] = {}
    for name, (dims, array, var_attrs) in data_vars.items():
        variables[name] = xr.Variable(dims, array, var_attrs, fastpath=True)
        for dim, size in zip(dims, array.shape, strict=True):
            sizes.setdefault(dim, size)
    indexes: dict[str, Index] = {}
    for dim, values in coords.items():
        index = layout.indexes[dim] if dim in layout.indexes else _index(dim, values)
        indexes[dim] = index
        variables[dim] = index.create_variables()[dim]  # a new variable: its own attrs
        sizes.setdefault(dim, len(values))
    variables["time"].attrs["units"] = model.ir.controls.time_units
    return xr.Dataset._construct_direct(
        variables,
        coord_names=set(coords),
        dims=sizes,
        attrs=provenance(model, raw, method),
        indexes=indexes,
    )


def _index(dim: str, values: Any) -> Index:
    """The default index of a dimension coordinate, as ``xr.Dataset`` makes it."""
    return PandasIndex.from_variables({dim: xr.Variable((dim,), values)}, options={})


def _pieces(
    layout: _Layout, raw: RawResult, matrix: np.ndarray
) -> tuple[dict[str, tuple], dict[str, Any]]:
    """The ``(dims, data, attrs)`` of every data variable, and the coordinates."""
    n_runs, n_times = raw.values.shape[:2]
    coords: dict[str, Any] = {"run": np.arange(n_runs), "time": raw.grid.save_times}
    coords.update(layout.coords)
    data_vars: dict[str, tuple] = {}
    for entry in layout.entries:
        attrs = dict(entry.attrs)
        if entry.parameter_columns is not None:
            array = matrix[:, entry.parameter_columns].reshape((n_runs, *entry.shape))
            data_vars[entry.name] = (("run", *entry.dims), array, attrs)
            continue
        block = _variable_block(raw.values, entry)
        if entry.time_varying:
            array = block.reshape((n_runs, n_times, *entry.shape))
            dims: tuple[str, ...] = ("run", "time", *entry.dims)
        else:
            array, dims = block[:, 0].reshape((n_runs, *entry.shape)), ("run", *entry.dims)
        data_vars[entry.name] = (dims, array, attrs)
    status_attrs = {
        k: v.copy() if isinstance(v, np.ndarray) else v for k, v in STATUS_ATTRS.items()
    }
    data_vars["status"] = (("run",), raw.status, status_attrs)
    return data_vars, coords


def _variable_block(values: np.ndarray, entry: _Entry) -> np.ndarray:
    """``(run, time, cell)`` of one variable: a view when every cell is defined."""
    n_defined = entry.n_cells if entry.defined is None else len(entry.defined)
    block = values[:, :, entry.start : entry.start + n_defined]
    if entry.defined is None:
        return block
    full = np.full((*values.shape[:2], entry.n_cells), np.nan)
    full[:, :, entry.defined] = block
    return full


def provenance(model: Model, raw: RawResult, method: str) -> dict[str, Any]:
    """What produced a batch: model, its hash, gvcdyn version, method, controls, date."""
    return {
        "model": model.ir.name,
        "model_file": _resolved(model.path, os.getcwd()) if model.path else "",
        "model_sha256": model.ir.source_hash,
        "gvcdyn_version": __version__,
        "method": method,
        "initial_time": raw.grid.initial_time,
        "final_time": raw.grid.final_time,
        "time_step": raw.grid.time_step,
        "saveper": raw.grid.saveper,
        "time_units": model.ir.controls.time_units,
        # JSON {file: sha256} of the data files the model read ("{}" if none)
        "data_files": json.dumps(dict(model.ir.data_files)),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


@functools.lru_cache(maxsize=64)
def _resolved(path: Path, cwd: str) -> str:
    """``path`` made absolute (a relative path depends on ``cwd``, part of the key)."""
    return str(path.resolve())
