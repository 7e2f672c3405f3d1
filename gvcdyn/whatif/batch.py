"""The small-job road: every run of a what-if in ONE ``Model.run`` call, labelled."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import xarray as xr

from gvcdyn.progress import Progress, kernel_message, silent
from gvcdyn.whatif.request import WhatIf, prepare_what_if

__all__ = ["run_batch", "run_what_if"]


def run_what_if(
    model_path: str | Path,
    scenarios: Sequence[str | Path] = (),
    sets: Sequence[str] = (),
    sweeps: Sequence[str] = (),
    *,
    method: str = "euler",
    final_time: float | None = None,
    time_step: float | None = None,
    variables: Sequence[str] | None = None,
    allow_out_of_range: bool = False,
    data_files: Sequence[str | Path] = (),
    command_line: Sequence[str] | None = None,
    progress: Progress = silent,
) -> xr.Dataset:
    """Run every what-if of the request in one batch and return the labelled dataset.

    ``sets`` are ``NAME=VALUE`` strings, ``sweeps`` ``NAME=START:STOP:N`` strings (see
    ``gvcdyn.scenarios``); ``variables`` limits what is saved (default: everything);
    ``data_files`` are other runs' outputs the model's data variables read.
    """
    request = prepare_what_if(
        model_path,
        scenarios,
        sets,
        sweeps,
        method=method,
        final_time=final_time,
        time_step=time_step,
        variables=variables,
        allow_out_of_range=allow_out_of_range,
        data_files=data_files,
        command_line=command_line,
        progress=progress,
    )
    return run_batch(request, progress=progress)


def run_batch(request: WhatIf, *, progress: Progress = silent) -> xr.Dataset:
    """Every run of ``request`` in ONE ``Model.run`` call, labelled (the small-job road)."""
    model = request.model
    with progress(kernel_message(model, request.method)):
        ds = model.run(
            request.batch.params,
            method=request.method,
            final_time=request.final_time,
            time_step=request.time_step,
            variables=list(request.variables) if request.variables is not None else None,
            allow_out_of_range=request.allow_out_of_range,
        )
    return request.labelled(ds)
