"""A reality-check result as a table, and written to netCDF or CSV (atomically)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import xarray as xr

from gvcdyn.checks.run import all_hold
from gvcdyn.errors import OutputWriteError
from gvcdyn.io.results_io import atomic_write, write_netcdf

__all__ = ["ALL", "table", "write"]

#: the row label of "every check together" under perturbation
ALL = "(all checks together)"


def table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per check: ``holds`` and ``margin`` at the base, and under perturbation
    ``share`` (of draws where it holds); then a row for all checks together."""
    frame = pd.DataFrame(
        {
            "check": [str(c) for c in ds["check"].values],
            "holds": ds["holds"].values.astype(bool),
            "margin": ds["margin"].values,
        }
    )
    if "share" in ds:
        frame["share"] = ds["share"].values
    everything = {"check": ALL, "holds": bool(all_hold(ds["holds"].values)), "margin": float("nan")}
    if "share" in ds:
        everything["share"] = float(ds["share_all"].values)
    return pd.concat([frame, pd.DataFrame([everything])], ignore_index=True)


def write(ds: xr.Dataset, path: str | Path) -> Path:
    """Write to ``path``: netCDF (``.nc``, the whole dataset) or CSV (``.csv``, the table)."""
    path = Path(path)
    if path.suffix == ".nc":
        data = ds.copy()
        for name in ("holds", "holds_draw"):
            if name in data:  # netCDF has no bool type
                data[name] = data[name].astype("int8")
        return write_netcdf(data, path)
    if path.suffix == ".csv":
        frame = table(ds)
        return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))
    raise OutputWriteError(f"cannot write {path}: give a .nc or .csv file name")
