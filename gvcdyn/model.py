"""The public face of a compiled model: ``load(path)``, ``Model.parameters``, ``Model.run``.

``Model.simulate`` is the lean path (a parameter matrix in, raw arrays out) that
calibration and sensitivity analysis call many times; ``Model.run`` wraps it with name
checking and returns a self-describing ``xarray.Dataset``.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from gvcdyn import evaluator as _evaluator_module
from gvcdyn import space as _space_module
from gvcdyn.backend import codegen
from gvcdyn.backend.compiler import cache_dir
from gvcdyn.backend.kernel import Kernel
from gvcdyn.backend.lever_names import remember, unknown_message
from gvcdyn.backend.timegrid import TimeGrid, evaluate, make_grid, refuse_controls_read_at_run
from gvcdyn.errors import (
    GvcdynError,
    KernelCacheError,
    ParameterValueError,
    SimulationSettingsError,
    UnknownParameterError,
    UnknownVariableError,
    structural_parameter_error,
)
from gvcdyn.evaluator import Evaluator
from gvcdyn.language import ir
from gvcdyn.language.frontend import read_abstract_model
from gvcdyn.language.lower import lower
from gvcdyn.language.subscripts import name_key
from gvcdyn.limits import check_memory
from gvcdyn.model_settings import ModelSettings, read_settings, settings_path
from gvcdyn.outcomes import Outcome
from gvcdyn.space import ParameterSpace
from gvcdyn.status import describe


class _ImportedOnUse:
    """Module ``name``, imported when one of its attributes is first read.

    Why: pandas and xarray are imported where a table or a Dataset is made, not with this
    module: together about 0.27 s of CPU that a cold build (translate, compile,
    ``simulate``) and an Evaluator never use (issue 21; tests/test_lazy_imports.py keeps it
    so). The public signatures name them (``pd.DataFrame``, ``xr.Dataset``), and
    ``typing.get_type_hints`` evaluates those strings in this module: an import for type
    checkers only made it raise NameError. This stand-in resolves them (importing the
    module then, as an annotation's reader needs it) and costs nothing until then."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported on first use>"


if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr
else:
    pd = _ImportedOnUse("pandas")
    xr = _ImportedOnUse("xarray")

ParamsLike = Union[  # typing.Union: "pd.DataFrame" is a string, pandas not imported
    Mapping[str, float | Sequence[float] | np.ndarray], "pd.DataFrame", None
]


@dataclass(frozen=True)
class RawResult:
    """What the kernel produced for a batch: ``values[run, time, column]`` and ``status[run]``."""

    values: np.ndarray
    status: np.ndarray
    grid: TimeGrid
    columns: tuple[str, ...]


@dataclass(frozen=True)
class _Plan:
    """The variables a run reports and the kernel cells it saves for them."""

    reported: tuple[ir.Variable, ...]
    columns: np.ndarray


def load(path: str | Path, data_files: Sequence[str | Path] = ()) -> Model:
    """Read a Vensim ``.mdl`` file and prepare its compiled kernel (cached per machine).

    ``data_files``: outputs of other runs (``.tab``/``.csv``) that the model's data
    variables without an equation read, first match wins. Files named in GET XLS/DIRECT
    functions are read relative to the model's folder. The model's settings file
    (``<stem>.settings.toml`` beside it, ``gvcdyn.model_settings``) is read too: a bad
    one is refused here, before anything runs.
    """
    path = Path(path)
    with _errors_name_the_file(path):
        abstract, digest = read_abstract_model(path)
        settings = read_settings(path)
        model_ir = lower(abstract, digest, path.stem, data_files)
        model = Model(model_ir, path, settings)
        _remember_names(digest, [p.name for p in model.parameters])
        # a control that reads a stock could never run: refused here, naming the file
        refuse_controls_read_at_run(model_ir, model._uniform_values(model.defaults()[None, :]))
        return model


def _remember_names(digest: str, names: list[str]) -> None:
    """Keep the file's parameter names, so a later command refuses a mistyped lever
    before parsing (``gvcdyn.backend.lever_names``); never fails a load: an unusable cache only
    loses the speed-up (it is refused, with its reason, when a kernel is compiled)."""
    with contextlib.suppress(KernelCacheError):
        remember(cache_dir(), digest, names)


@contextlib.contextmanager
def _errors_name_the_file(path: Path) -> Iterator[None]:
    """Every ``GvcdynError`` raised inside is told the file: ``exc.at(file=path)`` (one
    that names a file already keeps it), so its one line reads ``path: message`` unless
    the message names the file.

    Lowering, scheduling and code generation know the variable that is wrong but not the
    file it came from; a user with several models open needs both. The error keeps its
    class (callers catch ``ModelStructureError``, ``UnsupportedFeatureError``, ...), its
    message, cause and traceback.
    """
    try:
        yield
    except GvcdynError as exc:
        exc.at(file=path)
        raise


class Model:
    """A model lowered to gvcdyn's IR with its generated kernel source."""

    def __init__(
        self,
        model_ir: ir.ModelIR,
        path: Path | None = None,
        settings: ModelSettings | None = None,
    ) -> None:
        self.ir = model_ir
        self.path = path
        self.settings = settings or ModelSettings()  # its settings file's (load reads it)
        self.source = codegen.generate(model_ir)
        self._index()

    def _index(self) -> None:
        """Lookup tables derived from the IR (rebuilt, not pickled)."""
        self._cells = codegen.visible_cells(self.ir)
        self._cell_index = {cell: i for i, cell in enumerate(self._cells)}
        self._param_index = {name_key(p.name): p for p in self.ir.parameters}
        self._var_index = {name_key(v.name): v for v in self.ir.variables}
        self._structural_columns = np.array(
            [p.column for p in self.ir.parameters if p.variable in self.ir.structural],
            dtype=np.int64,
        )
        self._kernels = {method: Kernel(self.source, method) for method in codegen.METHODS}
        # per column of the parameter matrix, for checking a whole batch at once
        params = self.ir.parameters
        self._defaults = np.array([p.default for p in params], dtype=np.float64)
        self._lower = np.array([-np.inf if p.minimum is None else p.minimum for p in params])
        self._upper = np.array([np.inf if p.maximum is None else p.maximum for p in params])
        self._plans: dict[tuple[str, ...] | None, _Plan] = {}  # Model.run's, per variables

    def __getstate__(self) -> dict[str, Any]:
        """A model pickles as its IR, path, settings and kernel source: no module, no
        machine code.

        Unpickled in another process, its kernel is imported from the content-addressed
        cache (numba's disk cache holds the machine code), so nothing is recompiled; its
        settings are the ones read when it was loaded, not the file's of that moment.
        """
        return {"ir": self.ir, "path": self.path, "settings": self.settings, "source": self.source}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.ir = state["ir"]
        self.path = state["path"]
        self.settings = state.get("settings", ModelSettings())
        self.source = state["source"]
        self._index()

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
        import pandas as pd

        return pd.DataFrame(rows, columns=["name", "default", "min", "max", "units", "doc"])

    def parameter(self, name: str) -> ir.Parameter:
        """Look a parameter up by name (case and spaces/underscores ignored)."""
        found = self._param_index.get(name_key(name))
        if found is None:
            raise UnknownParameterError(
                unknown_message("parameter", name, [p.name for p in self.parameters])
            )
        return found

    def variable(self, name: str) -> ir.Variable:
        """Look a variable up by name (case and spaces/underscores ignored)."""
        found = self._var_index.get(name_key(name))
        if found is None and any(name_key(t.name) == name_key(name) for t in self.ir.lookups):
            raise UnknownVariableError(
                f"'{name}' is a lookup table, not a variable: a table has no values over "
                "time of its own; name a variable that reads it"
            )
        if found is None:
            raise UnknownVariableError(
                unknown_message("variable", name, [v.name for v in self.ir.variables])
            )
        return found

    def defaults(self) -> np.ndarray:
        return self._defaults.copy()

    # ------------------------------------------------------------------ compiled kernel
    def kernel(self, method: str) -> Any:
        """The compiled batch function for ``method`` (compiled on first use, then cached)."""
        return self._kernel(method).function

    @property
    def integration(self) -> str:
        """The integration method the model declares: what runs, evaluators, what-ifs,
        reality checks, calibrations and sensitivity studies use when they name no method.

        Its settings file's (``<stem>.settings.toml`` beside the .mdl, such as ``rk23``;
        ``gvcdyn.model_settings``) if it sets one, else the .mdl's own
        (:attr:`vensim_integration`), else Euler. A method named for a computation
        (``method=``, ``--integration``, a config's ``method``) wins over both. Its step
        is the model's TIME STEP (an adaptive method's first step)."""
        return self.settings.integration or self.vensim_integration

    @property
    def vensim_integration(self) -> str:
        """The integration type of the .mdl's settings section, as Vensim's Model
        Settings dialog writes it (``euler``, ``rk4``, or ``rk2``, which gvcdyn does not
        integrate; Euler if the file has none): the method Vensim's own runs of the file
        use, whatever the settings file says."""
        return self.ir.controls.integration

    def integration_method(self, method: str | None = None, *, vensim: bool = False) -> str:
        """``method``, or the model's declared one if None (:attr:`integration`; with
        ``vensim``, the .mdl's own, as a comparison with Vensim's output needs), refused
        if gvcdyn has no kernel for it, naming the methods to choose from."""
        if method is not None:
            return method
        if self.settings.integration is not None and not vensim:
            return self.settings.integration  # checked when the settings file was read
        declared = self.vensim_integration
        if declared not in codegen.METHODS:
            raise SimulationSettingsError(
                f"model '{self.name}' declares {declared.upper()} integration in its "
                f".mdl settings, which gvcdyn does not integrate; choose one of "
                f"{', '.join(codegen.METHODS)} (--integration, or method=)"
                + (
                    ""
                    if self.path is None or vensim
                    else f", or set it for every run in {settings_path(self.path)} "
                    '(integration = "rk4")'
                )
            )
        return declared

    def kernel_source(self, method: str | None = None) -> str:
        """The generated source of the kernel module that runs ``method`` (the model's
        declared one if None): ``source`` for Euler and RK4, an adaptive method's own
        module (its tolerance in it) for ``rk23``/``rk45``. What a computation's identity
        hashes, so a checkpoint names the code that made its numbers."""
        return self._kernel(method).source

    def _kernel(self, method: str | None) -> Kernel:
        method = self.integration_method(method)
        found = self._kernels.get(method)
        if found is None:  # an adaptive method's own module, or an error naming the methods
            try:
                found = Kernel.for_model(self.ir, self.source, method)
            except SimulationSettingsError as exc:
                if method == self.settings.integration:  # the user may not know it was chosen
                    exc.at(file=self.settings.path)
                raise
            self._kernels[method] = found
        return found

    # ------------------------------------------------------------------ inputs
    def parameter_matrix(
        self, params: ParamsLike = None, *, allow_out_of_range: bool = False
    ) -> np.ndarray:
        """One row of parameter values per run, from a dict of scalars/arrays or a DataFrame."""
        if params is None:
            params = {}
        if _is_frame(params):
            columns = _frame_columns(params)
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
        matrix = np.tile(self._defaults, (n_runs, 1))
        seen: dict[str, str] = {}
        given: list[ir.Parameter] = []
        for key, value in columns.items():
            param = self.parameter(key)
            if param.name in seen:
                raise ParameterValueError(
                    f"parameter '{param.name}' is given twice (as '{seen[param.name]}' and "
                    f"'{key}'); give it once"
                )
            seen[param.name] = key
            try:
                column = np.asarray(value, dtype=np.float64)
                if column.shape != (n_runs,):
                    column = np.broadcast_to(column, (n_runs,))
            except (TypeError, ValueError):
                raise ParameterValueError(
                    f"parameter '{param.name}': values must be numbers, got {value!r}"
                ) from None
            given.append(param)
            if param.variable in self.ir.structural and np.any(column != param.default):
                raise structural_parameter_error(param.name)
            matrix[:, param.column] = column
        if not allow_out_of_range and given:
            self._check_ranges(matrix, given)
        return matrix

    def _check_ranges(self, matrix: np.ndarray, given: Sequence[ir.Parameter]) -> None:
        """Every given column inside its documented range (and not NaN unless its default
        is): all at once, then one by one (in the order given) to name the first bad one."""
        columns = np.array([p.column for p in given], dtype=np.int64)
        block = matrix[:, columns]
        bad = (block < self._lower[columns]) | (block > self._upper[columns])
        bad |= np.isnan(block) & ~np.isnan(self._defaults[columns])
        if bad.any():
            for param in given:
                param.check_values(
                    matrix[:, param.column],
                    f"parameter '{param.name}'",
                    "its range {range}",
                    hint="use a value inside it or allow out-of-range values explicitly",
                )

    def grid(
        self,
        matrix: np.ndarray,
        *,
        varying: Sequence[int] | np.ndarray | None = None,
        final_time: float | None = None,
        time_step: float | None = None,
        saveper: float | None = None,
    ) -> TimeGrid:
        """The batch's time grid: model controls, overridden by explicit settings.

        The controls may read only parameters every run shares: those equal in every row
        of ``matrix``, less the columns ``varying`` names. A batch described as a base row
        and the columns its runs vary (a ``ParameterSpace``, a what-if ``Batch``) gives
        ``grid(base[None, :], varying=columns)`` without building its matrix.

        A horizon, step or save period that is not a finite number (given here, or what
        the model's control evaluates to for these parameters) is a
        ``SimulationSettingsError`` before any run starts, never a batch of empty runs.
        """
        values = self._uniform_values(matrix, varying)
        varying = frozenset(p.symbol for p in self.parameters if p.symbol not in values)
        controls = self.ir.controls
        read: dict[str, list[str]] = {}  # per control, the parameters it reads (messages)

        def control(label: str, expr: ir.Expr, given: float | None, time: float) -> float:
            if given is not None:
                return _setting(label, given)
            value = evaluate(expr, self.ir, values, time, varying)  # refuses varying ones
            symbols = ir.symbols_in(expr)
            read[label] = [  # (a varying one may sit in a branch not taken: not in values)
                f"'{p.name}' = {values[p.symbol]:g}"
                for p in self.parameters
                if p.symbol in symbols and p.symbol in values
            ]
            return value

        t0 = control("INITIAL TIME", controls.initial_time, None, 0.0)
        dt = control("TIME STEP", controls.time_step, time_step, t0)
        values["time_step"] = dt
        # SAVEPER = TIME STEP follows an overridden step: values["time_step"] is dt
        values["saveper"] = control("SAVEPER", controls.saveper, saveper, t0)
        final = control("FINAL TIME", controls.final_time, final_time, t0)
        try:
            return make_grid(t0, final, dt, values["saveper"])
        except SimulationSettingsError as exc:  # name the parameters the user set
            named = [f"{k} reads {', '.join(v)}" for k, v in read.items() if v and k in str(exc)]
            if not named:
                raise
            raise type(exc)(
                f"{exc.message} (in model '{self.name}', {'; '.join(named)})",
                file=exc.file,
                variable=exc.variable,
                hint=exc.hint,
            ) from exc

    def _uniform_values(
        self, matrix: np.ndarray, varying: Sequence[int] | np.ndarray | None = None
    ) -> dict[str, float]:
        """Parameter values shared by all runs (controls may only depend on those), less
        the columns ``varying`` names.

        A column that is NaN in every run is shared too: a control that reads it is then
        refused as not a number, not as a parameter that differs between runs."""
        first = matrix[0]
        shared = (matrix == first).all(axis=0) | np.isnan(matrix).all(axis=0)
        if varying is not None:
            shared[np.asarray(varying, dtype=np.int64)] = False
        return {p.symbol: float(first[p.column]) for p in self.parameters if shared[p.column]}

    def output_columns(
        self, variables: Sequence[str] | None
    ) -> tuple[list[ir.Variable], np.ndarray]:
        """The variables to report and the kernel's cell indices for them."""
        if variables is None:
            chosen = list(self.ir.variables)
        else:
            if isinstance(variables, str):
                variables = [variables]
            chosen = [self.variable(name) for name in variables]
        cells = [self._cell_index[c] for var in chosen for c in var.cells if c not in var.undefined]
        return chosen, np.array(cells, dtype=np.int64)

    # ------------------------------------------------------------------ running
    def simulate(
        self,
        matrix: np.ndarray,
        *,
        method: str | None = None,
        grid: TimeGrid | None = None,
        columns: np.ndarray | None = None,
        checked: bool = False,
    ) -> RawResult:
        """Run a batch: ``matrix[run, parameter column]`` in, raw saved values out.

        ``columns`` are indices into :meth:`cells` (default: every cell). Rows that give a
        structural parameter (the order of SMOOTH N / DELAY N, fixed when the kernel was
        generated) a value other than the model's are refused, never silently ignored,
        unless ``checked``: the matrix was built from values already checked against this
        model (``parameter_matrix``, a ``ParameterSpace``, a what-if ``Batch``), which the
        kernel path then does not check again.
        """
        kernel = self._kernel(method)
        matrix = np.ascontiguousarray(matrix, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != len(self.parameters):
            raise ParameterValueError(
                f"parameter matrix must have shape (runs, {len(self.parameters)}), "
                f"got {matrix.shape}"
            )
        if matrix.shape[0] < 1:
            raise ParameterValueError("the parameter matrix has no rows (zero runs)")
        if not checked:
            self._check_structural(matrix)
        if grid is None:
            grid = self.grid(matrix)
        if columns is None:
            columns = np.arange(len(self._cells), dtype=np.int64)
        columns = np.ascontiguousarray(columns, dtype=np.int64)
        n_runs, n_times = matrix.shape[0], len(grid.save_times)
        check_memory(  # the kernel's result array, before it is allocated
            n_runs * n_times * len(columns) * 8,
            f"{n_runs:,} runs x {n_times:,} saved times x {len(columns):,} cells",
            hint="run fewer at once, save fewer variables or times (a larger SAVEPER), "
            "or shorten the horizon",
        )
        values, status = kernel.run(matrix, grid, columns)
        return RawResult(values, status, grid, tuple(self._cells[i] for i in columns))

    def cells(self) -> tuple[str, ...]:
        """The cell symbols a kernel can save, in the order ``columns`` index them."""
        return tuple(self._cells)

    def cell_index(self, cell: str) -> int:
        """Position of a cell symbol among :meth:`cells`."""
        return self._cell_index[cell]

    def _check_structural(self, matrix: np.ndarray) -> None:
        if not self._structural_columns.size:
            return
        block = matrix[:, self._structural_columns]
        defaults = self.defaults()[self._structural_columns]
        same = (block == defaults) | (np.isnan(block) & np.isnan(defaults))
        if not same.all():
            run, k = np.argwhere(~same)[0]
            param = self.parameters[int(self._structural_columns[k])]
            raise structural_parameter_error(
                param.name,
                detail=f", {param.default:g} in the model",
                change=f"cannot change at run time, but run {run} sets it to {block[run, k]:g}",
            )

    def run(
        self,
        params: ParamsLike = None,
        *,
        method: str | None = None,
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
        Constants are reported as ``(run,)`` data and always come along, so a result file
        says which parameter values produced it.
        """
        method = self.integration_method(method)  # None: the model's declared method
        matrix = self.parameter_matrix(params, allow_out_of_range=allow_out_of_range)
        grid = self.grid(matrix, final_time=final_time, time_step=time_step, saveper=saveper)
        plan = self._plan(variables)
        raw = self.simulate(matrix, method=method, grid=grid, columns=plan.columns, checked=True)
        from gvcdyn.dataset import build_dataset  # imports xarray (ParamsLike's comment)

        return build_dataset(self, raw, plan.reported, matrix, method)

    def _plan(self, variables: Sequence[str] | None) -> _Plan:
        """What ``run(variables=...)`` reports and the kernel cells it saves (cached)."""
        key = (
            None
            if variables is None
            else tuple([variables] if isinstance(variables, str) else variables)
        )
        found = self._plans.get(key)
        if found is None:
            reported = tuple(self.reported_variables(None if key is None else list(key)))
            columns = self._columns(self.computed_variables(reported))
            columns.flags.writeable = False
            found = _Plan(reported, columns)
            if len(self._plans) >= 64:
                self._plans.clear()
            self._plans[key] = found
        return found

    def reported_variables(self, variables: Sequence[str] | None) -> list[ir.Variable]:
        """What a run reports for ``variables`` (None: all): those, then every constant not
        among them, so that a result file says which parameter values produced it."""
        chosen, _ = self.output_columns(variables)
        shown = {v.name for v in chosen}
        constants = [v for v in self.ir.variables if v.kind == "constant"]
        return chosen + [v for v in constants if v.name not in shown]

    def computed_variables(self, reported: Sequence[ir.Variable]) -> list[ir.Variable]:
        """Of ``reported``, those the kernel must save: all but the constants that come
        from the parameter matrix (see :meth:`parameter_columns`)."""
        return [v for v in reported if self.parameter_columns(v) is None]

    def parameter_columns(self, var: ir.Variable) -> list[int] | None:
        """Parameter-matrix columns of a constant whose every cell is a parameter, else None.

        Such a constant varies only by run, so results take it from the matrix as
        ``(run,)`` data instead of saving it at every time. (A constant the user cannot
        set, such as Vensim's ``==``, is computed by the kernel like an auxiliary.)
        """
        if var.kind != "constant":
            return None
        params = [self._param_index.get(name_key(c)) for c in var.cells]
        if any(p is None for p in params):
            return None
        return [p.column for p in params]

    def _columns(self, variables: Sequence[ir.Variable]) -> np.ndarray:
        """Kernel cell indices of the defined cells of ``variables``, in order."""
        return np.array(
            [self._cell_index[c] for v in variables for c in v.cells if c not in v.undefined],
            dtype=np.int64,
        )

    def evaluator(
        self,
        space: ParameterSpace,
        outcomes: Sequence[Outcome],
        *,
        method: str | None = None,
        final_time: float | None = None,
        time_step: float | None = None,
    ) -> Evaluator:
        """``f(X) -> (Y, status)``: the ``(n, k)`` parameters of ``space`` in, outcomes out.

        The function calibration, sensitivity analysis and distributed runs call: it saves
        only the variables the outcomes read, reduces them on the raw arrays, and pickles
        (a worker loads the kernel from the cache instead of compiling it).
        """
        return Evaluator(
            self, space, outcomes, method=method, final_time=final_time, time_step=time_step
        )

    def status_message(self, code: int) -> str:
        """What a run's status code means."""
        return describe(code)


def _is_frame(value: object) -> bool:
    """Whether ``value`` is a pandas DataFrame, without importing pandas: if pandas is not
    imported yet, nothing can be one."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)


def _frame_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """``{column name: values}`` of a DataFrame; one conversion for an all-numeric frame
    (pandas' per-column access costs about 20 us a column)."""
    if frame.columns.is_unique:
        try:
            block = frame.to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            pass
        else:
            return {str(c): block[:, i] for i, c in enumerate(frame.columns)}
    return {str(c): frame[c].to_numpy() for c in frame.columns}


def _setting(label: str, value: object) -> float:
    """An explicit simulation setting (``final_time=``, ``time_step=``, ``saveper=``) as a
    float, refused here if it is not a finite number (a NaN TIME STEP would otherwise be
    reported as the SAVEPER that follows it); ``make_grid`` checks the signs."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise SimulationSettingsError(f"{label} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise SimulationSettingsError(f"{label} must be a finite number, got {value}")
    return float(value)


# typing.get_type_hints evaluates an annotation in its function's module. gvcdyn.evaluator
# and gvcdyn.space name Model in theirs but cannot import it (this module imports them: a
# cycle, tests/test_import_graph.py), so they get it here, once it exists. gvcdyn's
# Evaluator and ParameterSpace import this module with theirs (gvcdyn/__init__.py).
_evaluator_module.Model = Model
_space_module.Model = Model
