"""The public face of a compiled model: ``load(path)``, ``Model.parameters``, ``Model.run``.

``Model.simulate`` is the lean path (a parameter matrix in, raw arrays out) that
calibration and sensitivity analysis call many times; ``Model.run`` wraps it with name
checking and returns a self-describing ``xarray.Dataset``.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from gvcdyn import codegen, ir
from gvcdyn.compiler import compile_headroom, load_kernel_module
from gvcdyn.errors import (
    ParameterValueError,
    SimulationSettingsError,
    UnknownParameterError,
    UnknownVariableError,
)
from gvcdyn.frontend import read_abstract_model
from gvcdyn.lower import lower
from gvcdyn.status import MESSAGES, describe
from gvcdyn.subscripts import name_key
from gvcdyn.timegrid import TimeGrid, evaluate, make_grid

ParamsLike = Mapping[str, float | Sequence[float] | np.ndarray] | pd.DataFrame | None


@dataclass(frozen=True)
class RawResult:
    """What the kernel produced for a batch: ``values[run, time, column]`` and ``status[run]``."""

    values: np.ndarray
    status: np.ndarray
    grid: TimeGrid
    columns: tuple[str, ...]


def load(path: str | Path) -> Model:
    """Read a Vensim ``.mdl`` file and prepare its compiled kernel (cached per machine)."""
    abstract, digest = read_abstract_model(path)
    model_ir = lower(abstract, digest, Path(path).stem)
    return Model(model_ir, Path(path))


class Model:
    """A model lowered to gvcdyn's IR with its generated kernel source."""

    def __init__(self, model_ir: ir.ModelIR, path: Path | None = None) -> None:
        self.ir = model_ir
        self.path = path
        self.source = codegen.generate(model_ir)
        self._cells = codegen.visible_cells(model_ir)
        self._cell_index = {cell: i for i, cell in enumerate(self._cells)}
        self._param_index = {name_key(p.name): p for p in model_ir.parameters}
        self._var_index = {name_key(v.name): v for v in model_ir.variables}
        self._module: Any = None

    def __repr__(self) -> str:
        return (
            f"<gvcdyn.Model {self.ir.name!r}: {len(self.ir.variables)} variables, "
            f"{len(self.ir.stocks)} stocks, {len(self.ir.parameters)} parameters>"
        )

    # ------------------------------------------------------------------ description
    @property
    def name(self) -> str:
        return self.ir.name

    @property
    def parameters(self) -> tuple[ir.Parameter, ...]:
        """Constants of the model: name, default, min, max, units, documentation."""
        return self.ir.parameters

    @property
    def variables(self) -> tuple[ir.Variable, ...]:
        return self.ir.variables

    def parameter_table(self) -> pd.DataFrame:
        """The parameters as a table, one row each."""
        rows = [
            {
                "name": p.name,
                "default": p.default,
                "min": p.minimum,
                "max": p.maximum,
                "units": p.units,
                "doc": p.doc,
            }
            for p in self.parameters
        ]
        return pd.DataFrame(rows, columns=["name", "default", "min", "max", "units", "doc"])

    def parameter(self, name: str) -> ir.Parameter:
        """Look a parameter up by name (case and spaces/underscores ignored)."""
        found = self._param_index.get(name_key(name))
        if found is None:
            raise UnknownParameterError(
                _unknown("parameter", name, [p.name for p in self.parameters])
            )
        return found

    def defaults(self) -> np.ndarray:
        return np.array([p.default for p in self.parameters], dtype=np.float64)

    # ------------------------------------------------------------------ compiled kernel
    def kernel(self, method: str):
        """The compiled batch function for ``method`` (compiled on first use, then cached)."""
        if method not in codegen.METHODS:
            raise SimulationSettingsError(
                f"unknown integration method '{method}'; choose one of {', '.join(codegen.METHODS)}"
            )
        if self._module is None:
            self._module = load_kernel_module(self.source)
        return getattr(self._module, f"batch_{method}")

    # ------------------------------------------------------------------ inputs
    def parameter_matrix(
        self, params: ParamsLike = None, *, allow_out_of_range: bool = False
    ) -> np.ndarray:
        """One row of parameter values per run, from a dict of scalars/arrays or a DataFrame."""
        if params is None:
            params = {}
        if isinstance(params, pd.DataFrame):
            columns = {str(c): params[c].to_numpy() for c in params.columns}
            n_runs = len(params)
        elif isinstance(params, Mapping):
            columns = {str(k): np.asarray(v) for k, v in params.items()}
            lengths = {v.shape[0] for v in columns.values() if v.ndim == 1}
            if any(v.ndim > 1 for v in columns.values()):
                bad = next(k for k, v in columns.items() if v.ndim > 1)
                raise ParameterValueError(f"parameter '{bad}': give a number or a 1-D sequence")
            if len(lengths) > 1:
                raise ParameterValueError(
                    f"parameter arrays have different lengths {sorted(lengths)}; "
                    "every varied parameter needs one value per run"
                )
            n_runs = lengths.pop() if lengths else 1
        else:
            raise ParameterValueError(
                "params must be a dict of parameter values or a pandas DataFrame, "
                f"not {type(params).__name__}"
            )
        if n_runs < 1:
            raise ParameterValueError("params describe zero runs")
        matrix = np.tile(self.defaults(), (n_runs, 1))
        seen: dict[str, str] = {}
        for key, value in columns.items():
            param = self.parameter(key)
            if param.name in seen:
                raise ParameterValueError(
                    f"parameter '{param.name}' is given twice (as '{seen[param.name]}' and "
                    f"'{key}'); give it once"
                )
            seen[param.name] = key
            try:
                column = np.broadcast_to(np.asarray(value, dtype=np.float64), (n_runs,))
            except (TypeError, ValueError):
                raise ParameterValueError(
                    f"parameter '{param.name}': values must be numbers, got {value!r}"
                ) from None
            if not allow_out_of_range:
                _check_range(param, column)
            if param.variable in self.ir.structural and np.any(column != param.default):
                raise ParameterValueError(
                    f"parameter '{param.name}' fixes the model's structure (an order of SMOOTH N "
                    "or DELAY N) and cannot be changed at run time; edit the model instead"
                )
            matrix[:, param.column] = column
        return matrix

    def grid(
        self,
        matrix: np.ndarray,
        *,
        final_time: float | None = None,
        time_step: float | None = None,
        saveper: float | None = None,
    ) -> TimeGrid:
        """The batch's time grid: model controls, overridden by explicit settings."""
        values = self._uniform_values(matrix)
        varying = frozenset(p.symbol for p in self.parameters if p.symbol not in values)
        controls = self.ir.controls
        t0 = evaluate(controls.initial_time, self.ir, values, 0.0, varying)
        dt = (
            float(time_step)
            if time_step is not None
            else evaluate(controls.time_step, self.ir, values, t0, varying)
        )
        values["time_step"] = dt
        if saveper is None:
            # SAVEPER = TIME STEP follows an overridden step: values["time_step"] is dt
            saveper = evaluate(controls.saveper, self.ir, values, t0, varying)
        values["saveper"] = float(saveper)
        if final_time is None:
            final_time = evaluate(controls.final_time, self.ir, values, t0, varying)
        return make_grid(t0, float(final_time), dt, float(saveper))

    def _uniform_values(self, matrix: np.ndarray) -> dict[str, float]:
        """Parameter values shared by all runs (controls may only depend on those)."""
        values: dict[str, float] = {}
        for p in self.parameters:
            column = matrix[:, p.column]
            if np.all(column == column[0]):
                values[p.symbol] = float(column[0])
        return values

    def output_columns(
        self, variables: Sequence[str] | None
    ) -> tuple[list[ir.Variable], np.ndarray]:
        """The variables to report and the kernel's cell indices for them."""
        if variables is None:
            chosen = list(self.ir.variables)
        else:
            if isinstance(variables, str):
                variables = [variables]
            chosen = []
            for name in variables:
                var = self._var_index.get(name_key(name))
                if var is None:
                    raise UnknownVariableError(
                        _unknown("variable", name, [v.name for v in self.ir.variables])
                    )
                chosen.append(var)
        cells = [self._cell_index[c] for var in chosen for c in var.cells if c not in var.undefined]
        return chosen, np.array(cells, dtype=np.int64)

    # ------------------------------------------------------------------ running
    def simulate(
        self,
        matrix: np.ndarray,
        *,
        method: str = "euler",
        grid: TimeGrid | None = None,
        columns: np.ndarray | None = None,
    ) -> RawResult:
        """Run a batch: ``matrix[run, parameter column]`` in, raw saved values out."""
        kernel = self.kernel(method)
        matrix = np.ascontiguousarray(matrix, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != len(self.parameters):
            raise ParameterValueError(
                f"parameter matrix must have shape (runs, {len(self.parameters)}), "
                f"got {matrix.shape}"
            )
        if grid is None:
            grid = self.grid(matrix)
        if columns is None:
            columns = np.arange(len(self._cells), dtype=np.int64)
        n_runs = matrix.shape[0]
        values = np.full((n_runs, len(grid.save_times), len(columns)), np.nan)
        status = np.zeros(n_runs, dtype=np.int64)
        with compile_headroom():  # first call compiles (or loads from the cache)
            kernel(
                matrix,
                values,
                status,
                grid.save_rows,
                columns,
                grid.initial_time,
                grid.time_step,
                grid.n_steps,
                grid.saveper,
                grid.final_time,
            )
        return RawResult(values, status, grid, tuple(self._cells[i] for i in columns))

    def run(
        self,
        params: ParamsLike = None,
        *,
        method: str = "euler",
        final_time: float | None = None,
        time_step: float | None = None,
        saveper: float | None = None,
        variables: Sequence[str] | None = None,
        allow_out_of_range: bool = False,
    ) -> xr.Dataset:
        """Simulate one run or a batch and return an ``xarray.Dataset`` with dims (run, time).

        ``params``: a dict of scalars (one run), a dict of 1-D arrays or a DataFrame (one
        row per run). Values outside a parameter's documented range are an error unless
        ``allow_out_of_range``. Each run has a ``status`` (0 = ok); see ``status_message``.
        """
        matrix = self.parameter_matrix(params, allow_out_of_range=allow_out_of_range)
        grid = self.grid(matrix, final_time=final_time, time_step=time_step, saveper=saveper)
        if variables is not None:  # the runs' parameter values always come along
            variables = [variables] if isinstance(variables, str) else list(variables)
            chosen_keys = {name_key(v) for v in variables}
            variables += [
                v.name
                for v in self.ir.variables
                if v.kind == "constant" and name_key(v.name) not in chosen_keys
            ]
        chosen, columns = self.output_columns(variables)
        raw = self.simulate(matrix, method=method, grid=grid, columns=columns)
        return self._dataset(raw, chosen, matrix, method)

    def _dataset(
        self, raw: RawResult, chosen: list[ir.Variable], matrix: np.ndarray, method: str
    ) -> xr.Dataset:
        n_runs = raw.values.shape[0]
        data_vars: dict[str, xr.DataArray] = {}
        coords: dict[str, Any] = {"run": np.arange(n_runs), "time": raw.grid.save_times}
        start = 0
        for var in chosen:
            defined = [i for i, c in enumerate(var.cells) if c not in var.undefined]
            block = np.full((n_runs, raw.values.shape[1], len(var.cells)), np.nan)
            block[:, :, defined] = raw.values[:, :, start : start + len(defined)]
            start += len(defined)
            shape = tuple(len(c) for c in var.coords)
            for dim, elements in zip(var.dims, var.coords, strict=True):
                coords.setdefault(dim, list(elements))
            attrs = {"units": var.units, "description": var.doc, "kind": var.kind}
            if var.time_varying:
                array = block.reshape((n_runs, block.shape[1], *shape))
                dims = ("run", "time", *var.dims)
            else:
                array = (
                    block[:, 0, :].reshape((n_runs, *shape))
                    if block.shape[1]
                    else self._constant_cells(var, matrix)
                )
                dims = ("run", *var.dims)
            data_vars[var.name] = xr.DataArray(array, dims=dims, attrs=attrs)
        data_vars["status"] = xr.DataArray(
            raw.status,
            dims=("run",),
            attrs={
                "flag_values": np.array(sorted(MESSAGES), dtype=np.int64),
                "flag_meanings": " | ".join(MESSAGES[k] for k in sorted(MESSAGES)),
                "description": "per-run status: 0 ok; see flag_meanings",
            },
        )
        from gvcdyn import __version__

        attrs = {
            "model": self.ir.name,
            "model_file": str(self.path) if self.path else "",
            "model_sha256": self.ir.source_hash,
            "gvcdyn_version": __version__,
            "method": method,
            "initial_time": raw.grid.initial_time,
            "final_time": raw.grid.final_time,
            "time_step": raw.grid.time_step,
            "saveper": raw.grid.saveper,
            "time_units": self.ir.controls.time_units,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        }
        ds = xr.Dataset(data_vars, coords=coords, attrs=attrs)
        ds["time"].attrs["units"] = self.ir.controls.time_units
        return ds

    def _constant_cells(self, var: ir.Variable, matrix: np.ndarray) -> np.ndarray:
        columns = [self.parameter(c).column for c in var.cells]
        return matrix[:, columns].reshape((matrix.shape[0], *(len(c) for c in var.coords)))

    def status_message(self, code: int) -> str:
        """What a run's status code means."""
        return describe(code)


def _check_range(param: ir.Parameter, column: np.ndarray) -> None:
    if np.any(np.isnan(column)) and not math.isnan(param.default):
        raise ParameterValueError(f"parameter '{param.name}': NaN is not a valid value")
    bad = param.outside_range(column)
    if bad.any():
        raise ParameterValueError(
            f"parameter '{param.name}' = {column[bad][0]:g} is outside its range "
            f"{param.range_text()}; "
            "use a value inside it or allow out-of-range values explicitly"
        )


def _unknown(kind: str, name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    if not close:
        keyed = {name_key(k): k for k in known}
        close = [keyed[k] for k in difflib.get_close_matches(name_key(name), list(keyed), n=3)]
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown {kind} '{name}'{hint}"
