"""Results on disk: self-describing netCDF written atomically, plus summary tables.

A results file must outlive gvcdyn: it opens with plain ``xarray.open_dataset`` (no
gvcdyn import), carries its own provenance (model hash, gvcdyn version, command line,
method, time step, date) and the lever values of every run, and reading it back gives
the data that was written. It is written through ``gvcdyn.io.atomic`` (a temporary name in
the target directory, flushed and renamed into place), so an interrupted run never leaves
a half-written file under the requested name.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from gvcdyn.errors import OutputWriteError
from gvcdyn.io import atomic as _atomic
from gvcdyn.io.tomlfile import not_found

__all__ = [
    "atomic_write",
    "check_writable",
    "default_outcomes",
    "final_values",
    "netcdf_safe",
    "read_netcdf",
    "units_of",
    "unreadable_netcdf",
    "write_netcdf",
]


def _safe_value(value: Any) -> Any:
    """One attribute value in a form every netCDF engine accepts."""
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, Mapping):
        return json.dumps(value, default=str, sort_keys=True)
    if isinstance(value, str | int | float | np.integer | np.floating):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf":
            return value.astype(np.int64) if value.dtype.kind == "b" else value
        return json.dumps(value.tolist(), default=str)
    if isinstance(value, list | tuple):
        items = list(value)
        if items and all(isinstance(v, int | float) and not isinstance(v, bool) for v in items):
            return np.asarray(items)
        if all(isinstance(v, str) for v in items):
            return ", ".join(items)
        return json.dumps(items, default=str)
    return str(value)


def netcdf_safe(ds: xr.Dataset) -> xr.Dataset:
    """Make every attribute netCDF-legal and every name writable.

    No None, bools or nested containers in attributes (netCDF has none of them), and no
    ``/`` in variable names (HDF5 reads it as a group path; replaced by ``_``, the
    original kept in the ``vensim_name`` attribute).
    """
    ds = ds.copy()
    ds.attrs = {str(k): _safe_value(v) for k, v in ds.attrs.items()}
    for name in list(ds.variables):
        ds[name].attrs = {str(k): _safe_value(v) for k, v in ds[name].attrs.items()}
    renames = {name: str(name).replace("/", "_") for name in ds.variables if "/" in str(name)}
    if renames:
        for old in renames:
            ds[old].attrs["vensim_name"] = str(old)
        ds = ds.rename(renames)
    return ds


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file next to ``path``, then rename it into place
    (``gvcdyn.io.atomic``: flushed to disk, the mode of a new file, folder flushed).

    The temporary file is in the same directory, so ``os.replace`` is an atomic rename;
    on any error (or Ctrl-C) it is removed and ``path`` is untouched. Missing folders
    are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return _atomic.atomic_write(path, write)


def check_writable(path: str | Path) -> Path:
    """Fail now, not after a long run, if ``path`` cannot be written.

    Creates the missing parent folders and a throwaway file beside ``path`` (removed at
    once). Raises ``OutputWriteError`` naming the path and the reason.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputWriteError(f"cannot write {path}: {exc.strerror or exc}") from None
    if path.is_dir():
        raise OutputWriteError(f"cannot write {path}: it is a folder; give a file name")
    return path


def write_netcdf(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` to ``path`` as netCDF-4, atomically; returns the path."""
    safe = netcdf_safe(ds)
    encoding = {
        name: {"zlib": True, "complevel": 4}
        for name, var in safe.data_vars.items()
        if var.dtype.kind in "fiu"
    }

    def write(tmp: Path) -> None:
        safe.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=encoding)

    return atomic_write(path, write)


def read_netcdf(
    path: str | Path,
    what: str,
    error: type[Exception],
    *,
    missing_error: type[Exception] | None = None,
    hint: str = "",
) -> xr.Dataset:
    """The netCDF file ``path`` loaded into memory, or ``error`` naming ``what`` and why not.

    One reader for the fit files the analyses take back, so a missing or unreadable file
    gets the same message from predict, reality checks and sensitivity; each layer passes its own
    error class (``missing_error`` for a missing file when it differs) and a ``hint``
    saying what to run first.
    """
    path = Path(path)
    if not path.is_file():
        tail = f"; {hint}" if hint and not path.is_dir() else ""
        raise (missing_error or error)(f"{not_found(what, path)}{tail}")
    try:
        return xr.load_dataset(path)
    except Exception as exc:
        if not unreadable_netcdf(exc):
            raise
        raise error(f"{what} {path} is not a readable netCDF file: {exc}") from exc


def unreadable_netcdf(exc: BaseException) -> bool:
    """Whether ``exc``, raised by ``xarray.load_dataset``, says the file is not netCDF it
    can read: an ``OSError`` or ``ValueError`` (a missing, truncated or foreign file), or
    netCDF4's ``RuntimeError`` / ``AttributeError`` ("NetCDF: HDF error", "NetCDF: Can't
    open HDF5 attribute") for a file whose header opens but whose data or attributes are
    damaged (bytes overwritten), which otherwise ended a command in a traceback. Other
    errors are bugs and stay tracebacks."""
    if isinstance(exc, OSError | ValueError):
        return True
    return isinstance(exc, RuntimeError | AttributeError) and "NetCDF:" in str(exc)


# --------------------------------------------------------------------------- summaries


def default_outcomes(ds: xr.Dataset, preferred: Sequence[str] = (), limit: int = 6) -> list[str]:
    """The variables a summary shows when the user names none.

    The ``preferred`` ones that are present (a model's main outcomes); otherwise the
    model's stocks (the state is what a modeler looks at first), at most ``limit``.
    """
    present = [name for name in preferred if name in ds.data_vars]
    if present:
        return present
    stocks = [str(n) for n, v in ds.data_vars.items() if v.attrs.get("kind") == "stock"]
    if stocks:
        return stocks[:limit]
    timed = [str(n) for n, v in ds.data_vars.items() if "time" in v.dims]
    return timed[:limit]


def final_values(ds: xr.Dataset, variables: Sequence[str]) -> pd.DataFrame:
    """Final-time value of each variable per run, indexed by the run's label.

    Subscripted variables become one column per element (``Var[a,b]``); constants show
    their value.
    """
    labels = ds["scenario"].values if "scenario" in ds.coords else ds["run"].values
    columns: dict[str, np.ndarray] = {}
    for name in variables:
        var = ds[name]
        if "time" in var.dims:
            var = var.isel(time=-1)
        extra = [d for d in var.dims if d != "run"]
        if not extra:
            columns[name] = np.asarray(var.values, dtype=float)
            continue
        stacked = var.stack(_cell=extra).transpose("run", "_cell")
        for i, cell in enumerate(stacked["_cell"].values):
            cell = cell if isinstance(cell, tuple) else (cell,)
            columns[f"{name}[{','.join(str(c) for c in cell)}]"] = np.asarray(
                stacked.values[:, i], dtype=float
            )
    frame = pd.DataFrame(columns, index=pd.Index([str(x) for x in labels], name="scenario"))
    return frame


def units_of(ds: xr.Dataset, name: str) -> str:
    """The units attribute of a variable ('' when absent)."""
    base = name.split("[", 1)[0]
    if base in ds.variables:
        return str(ds[base].attrs.get("units", "") or "")
    return ""
