"""The streamed writer of a sweep too big for memory: one ``NAME(run, time)`` variable per
saved cell (``NAME[a,b]`` for a subscripted cell), labelled as ``annotate`` labels a
dataset."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xarray as xr

from gvcdyn.dataset import provenance
from gvcdyn.execute import NetCDFSink, TimeSeriesLayout
from gvcdyn.io.results_io import netcdf_safe
from gvcdyn.model import RawResult
from gvcdyn.whatif.labels import request_attrs, run_coords

if TYPE_CHECKING:
    from gvcdyn.language.ir import Variable
    from gvcdyn.whatif.request import WhatIf

__all__ = ["cell_labels", "stream_sink"]


def cell_labels(var: Variable) -> list[str]:
    """Names of a variable's defined cells: ``Name``, or ``Name[a,b]`` per element."""
    if not var.dims:
        return [var.name]
    elements = itertools.product(*var.coords)
    return [
        f"{var.name}[{','.join(e)}]"
        for e, cell in zip(elements, var.cells, strict=True)
        if cell not in var.undefined
    ]


def stream_sink(request: WhatIf, path: Path) -> NetCDFSink:
    """A netCDF file with one ``(run, time)`` variable per saved cell, labelled as
    ``annotate`` labels a dataset (the labels are coordinates when read by xarray)."""

    model = request.model
    labels: list[str] = []
    described: dict[str, dict[str, Any]] = {}
    for var in request.computed():
        for label in cell_labels(var):
            labels.append(label)
            described[label] = {"units": var.units, "description": var.doc, "kind": var.kind}
    described["time"] = {"units": model.ir.controls.time_units}
    extra = run_coords(request.batch, model, as_objects=True)
    attrs = provenance(model, RawResult(None, None, request.grid, ()), request.method)
    attrs.update(request_attrs(request.batch, request.command_line, request.allow_out_of_range))
    attrs["layout"] = "every saved cell as NAME(run, time); streamed chunk by chunk"
    attrs["coordinates"] = " ".join(name for name in extra if name != "lever")
    attrs = netcdf_safe(xr.Dataset(attrs=attrs)).attrs
    return NetCDFSink(
        path,
        request.n_runs,
        layout=TimeSeriesLayout(labels, request.grid.save_times),
        attrs=attrs,
        extra=extra,
        variable_attrs={k: netcdf_safe(xr.Dataset(attrs=v)).attrs for k, v in described.items()},
    )
