"""Simulation controls and the grid of steps and saved times, exactly as PySD runs them.

PySD accumulates time (``t += dt``), steps while ``t + dt*1e-5 < final_time``, and
saves at ``t`` when ``(t - t0) % saveper`` is within ``dt*1e-5`` of 0 or of ``saveper``
(so FINAL TIME is saved only if it lies on the save grid). The kernel accumulates time
the same way; this module precomputes which steps are saved.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from gvcdyn.errors import ControlNotKnownError, GvcdynError, SimulationSettingsError
from gvcdyn.language import ir
from gvcdyn.language.interpret import evaluate as ir_evaluate

MAX_STEPS = 50_000_000
# PySD's tolerance on time comparisons, as a fraction of TIME STEP: the loop runs while
# ``t + dt*TIME_TOLERANCE < final_time``. The generated kernel uses the same constant.
TIME_TOLERANCE = 1e-5


@dataclass(frozen=True)
class TimeGrid:
    """Integration steps and save points of one batch."""

    initial_time: float
    final_time: float
    time_step: float
    saveper: float
    n_steps: int
    save_rows: np.ndarray  # per step: row in the output, or -1
    save_times: np.ndarray

    def __post_init__(self) -> None:
        """A grid built by hand (``Model.simulate(grid=...)``) is checked like one from
        ``make_grid``: the kernel trusts it, so a NaN horizon would run as a silent empty
        run and ``save_rows`` that do not match ``n_steps`` would write out of bounds."""
        check_controls(self.initial_time, self.final_time, self.time_step, self.saveper)
        rows = np.asarray(self.save_rows)
        n_rows = np.asarray(self.save_times).shape[0] if np.ndim(self.save_times) == 1 else -1
        if (
            not isinstance(self.n_steps, int | np.integer)
            or not 0 <= self.n_steps <= MAX_STEPS
            or rows.shape != (self.n_steps + 1,)
            or rows.dtype.kind not in "iu"
            or n_rows < 1
            or rows.max() >= n_rows
            or rows.min() < -1
        ):
            raise SimulationSettingsError(
                f"not a valid time grid: {self.n_steps!r} steps, save_rows of shape "
                f"{rows.shape}, {n_rows} save times; build grids with Model.grid or make_grid"
            )


def check_controls(
    initial_time: float, final_time: float, time_step: float, saveper: float
) -> None:
    """Refuse controls that cannot make a run: a horizon or step that is not a finite
    number, a step or save period that is not positive, a final time before the start."""
    for label, value in (
        ("INITIAL TIME", initial_time),
        ("FINAL TIME", final_time),
        ("TIME STEP", time_step),
        ("SAVEPER", saveper),
    ):
        if not isinstance(value, int | float | np.number) or not math.isfinite(value):
            raise SimulationSettingsError(f"{label} must be a finite number, got {value}")
    if time_step <= 0:
        raise SimulationSettingsError(f"TIME STEP must be positive, got {time_step}")
    if saveper <= 0:
        raise SimulationSettingsError(f"SAVEPER must be positive, got {saveper}")
    if final_time < initial_time:
        raise SimulationSettingsError(
            f"FINAL TIME ({final_time}) is before INITIAL TIME ({initial_time})"
        )


def make_grid(initial_time: float, final_time: float, time_step: float, saveper: float) -> TimeGrid:
    """Steps and save rows for the given controls; bad controls raise a clear error.

    Cached by the controls and the signs of the times: ``0.0 == -0.0``, so a cache keyed
    on the values alone would hand a run starting at ``-0.0`` the grid of one starting at
    ``0.0``, and a model reading TIME would see the other zero (``TIME ^ -1`` is ``inf``
    at one and ``-inf`` at the other; found by tests/test_language_functions.py)."""
    return _make_grid(
        initial_time,
        final_time,
        time_step,
        saveper,
        math.copysign(1.0, initial_time),
        math.copysign(1.0, final_time),
    )


@functools.lru_cache(maxsize=64)
def _make_grid(
    initial_time: float,
    final_time: float,
    time_step: float,
    saveper: float,
    _initial_sign: float,
    _final_sign: float,
) -> TimeGrid:
    check_controls(initial_time, final_time, time_step, saveper)
    estimate = (final_time - initial_time) / time_step
    if estimate > MAX_STEPS:
        raise SimulationSettingsError(
            f"{estimate:.3g} time steps is too many (limit {MAX_STEPS}); use a larger TIME STEP"
        )
    times_arr = _step_times(initial_time, final_time, time_step)
    tol = time_step * TIME_TOLERANCE
    offset = times_arr - initial_time
    saved = (np.mod(offset, saveper) < tol) | (np.mod(-offset, saveper) < tol)
    rows = np.full(len(times_arr), -1, dtype=np.int64)
    rows[saved] = np.arange(int(saved.sum()))
    save_times = times_arr[saved]
    rows.flags.writeable = False  # shared by every batch with these controls (cached)
    save_times.flags.writeable = False
    return TimeGrid(
        initial_time=initial_time,
        final_time=final_time,
        time_step=time_step,
        saveper=saveper,
        n_steps=len(times_arr) - 1,
        save_rows=rows,
        save_times=save_times,
    )


def _step_times(initial_time: float, final_time: float, time_step: float) -> np.ndarray:
    """Times PySD visits: ``t += dt`` (accumulated, as its loop does) while
    ``t + dt*1e-5 < final_time``, plus the time at which the loop stops."""
    n = math.ceil((final_time - initial_time) / time_step) + 2
    while True:
        increments = np.full(n + 1, time_step)
        increments[0] = initial_time
        times = np.add.accumulate(increments)  # sequential, bit-identical to the loop
        running = times + time_step * TIME_TOLERANCE < final_time
        if not running.all():
            return times[: int(np.argmin(running)) + 1]
        n *= 2


def evaluate(
    expr: ir.Expr,
    model: ir.ModelIR,
    values: Mapping[str, float],
    time: float,
    varying: frozenset[str] = frozenset(),
) -> float:
    """Evaluate a control's expression before the run (``gvcdyn.language.interpret`` semantics).

    Parameters come from ``values``, auxiliaries from their equations, ``time`` and
    INITIAL TIME are ``time``. Anything that needs a stock, or a parameter in ``varying``
    (different across the batch), raises ``SimulationSettingsError``.
    """
    equations = {
        e.symbol: e.expr
        for e in model.static_equations + model.dynamic_equations + model.output_equations
    }
    lookups = {lk.name: lk for lk in model.lookups}
    known: dict[str, float] = {"time": time, "initial_time": time, **values}

    def resolve(name: str) -> float:
        if name in known:
            return float(known[name])
        if name in equations:
            known[name] = ir_evaluate(equations[name], resolve, lookups)
            return known[name]
        if name in varying:
            raise SimulationSettingsError(
                f"a simulation control (FINAL TIME, TIME STEP, SAVEPER) depends on "
                f"parameter '{name}', which must then be the same in all runs of a batch"
            )
        raise ControlNotKnownError(
            f"a simulation control depends on '{name}', which is not known before "
            "the run starts; make the controls constants"
        )

    return ir_evaluate(expr, resolve, lookups)


def refuse_controls_read_at_run(model: ir.ModelIR, values: Mapping[str, float]) -> None:
    """Refuse, when the model is loaded, controls that read a stock or another value
    known only once the run starts (at the parameter ``values``, e.g. the defaults).

    Such a model could never run; refused at load, the error names the model's file like
    every other load error. A control that is merely not a finite number at these values
    is left to the run, where it depends on the run's parameters."""
    controls = model.controls
    known = dict(values)

    def value(expr: ir.Expr, time: float) -> float:
        try:
            return evaluate(expr, model, known, time)
        except ControlNotKnownError:
            raise
        except GvcdynError:  # a value problem (NaN, a zero step): the run's business
            return math.nan

    t0 = value(controls.initial_time, 0.0)
    known["time_step"] = value(controls.time_step, t0)
    known["saveper"] = value(controls.saveper, t0)
    value(controls.final_time, t0)
