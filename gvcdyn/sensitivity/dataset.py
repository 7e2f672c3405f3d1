"""Sensitivity results as self-describing ``xarray.Dataset``s, and their netCDF files.

Indices have dimensions ``parameter``, ``output`` and ``time`` (second-order indices
also ``parameter_2``); the ranges studied are coordinates of ``parameter``; the global
attributes say how the numbers were made (method, N, runs, seed, confidence level, the
base scenario or fit, model hash, gvcdyn version, command line), so a file read back
years later still explains itself.
"""

from __future__ import annotations

import datetime as _dt
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from gvcdyn._version import __version__
from gvcdyn.io.results_io import write_netcdf
from gvcdyn.sensitivity.estimator import SobolResult
from gvcdyn.sensitivity.runs import DesignRuns

__all__ = ["morris_dataset", "sobol_dataset", "write"]

_SOBOL_DOCS = {
    "S1": "first-order Sobol' index (Saltelli et al. 2010 estimator)",
    "ST": "total-order Sobol' index (Jansen estimator)",
    "S2": "second-order Sobol' index of parameter and parameter_2 (Saltelli 2002)",
}
_MORRIS_DOCS = {
    "mu": "mean elementary effect",
    "mu_star": "mean absolute elementary effect (ranks importance)",
    "sigma": "standard deviation of the elementary effects (interactions, non-linearity)",
    "mu_star_conf": "half-width of the bootstrap confidence interval of mu_star",
}


def sobol_dataset(
    study: Any,
    result: SobolResult,
    runs: DesignRuns,
    settings: Mapping[str, Any],
    command_line: Sequence[str] | None = None,
) -> xr.Dataset:
    """S1, S1_conf, ST, ST_conf (S2, S2_conf) over (parameter, output, time)."""
    D = study.design.D
    shape = (D, len(study.outputs), len(study.times))
    level = f"{100 * result.conf_level:g}%"
    data: dict[str, xr.DataArray] = {}
    for key in ("S1", "ST"):
        data[key] = _array(getattr(result, key).reshape(shape), _SOBOL_DOCS[key])
        data[f"{key}_conf"] = _array(
            getattr(result, f"{key}_conf").reshape(shape),
            f"half-width of the {level} bootstrap confidence interval of {key}",
        )
    if result.S2 is not None:
        shape2 = (D, D, len(study.outputs), len(study.times))
        dims2 = ("parameter", "parameter_2", "output", "time")
        data["S2"] = _array(result.S2.reshape(shape2), _SOBOL_DOCS["S2"], dims2)
        data["S2_conf"] = _array(
            result.S2_conf.reshape(shape2),
            f"half-width of the {level} bootstrap confidence interval of S2",
            dims2,
        )
    ds = xr.Dataset(data, coords=_coords(study, second=result.S2 is not None))
    ds.attrs = _attrs(study, runs, settings, command_line)
    ds.attrs["title"] = f"Sobol' sensitivity indices of {study.model.name}"
    return ds


def morris_dataset(
    study: Any,
    stats: Mapping[str, np.ndarray],
    runs: DesignRuns,
    settings: Mapping[str, Any],
    command_line: Sequence[str] | None = None,
) -> xr.Dataset:
    """mu, mu_star, sigma, mu_star_conf over (parameter, output, time)."""
    shape = (study.design.D, len(study.outputs), len(study.times))
    data = {k: _array(np.asarray(v).reshape(shape), _MORRIS_DOCS[k]) for k, v in stats.items()}
    ds = xr.Dataset(data, coords=_coords(study, second=False))
    ds.attrs = _attrs(study, runs, settings, command_line)
    ds.attrs["title"] = f"Morris elementary effects of {study.model.name}"
    return ds


def write(ds: xr.Dataset, path: str | Path) -> Path:
    """Write atomically (a temporary file renamed into place)."""
    return write_netcdf(ds, path)


def _array(values: np.ndarray, doc: str, dims: tuple[str, ...] | None = None) -> xr.DataArray:
    return xr.DataArray(
        values, dims=dims or ("parameter", "output", "time"), attrs={"description": doc}
    )


def _coords(study: Any, *, second: bool) -> dict[str, Any]:
    design = study.design
    if design.plain:
        names = np.array(study.space.names, dtype=str)
        params = [study.model.parameter(n) for n in study.space.names]
        low, high = study.space.bounds[:, 0], study.space.bounds[:, 1]
        units = [p.units for p in params]
    else:
        names = np.array(design.labels, dtype=str)
        low, high, units = _label_ranges(study)
    coords: dict[str, Any] = {
        "parameter": (
            "parameter",
            names,
            {
                "description": "varied model constant (lever)"
                if design.plain
                else "input of the design: a lever, a group of levers or an evidence source"
            },
        ),
        "output": (
            "output",
            np.array(study.outputs, dtype=str),
            {"description": "model variable whose variance is decomposed"},
        ),
        "time": (
            "time",
            np.asarray(study.times, dtype=float),
            {
                "units": study.model.ir.controls.time_units,
                "description": "time at which the output is read",
            },
        ),
        "parameter_min": (
            "parameter",
            np.asarray(low, dtype=float),
            {"description": "lower end of the range sampled"},
        ),
        "parameter_max": (
            "parameter",
            np.asarray(high, dtype=float),
            {"description": "upper end of the range sampled"},
        ),
        "parameter_units": ("parameter", np.array(units, dtype=str)),
    }
    if not design.plain:
        coords["parameter_distribution"] = (
            "parameter",
            np.array([design.describe(label) for label in design.labels], dtype=str),
            {"description": "how the input is sampled (SALib's distributions and groups)"},
        )
        coords["parameter_members"] = (
            "parameter",
            np.array([", ".join(design.members(label)) for label in design.labels], dtype=str),
            {"description": "the model constants the input sets"},
        )
    if second:
        coords["parameter_2"] = (
            "parameter_2",
            names,
            {"description": "second parameter of a pair (S2)"},
        )
    return coords


def _label_ranges(study: Any) -> tuple[list[float], list[float], list[str]]:
    """Per index label: the support of a single lever's distribution and its units;
    NaN and no units for a group or a source."""
    low, high, units = [], [], []
    for label in study.design.labels:
        items = [i for i in study.design.inputs if i.group == label]
        one = items[0]
        if len(items) == 1 and one.source is None and one.group == one.name:
            lo, hi = one.dist.support
            low.append(lo)
            high.append(hi)
            units.append(study.model.parameter(one.name).units)
        else:
            low.append(np.nan)
            high.append(np.nan)
            units.append("")
    return low, high, units


def _attrs(
    study: Any,
    runs: DesignRuns,
    settings: Mapping[str, Any],
    command_line: Sequence[str] | None,
) -> dict[str, Any]:
    model = study.model
    grid = study.evaluator.grid
    argv = command_line if command_line is not None else [Path(sys.argv[0]).name, *sys.argv[1:]]
    design_attrs: dict[str, Any] = {}
    choice = getattr(study, "choice", None)
    varied = list(choice.timing_varied) if choice is not None else []
    drawn = list(getattr(study, "timing_drawn", ()))
    if varied:
        design_attrs["timing_levers_varied"] = ", ".join(varied)
    if drawn:
        design_attrs["timing_levers_drawn"] = ", ".join(drawn)
    if varied or drawn:
        how = [f"varies timing lever{'s' * (len(varied) > 1)} {', '.join(varied)}"] * bool(varied)
        how += [f"draws {', '.join(drawn)} with the evidence rows"] * bool(drawn)
        design_attrs["timing_note"] = (
            f"this study {' and '.join(how)}: an index of a trigger's year mostly says "
            "whether the trigger has happened by the reading time"
        )
    if choice is not None and choice.timing_fixed:
        design_attrs["timing_levers_fixed"] = ", ".join(choice.timing_fixed)
    design = study.design
    if design.grouped:
        design_attrs["groups"] = "; ".join(
            f"{label}: {', '.join(design.members(label))}"
            for label in design.labels
            if len(design.members(label)) > 1 or label not in design.members(label)
        )
    for item in design.inputs:
        if item.source is not None:
            design_attrs[f"{item.source.kind}_source"] = item.source.path
            design_attrs[f"{item.source.kind}_note"] = item.source.note
    return {
        **settings,
        **design_attrs,
        "n_runs": runs.n_runs,
        "n_failed_runs": runs.n_failed_runs,
        "n_dropped_groups": runs.n_dropped_groups,
        "base": study.base_label,
        "levers_from": study.levers_source,
        "model": model.name,
        "model_file": str(Path(model.path).resolve()) if model.path else "",
        "model_sha256": model.ir.source_hash,
        "gvcdyn_version": __version__,
        "integration_method": study.evaluator.method,
        "time_step": grid.time_step,
        "command_line": shlex.join(argv),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
