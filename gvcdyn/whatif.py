"""What-if runs: scenario files, ``--set`` and ``--sweep`` through one batch, to a dataset.

``run_what_if`` is the whole workflow behind ``gvcdyn run`` and ``gvcdyn demo``: read the
scenario files, load the model, lay out and validate every run (``scenarios.build_batch``;
a typo fails in a second, before any compile), run them in ONE ``Model.run`` call and
label the result (``annotate``): which scenario each run belongs to, the value of every
lever the request touched, what was swept, and how to reproduce it (command line and
working directory). Printing and writing files are the caller's business.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from gvcdyn.bundled import GVC_OUTCOMES
from gvcdyn.progress import Progress, kernel_message, silent
from gvcdyn.scenarios import Batch, build_batch, read_scenario

__all__ = ["annotate", "describe_request", "run_what_if", "shown_variables"]


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
    command_line: Sequence[str] | None = None,
    progress: Progress = silent,
) -> xr.Dataset:
    """Run every what-if of the request in one batch and return the labelled dataset.

    ``sets`` are ``NAME=VALUE`` strings, ``sweeps`` ``NAME=START:STOP:N`` strings (see
    ``gvcdyn.scenarios``); ``variables`` limits what is saved (default: everything).
    """
    import gvcdyn

    read = [read_scenario(p) for p in scenarios]
    with progress(f"reading {model_path}"):
        model = gvcdyn.load(model_path)
    batch = build_batch(model, read, sets, sweeps, allow_out_of_range=allow_out_of_range)
    chosen = list(variables) if variables is not None else None
    if chosen is not None:
        for name in chosen:  # fail before compiling, with the close names
            model.output_columns([name])
    with progress(kernel_message(model, method)):
        ds = model.run(
            batch.params,
            method=method,
            final_time=final_time,
            time_step=time_step,
            variables=chosen,
            allow_out_of_range=allow_out_of_range,
        )
    return annotate(
        ds, batch, model, command_line=command_line, allow_out_of_range=allow_out_of_range
    )


def annotate(
    ds: xr.Dataset,
    batch: Batch,
    model: Any,
    *,
    command_line: Sequence[str] | None = None,
    allow_out_of_range: bool = False,
) -> xr.Dataset:
    """Attach run labels, lever values, what was swept and provenance to a run's result.

    Lever values become coordinates ``lever_value(run, lever)`` indexed by the lever
    names: netCDF's ``coordinates`` attribute is space separated, so Vensim names with
    spaces cannot be coordinates of their own. ``scenario`` labels each run and
    ``base_scenario`` names the scenario it starts from (without the swept values).
    """
    ds = ds.copy()
    coords: dict[str, Any] = {
        "scenario": (
            "run",
            np.array(batch.labels, dtype=str),
            {"description": "label of each run: scenario name and swept values"},
        ),
        "base_scenario": (
            "run",
            np.array(batch.bases, dtype=str),
            {"description": "the scenario (or 'default') each run starts from"},
        ),
        "scenario_description": (
            "run",
            np.array(batch.descriptions, dtype=str),
            {"description": "description from the scenario file"},
        ),
    }
    if batch.levers:
        params = [model.parameter(name) for name in batch.levers]
        coords["lever"] = (
            "lever",
            np.array(batch.levers, dtype=str),
            {"description": "model constants set by the what-if request"},
        )
        coords["lever_value"] = (
            ("run", "lever"),
            np.stack([batch.params[name] for name in batch.levers], axis=1),
            {
                "description": "value of each lever in each run (the model default where "
                "the run does not set it)"
            },
        )
        coords["lever_units"] = (
            "lever",
            np.array([p.units for p in params], dtype=str),
            {"description": "units of each lever"},
        )
        coords["lever_default"] = (
            "lever",
            np.array([p.default for p in params]),
            {"description": "the model's default value of each lever"},
        )
    ds = ds.assign_coords(coords)
    argv = command_line if command_line is not None else [Path(sys.argv[0]).name, *sys.argv[1:]]
    ds.attrs["command_line"] = shlex.join(argv)
    ds.attrs["working_directory"] = os.getcwd()
    ds.attrs["swept_levers"] = list(batch.swept)
    ds.attrs["allow_out_of_range"] = int(allow_out_of_range)
    ds.attrs["n_runs"] = int(ds.sizes["run"])
    ds.attrs.setdefault("title", f"gvcdyn what-if runs of {ds.attrs.get('model', 'a model')}")
    return ds


def shown_variables(ds: xr.Dataset, variables: Sequence[str] | None, limit: int = 6) -> list[str]:
    """The variables a summary shows: the requested ones, else the main outcomes.

    The GVC model's main outcomes when present; otherwise the model's stocks (the state
    is what a modeler looks at first), at most ``limit``.
    """
    from gvcdyn.results_io import default_outcomes

    if variables is not None:
        return list(variables)
    return default_outcomes(ds, preferred=GVC_OUTCOMES, limit=limit)


def describe_request(ds: xr.Dataset, name: str) -> str:
    """A title that says what was varied: the model (or name) and the swept levers' ranges."""
    swept = [str(s) for s in np.atleast_1d(ds.attrs.get("swept_levers", [])) if str(s)]
    if not swept or "lever" not in ds.coords:
        return name
    levers = [str(v) for v in ds["lever"].values]
    parts = []
    for lever in swept:
        values = np.unique(ds["lever_value"].values[:, levers.index(lever)])
        parts.append(f"{lever} {values.min():g} to {values.max():g} ({len(values)} values)")
    return f"{name}: sweep of " + " x ".join(parts)
