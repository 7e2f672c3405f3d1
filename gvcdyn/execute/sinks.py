"""Where a job's finished chunks go: arrays in memory, or a netCDF file written chunk by chunk.

Chunks arrive in any order (dask finishes them as it likes); a sink puts each into its
rows, so the result is in run order whatever the completion order. ``NetCDFSink`` keeps
only one chunk in memory at a time, which is what lets a job larger than memory finish:
it writes into a file preallocated along ``run`` under a temporary name
(``gvcdyn.io.atomic.AtomicFile``) and renames it into place when every chunk is in, so the
requested name never holds a half-written file, and the file gets the mode of any new
file. It is written with the netCDF4 library (h5netcdf needs h5py, which
is not installed here) and opens in plain ``xarray.open_dataset``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from gvcdyn.errors import ExecutorError
from gvcdyn.io.atomic import AtomicFile

__all__ = ["MemorySink", "NetCDFSink", "Sink", "TimeSeriesLayout"]


class Sink(Protocol):
    def write(self, start: int, Y: np.ndarray, status: np.ndarray) -> None: ...

    def close(self) -> Any: ...

    def abort(self) -> None: ...


class MemorySink:
    """Collects the whole result in two arrays (allocated when the first chunk arrives)."""

    def __init__(self, n_runs: int) -> None:
        self.n_runs = n_runs
        self.Y: np.ndarray | None = None
        self.status = np.full(n_runs, -1, dtype=np.int64)

    def write(self, start: int, Y: np.ndarray, status: np.ndarray) -> None:
        if self.Y is None:
            self.Y = np.empty((self.n_runs, *Y.shape[1:]), dtype=Y.dtype)
        self.Y[start : start + len(Y)] = Y
        self.status[start : start + len(Y)] = status

    def close(self) -> tuple[np.ndarray, np.ndarray]:
        if self.Y is None:  # zero runs
            self.Y = np.empty((0, 0))
        return self.Y, self.status

    def abort(self) -> None:
        self.Y = None


class TimeSeriesLayout:
    """Columns of Y as ``variables x times`` (variable-major): one netCDF variable each.

    The analysis seam makes a time-resolved output as one outcome per (variable, time);
    this layout stores them as ``variable(run, time)`` rather than one wide matrix.
    """

    def __init__(self, variables: Sequence[str], times: Sequence[float]) -> None:
        self.variables = list(variables)
        self.times = np.asarray(times, dtype=np.float64)

    @property
    def width(self) -> int:
        return len(self.variables) * len(self.times)


class NetCDFSink:
    """Streams chunks into a netCDF file: ``Y(run, outcome)`` or one ``var(run, time)`` each.

    ``outcomes`` names the columns of Y (the ``outcome`` coordinate); ``layout`` splits
    them into time series instead. ``parameters`` (names) and ``X`` store the runs'
    inputs as ``parameter_value(run, parameter)``; ``attrs`` become global attributes.
    ``extra`` are further variables written with the file, ``name: (dims, values, attrs)``
    (per-run labels, coordinates; a dimension other than ``run`` takes the values' shape);
    ``variable_attrs`` (by name) describe the output variables and ``time`` (units...).
    """

    def __init__(
        self,
        path: str | Path,
        n_runs: int,
        *,
        outcomes: Sequence[str] | None = None,
        layout: TimeSeriesLayout | None = None,
        parameters: Sequence[str] | None = None,
        X: np.ndarray | None = None,
        attrs: Mapping[str, Any] | None = None,
        extra: Mapping[str, tuple[Sequence[str], Any, Mapping[str, Any]]] | None = None,
        variable_attrs: Mapping[str, Mapping[str, Any]] | None = None,
        rows_per_block: int = 10_000,
    ) -> None:
        import netCDF4

        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise ExecutorError(f"cannot write {self.path}: folder {self.path.parent} is missing")
        self.n_runs = n_runs
        self.outcomes = list(outcomes) if outcomes is not None else None
        self.layout = layout
        self._out = AtomicFile(self.path)
        try:  # a failure before the first chunk leaves no temporary file
            self._file = netCDF4.Dataset(self._out.tmp, "w", format="NETCDF4")
            self._rows = max(1, min(rows_per_block, n_runs))
            self._file.createDimension("run", n_runs)
            run = self._file.createVariable("run", "i8", ("run",))
            for start in range(0, n_runs, self._rows):
                run[start : start + self._rows] = np.arange(start, min(start + self._rows, n_runs))
            status = self._file.createVariable(
                "status", "i8", ("run",), chunksizes=(self._rows,), fill_value=-1
            )
            status.description = "per-run status: 0 ok, -1 not computed"
            for key, value in (attrs or {}).items():
                self._file.setncattr(key, value)
            if parameters is not None and X is not None:
                self._write_parameters(list(parameters), X)
            for name, (dims, values, var_attrs) in (extra or {}).items():
                self._write_extra(name, tuple(dims), np.asarray(values), var_attrs)
            self.variable_attrs = dict(variable_attrs or {})
            self._vars: list[Any] | None = None
        except BaseException:
            try:
                if getattr(self, "_file", None) is not None:
                    self._file.close()
            finally:
                self._out.discard()
            raise

    def _write_extra(
        self, name: str, dims: tuple[str, ...], values: np.ndarray, attrs: Mapping[str, Any]
    ) -> None:
        for dim, size in zip(dims, values.shape, strict=True):
            if dim not in self._file.dimensions:
                self._file.createDimension(dim, size)
        text = values.dtype.kind in "OSU"
        if text and dims == ("run",):
            self._write_run_text(name, values, attrs)
            return
        var = self._file.createVariable(name, str if text else values.dtype, dims)
        if dims[:1] == ("run",):  # in blocks, like the results
            for start in range(0, self.n_runs, self._rows):
                block = values[start : start + self._rows]
                var[start : start + self._rows] = block.astype(object) if text else block
                if start == 0:
                    _bound_cache(var)
        else:
            var[...] = values.astype(object) if text else values
        var.setncatts(dict(attrs))

    def _write_run_text(self, name: str, values: np.ndarray, attrs: Mapping[str, Any]) -> None:
        """A label per run as UTF-8 characters ``(run, stringN)``, written block by block.

        Not a netCDF string variable: xarray decodes those whole when it opens the file
        (``astype(str)`` of every label, 4 bytes per character of the longest: opening a
        1,000,000-run sweep took 600 MiB), while a character array with ``_Encoding``
        stays on disk until read and reads back as the same strings. ``N`` is the longest
        label in bytes (xarray's own name for such a dimension).
        """
        width = max(1, max((len(str(v).encode()) for v in values), default=1))
        dim = f"string{width}"
        if dim not in self._file.dimensions:
            self._file.createDimension(dim, width)
        var = self._file.createVariable(name, "S1", ("run", dim), chunksizes=(self._rows, width))
        var.set_auto_chartostring(False)
        for start in range(0, self.n_runs, self._rows):
            block = values[start : start + self._rows]
            chars = np.array([str(v).encode() for v in block], dtype=f"S{width}")
            var[start : start + len(block)] = chars.view("S1").reshape(len(block), width)
            if start == 0:
                _bound_cache(var)
        var.setncatts({"_Encoding": "utf-8", **dict(attrs)})

    def _write_parameters(self, names: list[str], X: np.ndarray) -> None:
        self._file.createDimension("parameter", len(names))
        coord = self._file.createVariable("parameter", str, ("parameter",))
        coord[:] = np.array(names, dtype=object)
        values = self._file.createVariable(
            "parameter_value", "f8", ("run", "parameter"), chunksizes=(self._rows, len(names))
        )
        for start in range(0, self.n_runs, self._rows):
            values[start : start + self._rows, :] = X[start : start + self._rows]
            if start == 0:
                _bound_cache(values)
        values.description = "value of each varied parameter in each run"

    def _create_outputs(self, Y: np.ndarray) -> None:
        f = self._file
        if self.layout is not None:
            if Y.ndim != 2 or Y.shape[1] != self.layout.width:
                raise ExecutorError(
                    f"results have {Y.shape[1:]} columns per run but the layout expects "
                    f"{len(self.layout.variables)} variables x {len(self.layout.times)} times"
                )
            f.createDimension("time", len(self.layout.times))
            time = f.createVariable("time", "f8", ("time",))
            time[:] = self.layout.times
            time.setncatts(dict(self.variable_attrs.get("time", {})))
            self._vars = [
                f.createVariable(
                    name.replace("/", "_"),
                    "f8",
                    ("run", "time"),
                    chunksizes=(self._rows, len(self.layout.times)),
                    fill_value=np.nan,
                )
                for name in self.layout.variables
            ]
            for var, name in zip(self._vars, self.layout.variables, strict=True):
                var.vensim_name = name
                var.setncatts(dict(self.variable_attrs.get(name, {})))
            return
        width = int(np.prod(Y.shape[1:]))
        names = self.outcomes or [f"y{i}" for i in range(width)]
        if len(names) != width:
            raise ExecutorError(f"{len(names)} outcome names for {width} result columns")
        f.createDimension("outcome", width)
        f.createVariable("outcome", str, ("outcome",))[:] = np.array(names, dtype=object)
        self._vars = [
            f.createVariable(
                "value", "f8", ("run", "outcome"), chunksizes=(self._rows, width), fill_value=np.nan
            )
        ]

    def write(self, start: int, Y: np.ndarray, status: np.ndarray) -> None:
        Y = Y.reshape(len(Y), -1)
        first = self._vars is None
        if first:
            self._create_outputs(Y)
        stop = start + len(Y)
        if self.layout is not None:
            n_times = len(self.layout.times)
            for j, var in enumerate(self._vars):
                var[start:stop, :] = Y[:, j * n_times : (j + 1) * n_times]
        else:
            self._vars[0][start:stop, :] = Y
        self._file.variables["status"][start:stop] = status
        if first:
            for var in [*self._vars, self._file.variables["status"]]:
                _bound_cache(var)

    def close(self) -> Path:
        try:
            self._file.close()
        except BaseException:
            self._out.discard()
            raise
        return self._out.commit()

    def abort(self) -> None:
        try:
            self._file.close()
        finally:
            self._out.discard()


def _bound_cache(var: Any) -> None:
    """Give a netCDF variable a chunk cache of two of its chunks (at least 1 MiB).

    netCDF's default is 64 MiB per variable, and HDF5 holds the chunks written there
    until the cache is full or the file closes: a streamed job kept up to 64 MiB per
    output variable in memory (100,000 runs x 41 times x 5 variables: all 164 MB of it,
    nothing on disk before the close). Two chunks let a job's chunk that straddles two
    of the file's be completed in memory. Set after a first write: netCDF applies it to
    a variable that exists in the file, not to one still being defined.
    """
    chunking = var.chunking()
    if chunking == "contiguous":
        return
    size = int(np.prod(chunking)) * (var.dtype.itemsize if var.dtype is not str else 16)
    var.set_var_chunk_cache(size=max(2 * size, 1 << 20), nelems=101, preemption=1.0)
