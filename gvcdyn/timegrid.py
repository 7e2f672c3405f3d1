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

from gvcdyn import ir
from gvcdyn.errors import SimulationSettingsError

MAX_STEPS = 50_000_000


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


@functools.lru_cache(maxsize=64)
def make_grid(initial_time: float, final_time: float, time_step: float, saveper: float) -> TimeGrid:
    """Steps and save rows for the given controls; bad controls raise a clear error."""
    for label, value in (
        ("INITIAL TIME", initial_time),
        ("FINAL TIME", final_time),
        ("TIME STEP", time_step),
        ("SAVEPER", saveper),
    ):
        if not math.isfinite(value):
            raise SimulationSettingsError(f"{label} must be a finite number, got {value}")
    if time_step <= 0:
        raise SimulationSettingsError(f"TIME STEP must be positive, got {time_step}")
    if saveper <= 0:
        raise SimulationSettingsError(f"SAVEPER must be positive, got {saveper}")
    if final_time < initial_time:
        raise SimulationSettingsError(
            f"FINAL TIME ({final_time}) is before INITIAL TIME ({initial_time})"
        )
    estimate = (final_time - initial_time) / time_step
    if estimate > MAX_STEPS:
        raise SimulationSettingsError(
            f"{estimate:.3g} time steps is too many (limit {MAX_STEPS}); use a larger TIME STEP"
        )
    times_arr = _step_times(initial_time, final_time, time_step)
    tol = time_step * 1e-5
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
        running = times + time_step * 1e-5 < final_time
        if not running.all():
            return times[: int(np.argmin(running)) + 1]
        n *= 2


_PY_FUNCTIONS = {
    "abs": abs,
    "exp": math.exp,
    "ln": math.log,
    "sqrt": math.sqrt,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "min": min,
    "max": max,
    "integer": math.trunc,
    "power": pow,
    "log": lambda x, b: math.log(x) / math.log(b),
}


def evaluate(
    expr: ir.Expr,
    model: ir.ModelIR,
    values: Mapping[str, float],
    time: float,
    varying: frozenset[str] = frozenset(),
) -> float:
    """Evaluate an expression of parameters and auxiliaries in Python (for the controls).

    Only what controls need: arithmetic, comparisons, IF THEN ELSE and elementary
    functions over parameters, other auxiliaries and ``time``. Anything that needs a
    stock raises ``SimulationSettingsError``.
    """
    equations = {
        e.symbol: e.expr
        for e in model.static_equations + model.dynamic_equations + model.output_equations
    }

    def ev(node: ir.Expr) -> float:
        if isinstance(node, ir.Num):
            return node.value
        if isinstance(node, ir.Sym):
            if node.name == "time" or node.name == "initial_time":
                return time
            if node.name in values:
                return float(values[node.name])
            if node.name in equations:
                return ev(equations[node.name])
            if node.name in varying:
                raise SimulationSettingsError(
                    f"a simulation control (FINAL TIME, TIME STEP, SAVEPER) depends on "
                    f"parameter '{node.name}', which must then be the same in all runs of a batch"
                )
            raise SimulationSettingsError(
                f"a simulation control depends on '{node.name}', which is not known before "
                "the run starts; make the controls constants"
            )
        if isinstance(node, ir.Op):
            args = [ev(a) for a in node.args]
            return _py_op(node.op, args)
        if isinstance(node, ir.Call):
            if node.function == "if_then_else":
                return ev(node.args[1]) if ev(node.args[0]) != 0 else ev(node.args[2])
            if node.function in _PY_FUNCTIONS:
                try:
                    return float(_PY_FUNCTIONS[node.function](*(ev(a) for a in node.args)))
                except (ValueError, OverflowError) as exc:
                    raise SimulationSettingsError(
                        f"a simulation control could not be evaluated: {node.function.upper()} "
                        f"failed ({exc})"
                    ) from None
        raise SimulationSettingsError(
            f"a simulation control uses {type(node).__name__}, which gvcdyn cannot evaluate "
            "before the run; make the controls constants"
        )

    return float(ev(expr))


def _py_op(op: str, args: list[float]) -> float:
    if op == "neg":
        return -args[0]
    a, b = args[0], args[-1]
    table = {
        "+": lambda: a + b,
        "-": lambda: a - b,
        "*": lambda: a * b,
        "/": lambda: a / b if b != 0 else math.copysign(math.inf, a) if a else math.nan,
        "^": lambda: a**b,
        "<": lambda: float(a < b),
        "<=": lambda: float(a <= b),
        ">": lambda: float(a > b),
        ">=": lambda: float(a >= b),
        "=": lambda: float(a == b),
        "<>": lambda: float(a != b),
        "and": lambda: float(bool(a) and bool(b)),
        "or": lambda: float(bool(a) or bool(b)),
        "not": lambda: float(not a),
    }
    return float(table[op]())
