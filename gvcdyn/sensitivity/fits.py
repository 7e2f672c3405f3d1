"""Parameter values from a calibration fit file, as the base of a sensitivity study.

A fit (``gvcdyn calibrate --out results/fit.nc``) holds point estimates along a
``parameter`` dimension and, when it has them, draws that express their uncertainty
(bootstrap or profile-based) along one more dimension. A study at "the calibrated
parameters" fixes every non-varied parameter at the estimates; "how much the ranking
moves across the fit's uncertainty" repeats it at a few draws.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from gvcdyn.errors import ModelFileNotFoundError, SensitivityDesignError
from gvcdyn.io.results_io import read_netcdf

__all__ = ["fit_draws", "fit_estimates", "fit_model_sha256"]

_ESTIMATE_NAMES = ("estimate", "estimates", "value", "best")
_DRAW_DIMS = ("draw", "bootstrap", "sample", "replicate", "resample")


def _open(path: str | Path) -> xr.Dataset:
    return read_netcdf(
        path,
        "fit file",
        SensitivityDesignError,
        missing_error=ModelFileNotFoundError,
        hint="run 'gvcdyn calibrate' first",
    )


def fit_estimates(path: str | Path) -> dict[str, float]:
    """``{parameter name: estimate}`` from a fit file's ``estimate(parameter)`` variable."""
    ds = _open(path)
    for name in _ESTIMATE_NAMES:
        if name in ds.variables and ds[name].dims == ("parameter",):
            names = [str(n) for n in ds["parameter"].values]
            return dict(zip(names, np.asarray(ds[name].values, dtype=float).tolist(), strict=True))
    raise SensitivityDesignError(
        f"{path}: no variable 'estimate' with dimension 'parameter'; is it a calibration fit?"
    )


def fit_model_sha256(path: str | Path) -> str | None:
    """The SHA-256 of the model the fit was made for, when the file records it."""
    value = _open(path).attrs.get("model_sha256")
    return str(value) if value else None


def fit_draws(path: str | Path, limit: int | None = None) -> list[dict[str, float]]:
    """Parameter sets drawn from the fit's uncertainty (empty when it has none)."""
    ds = _open(path)
    names = [str(n) for n in ds["parameter"].values] if "parameter" in ds.coords else []
    preferred = [ds[v] for v in ("bootstrap_estimate",) if v in ds.data_vars]
    for var in [*preferred, *ds.data_vars.values()]:
        dims = var.dims
        if len(dims) == 2 and "parameter" in dims and any(d in _DRAW_DIMS for d in dims):
            values = np.asarray(var.transpose(..., "parameter").values, dtype=float)
            rows = values[np.all(np.isfinite(values), axis=1)]
            if limit is not None:
                rows = rows[:limit]
            return [dict(zip(names, row.tolist(), strict=True)) for row in rows]
    return []
