"""The Python evaluator of IR expressions, with the kernel's semantics.

One evaluator for every value gvcdyn needs before a kernel runs: the simulation controls
(``timegrid``) and the values fixed at compile time (the order of SMOOTH N / DELAY N in
lowering). Functions and operators come from the registry in ``functions``, so a value
computed here equals what the compiled kernel computes: numpy float arithmetic with
warnings silenced (``x/0`` is inf, a negative base with a fractional exponent is NaN),
never a Python exception for a numeric edge case.

Symbols, ``time`` and ``time_step`` included, are looked up with the caller's ``resolve``;
it raises the caller's own error for a symbol that has no value yet. A RANDOM function
has no value here (its draws belong to a run's stream in the kernel): it is refused by
name, before its arguments are looked at.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from gvcdyn import runtime as rt
from gvcdyn.errors import UnsupportedFeatureError
from gvcdyn.language import functions, ir

Resolver = Callable[[str], float]


def evaluate(
    expr: ir.Expr, resolve: Resolver, lookups: Mapping[str, ir.Lookup] | None = None
) -> float:
    """The value of ``expr``; symbols are looked up with ``resolve``."""
    with np.errstate(all="ignore"):
        return float(_value(expr, resolve, lookups or {}))


def _value(node: ir.Expr, resolve: Resolver, lookups: Mapping[str, ir.Lookup]) -> np.float64:
    if isinstance(node, ir.Num):
        return np.float64(node.value)
    if isinstance(node, ir.Sym):
        return np.float64(resolve(node.name))
    if isinstance(node, ir.Op):
        power = functions.whole_power(node)
        if power is not None:  # as the kernel: a product, rounded like it
            base = _value(node.args[0], resolve, lookups)
            result = base
            for _ in range(power - 1):
                result = result * base
            return result
        args = [_value(a, resolve, lookups) for a in node.args]
        return np.float64(functions.OPERATORS[node.op].evaluate(*args))
    if isinstance(node, ir.Call):
        function = functions.get(node.function)
        if function.draws_random:  # drawn in the kernel only: its ``evaluate`` raises why
            return np.float64(function.evaluate((), np.nan, np.nan))
        if function.chooses_branch:
            condition = _value(node.args[0], resolve, lookups)
            return _value(node.args[1 if condition != 0 else 2], resolve, lookups)
        args = [_value(a, resolve, lookups) for a in node.args]
        time = dt = np.nan
        if function.reads_time:
            time, dt = np.float64(resolve("time")), np.float64(resolve("time_step"))
        return np.float64(function.evaluate(args, time, dt))
    if isinstance(node, ir.LookupCall):
        table = lookups.get(node.table)
        if table is None:
            raise UnsupportedFeatureError(f"lookup '{node.table}' is not available here")
        x = _value(node.arg, resolve, lookups)
        xs, ys = np.asarray(table.xs), np.asarray(table.ys)
        if table.mode != "interpolate":  # a data variable's table, as the kernel reads it
            code = rt.DATA_MODE_CODES[table.mode]
            return np.float64(rt.data_value.py_func(x, xs, ys, code))
        return np.float64(rt.lookup.py_func(x, xs, ys))
    raise TypeError(f"not an IR expression: {node!r}")
