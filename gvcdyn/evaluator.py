"""The analysis seam: ``f(X) -> (Y, status)``, a parameter design in, outcome numbers out.

Calibration (``scipy.optimize.differential_evolution(vectorized=True)``), Sobol
sensitivity (SALib) and distributed workers all call the same function. It is built
once per study: the varied columns, the time grid and the kernel cells to save are fixed
at construction, so a call is the parameter matrix, one kernel batch and a few numpy
reductions. It pickles without its compiled code; a worker imports the kernel from the
content-addressed cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from gvcdyn import outcomes as _outcomes
from gvcdyn.errors import OutcomeError, ParameterValueError
from gvcdyn.identity import computation_identity
from gvcdyn.outcomes import Outcome
from gvcdyn.space import ParameterSpace

if TYPE_CHECKING:  # gvcdyn.model imports this module; it sets Model here when it is defined
    from gvcdyn.model import Model


class Evaluator:
    """Maps an ``(n, k)`` design of ``space`` to ``(Y (n, m), status (n,))``.

    ``Y[:, j]`` is ``outcomes[j]``; a run with a non-zero status (a NaN or infinity in
    the model) keeps its row, usually NaN, so callers decide how to treat it.
    """

    def __init__(
        self,
        model: Model,
        space: ParameterSpace,
        outcomes: Sequence[Outcome],
        *,
        method: str | None = None,  # None: the model's declared method
        final_time: float | None = None,
        time_step: float | None = None,
    ) -> None:
        if space.model_sha256 != model.ir.source_hash:
            raise ParameterValueError(
                "the parameter space was made for another model; build it from this one"
            )
        if isinstance(outcomes, Outcome):
            outcomes = [outcomes]
        outcomes = tuple(outcomes)
        if not outcomes:
            raise OutcomeError("an evaluator needs at least one outcome")
        self.model = model
        self.space = space
        self.outcomes = outcomes
        self.names = _outcomes.labels(outcomes)
        self.method = model.integration_method(method)
        model._kernel(self.method)  # an unknown method fails here, not at the first call
        self.grid = model.grid(
            space.base[None, :], varying=space.columns, final_time=final_time, time_step=time_step
        )
        cells = [_cell_of(model, o) for o in outcomes]
        unique = list(dict.fromkeys(cells))
        self.columns = np.array([model.cell_index(c) for c in unique], dtype=np.int64)
        self._series_of = [unique.index(c) for c in cells]
        # the fixed rows: known now, so a bad time fails at construction, not mid-study
        self._fixed_rows = {
            j: _outcomes.end_rows(o, self.grid.save_times, 1, None)[0]
            for j, o in enumerate(outcomes)
            if o.at != _outcomes.AT_RUN
        }
        # the plain values at fixed times: one gather for all of them (a call of a few
        # runs spent ~5 us per outcome in the general loop)
        gathered = [j for j in self._fixed_rows if outcomes[j].reduction == "value"]
        self._gathered = (
            np.array(gathered, dtype=np.int64),
            np.array([self._fixed_rows[j] for j in gathered], dtype=np.int64),
            np.array([self._series_of[j] for j in gathered], dtype=np.int64),
        )

    @property
    def per_run_times(self) -> bool:
        """Whether a call needs ``times=`` (some outcome is read at per-run times)."""
        return len(self._fixed_rows) < len(self.outcomes)

    def identity(self) -> dict[str, Any]:
        """Everything that decides this evaluator's numbers besides the design: the model
        and its data files, method, time grid, base row and outcomes (``gvcdyn.identity``;
        a checkpoint's fingerprint, so a resume with any of them changed is refused)."""
        return computation_identity(
            self.model,
            method=self.method,
            grid=self.grid,
            base=self.space.base,
            varied=self.space.columns,
            outputs=[repr(o) for o in self.outcomes],
        )

    def __repr__(self) -> str:
        return (
            f"<Evaluator of {self.model.name!r}: {self.space.k} parameters -> "
            f"{len(self.outcomes)} outcomes, {self.method}>"
        )

    def __call__(
        self, X: np.ndarray, times: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``Y[run, outcome]`` and ``status[run]`` for the design ``X[run, parameter]``."""
        matrix = self.space.matrix(X)
        n_runs = matrix.shape[0]
        if times is not None:
            times = np.asarray(times, dtype=np.float64)
            if times.shape != (n_runs,):
                raise OutcomeError(
                    f"times must hold one time per run, shape ({n_runs},); got {times.shape}"
                )
        # the space refused structural columns and checked X: the kernel path trusts it
        raw = self.model.simulate(
            matrix, method=self.method, grid=self.grid, columns=self.columns, checked=True
        )
        Y = np.empty((n_runs, len(self.outcomes)))
        js, rows_of, series_of = self._gathered
        Y[:, js] = raw.values[:, rows_of, series_of]
        run_rows = None
        for j, outcome in enumerate(self.outcomes):
            if j in self._fixed_rows and outcome.reduction == "value":
                continue  # gathered above
            if j in self._fixed_rows:
                rows = np.full(n_runs, self._fixed_rows[j], dtype=np.int64)
            else:
                if run_rows is None:
                    run_rows = _outcomes.end_rows(outcome, self.grid.save_times, n_runs, times)
                rows = run_rows
            series = raw.values[:, :, self._series_of[j]]
            Y[:, j] = _outcomes.reduce(outcome, series, rows, self.grid.save_times)
        return Y, raw.status


def _cell_of(model: Model, outcome: Outcome) -> str:
    """The kernel cell an outcome reads: a scalar variable, or ``Name[e1, e2]``."""
    text = outcome.variable.strip()
    name, _, rest = text.partition("[")
    var = model.variable(name.strip())
    if var.kind == "constant":
        raise OutcomeError(
            f"outcome '{outcome.label}': '{var.name}' is a constant; vary it in the "
            "parameter space instead of reading it as an outcome"
        )
    if not rest:
        if len(var.cells) != 1:
            dims = ", ".join(var.dims)
            raise OutcomeError(
                f"outcome '{outcome.label}': '{var.name}' is subscripted by {dims}; name one "
                f"cell, e.g. '{var.name}[{', '.join(c[0] for c in var.coords)}]'"
            )
        return var.cells[0]
    elements = [e.strip() for e in rest.rstrip("] ").split(",")]
    if len(elements) != len(var.dims):
        raise OutcomeError(
            f"outcome '{outcome.label}': '{var.name}' has {len(var.dims)} subscripts "
            f"({', '.join(var.dims)}), got {len(elements)}"
        )
    index = 0
    for element, coord, dim in zip(elements, var.coords, var.dims, strict=True):
        keys = [c.lower() for c in coord]
        if element.lower() not in keys:
            raise OutcomeError(
                f"outcome '{outcome.label}': '{element}' is not an element of {dim} "
                f"({', '.join(coord)})"
            )
        index = index * len(coord) + keys.index(element.lower())
    cell = var.cells[index]
    if cell in var.undefined:
        raise OutcomeError(f"outcome '{outcome.label}': cell {text} is not defined by the model")
    return cell
