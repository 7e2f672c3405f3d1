"""Turn a kernel's raw arrays into a self-describing ``xarray.Dataset``, with provenance.

The kernel's output is ``values[run, saved time, column]``; each variable becomes a
view of its columns (no copy for fully defined variables), constants come straight from
the parameter matrix as ``(run,)`` data, and auxiliaries that do not change over time
are reported once per run. The global attributes record what produced the numbers.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from gvcdyn import ir
from gvcdyn._version import __version__
from gvcdyn.status import MESSAGES

if TYPE_CHECKING:
    from gvcdyn.model import Model, RawResult


def build_dataset(
    model: Model,
    raw: RawResult,
    chosen: Sequence[ir.Variable],
    matrix: np.ndarray,
    method: str,
) -> xr.Dataset:
    """The dataset of one batch: dims ``run`` and ``time`` (plus subscript dims)."""
    n_runs, n_times = raw.values.shape[:2]
    coords: dict[str, Any] = {"run": np.arange(n_runs), "time": raw.grid.save_times}
    # (dims, data, attrs) tuples: xarray wraps them without aligning DataArrays
    data_vars: dict[str, tuple] = {}
    start = 0
    for var in chosen:
        for dim, elements in zip(var.dims, var.coords, strict=True):
            coords.setdefault(dim, list(elements))
        attrs = {"units": var.units, "description": var.doc, "kind": var.kind}
        shape = tuple(len(c) for c in var.coords)
        columns = model.parameter_columns(var)
        if columns is not None:
            array = matrix[:, columns].reshape((n_runs, *shape))
            data_vars[var.name] = (("run", *var.dims), array, attrs)
            continue
        n_defined = len(var.cells) - len(var.undefined)
        block = _variable_block(raw.values, var, start, n_defined)
        start += n_defined
        if var.time_varying:
            array, dims = block.reshape((n_runs, n_times, *shape)), ("run", "time", *var.dims)
        else:
            array, dims = block[:, 0].reshape((n_runs, *shape)), ("run", *var.dims)
        data_vars[var.name] = (dims, array, attrs)
    data_vars["status"] = (
        ("run",),
        raw.status,
        {
            "flag_values": np.array(sorted(MESSAGES), dtype=np.int64),
            "flag_meanings": " | ".join(MESSAGES[k] for k in sorted(MESSAGES)),
            "description": "per-run status: 0 ok; see flag_meanings",
        },
    )
    ds = xr.Dataset(data_vars, coords=coords, attrs=provenance(model, raw, method))
    ds["time"].attrs["units"] = model.ir.controls.time_units
    return ds


def _variable_block(values: np.ndarray, var: ir.Variable, start: int, n_defined: int) -> np.ndarray:
    """``(run, time, cell)`` of one variable: a view when every cell is defined."""
    if not var.undefined:
        return values[:, :, start : start + n_defined]
    block = np.full((*values.shape[:2], len(var.cells)), np.nan)
    defined = [i for i, c in enumerate(var.cells) if c not in var.undefined]
    block[:, :, defined] = values[:, :, start : start + n_defined]
    return block


def provenance(model: Model, raw: RawResult, method: str) -> dict[str, Any]:
    """What produced a batch: model, its hash, gvcdyn version, method, controls, date."""
    return {
        "model": model.ir.name,
        "model_file": str(model.path.resolve()) if model.path else "",
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
