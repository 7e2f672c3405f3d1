"""What a what-if's result says about itself: run labels, lever values, what was swept,
how to reproduce it (command line, working directory), and the summary's titles and
shown variables."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from gvcdyn.bundled import GVC_OUTCOMES
from gvcdyn.io.results_io import default_outcomes
from gvcdyn.whatif.scenarios import Batch

if TYPE_CHECKING:
    from gvcdyn.model import Model

__all__ = [
    "annotate",
    "describe_request",
    "request_attrs",
    "run_coords",
    "shown_variables",
    "sweep_title",
]


def annotate(
    ds: xr.Dataset,
    batch: Batch,
    model: Model,
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
    ds = ds.assign_coords(run_coords(batch, model))
    ds.attrs.update(request_attrs(batch, command_line, allow_out_of_range))
    ds.attrs["n_runs"] = int(ds.sizes["run"])
    ds.attrs.setdefault("title", f"gvcdyn what-if runs of {ds.attrs.get('model', 'a model')}")
    return ds


def run_coords(batch: Batch, model: Model, *, as_objects: bool = False) -> dict[str, tuple]:
    """``name: (dims, values, attrs)`` of the run labels and lever values of a batch.

    ``as_objects``: the per-run labels as an object array of the batch's own strings
    (8 bytes a run) instead of fixed-width text (4 bytes per character of the longest
    label: 290 MB for the three labels of a 1,000,000-run sweep), for the streamed writer.
    """
    text = object if as_objects else str
    coords: dict[str, tuple] = {
        "scenario": (
            ("run",),
            np.array(batch.labels, dtype=text),
            {"description": "label of each run: scenario name and swept values"},
        ),
        "base_scenario": (
            ("run",),
            np.array(batch.bases, dtype=text),
            {"description": "the scenario (or 'default') each run starts from"},
        ),
        "scenario_description": (
            ("run",),
            np.array(batch.descriptions, dtype=text),
            {"description": "description from the scenario file"},
        ),
    }
    if batch.levers:
        params = batch.parameters  # resolved once, by build_batch
        coords["lever"] = (
            ("lever",),
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
            ("lever",),
            np.array([p.units for p in params], dtype=str),
            {"description": "units of each lever"},
        )
        coords["lever_default"] = (
            ("lever",),
            np.array([p.default for p in params]),
            {"description": "the model's default value of each lever"},
        )
    return coords


def request_attrs(
    batch: Batch, command_line: Sequence[str] | None, allow_out_of_range: bool
) -> dict[str, Any]:
    """How to reproduce a what-if: command line, working directory, what was swept."""
    argv = command_line if command_line is not None else [Path(sys.argv[0]).name, *sys.argv[1:]]
    return {
        "command_line": shlex.join(argv),
        "working_directory": os.getcwd(),
        "swept_levers": list(batch.swept),
        "allow_out_of_range": int(allow_out_of_range),
        "n_runs": int(batch.n_runs),
    }


def shown_variables(ds: xr.Dataset, variables: Sequence[str] | None, limit: int = 6) -> list[str]:
    """The variables a summary shows: the requested ones, else the main outcomes.

    The GVC model's main outcomes when present; otherwise the model's stocks (the state
    is what a modeler looks at first), at most ``limit``.
    """

    if variables is not None:
        return list(variables)
    return default_outcomes(ds, preferred=GVC_OUTCOMES, limit=limit)


def describe_request(ds: xr.Dataset, name: str) -> str:
    """A title that says what was varied: the model (or name) and the swept levers' ranges."""
    swept = [str(s) for s in np.atleast_1d(ds.attrs.get("swept_levers", [])) if str(s)]
    if not swept or "lever" not in ds.coords:
        return name
    levers = [str(v) for v in ds["lever"].values]
    return sweep_title(
        name, {lever: ds["lever_value"].values[:, levers.index(lever)] for lever in swept}
    )


def sweep_title(name: str, swept: dict[str, np.ndarray]) -> str:
    """``name: sweep of A 0 to 1 (5 values) x B ...`` (just ``name`` when nothing is swept)."""
    parts = []
    for lever, column in swept.items():
        values = np.unique(column)
        parts.append(f"{lever} {values.min():g} to {values.max():g} ({len(values)} values)")
    return f"{name}: sweep of " + " x ".join(parts) if parts else name
