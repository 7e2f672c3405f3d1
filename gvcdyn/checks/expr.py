"""The small expression language of a check: readings of conditions, arithmetic, windows.

A check's quantities are written as Python-like expressions over its named conditions::

    strong["Functional Upgrading"] @ 20                  # a value at a saved time
    mean(weak["Cluster Market Position"], 10, 25)        # a window reduction
    2 * maximum(weak["Functional Upgrading"] @ t, 0)     # t: each time of the check's `at`
    cap["Initial Buyer Control"] - cap["Buyer Control"] @ 40   # a constant reads its value

``cond["Name"]`` is a time series (a stock or auxiliary, over the model's saved times)
or, for a constant, the run's parameter value. Only the syntax below is accepted (the
text is parsed with ``ast`` and never executed), so a check file cannot run code.

Every value is evaluated for all draws, backgrounds and sweep points at once: a series is
an array ``(draw, background, sweep, time)``, a number an array ``(draw, background,
sweep)`` or a Python float. ``@`` binds like ``*``; write ``(a @ 5) / (b @ 0)``.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gvcdyn.errors import RealityCheckError

__all__ = ["FUNCTIONS", "Expression", "Series", "parse"]


@dataclass(frozen=True)
class Series:
    """Values over the saved times: ``values[..., time]`` with ``times`` the time axis."""

    values: np.ndarray
    times: np.ndarray


Value = Any  # Series | np.ndarray | float


@dataclass(frozen=True)
class Expression:
    """A parsed, checked expression: its text, tree and what it reads.

    ``reads`` holds ``(condition, name)`` pairs in order of appearance.
    """

    text: str
    tree: ast.expr
    reads: tuple[tuple[str, str], ...] = field(default=())
    names: frozenset[str] = field(default=frozenset())


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
    ast.Pow: np.power,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
}
_CONSTANTS = {"inf": math.inf, "pi": math.pi, "e": math.e}


def parse(text: object, where: str) -> Expression:
    """Parse ``text`` or raise ``RealityCheckError`` naming ``where`` and the problem."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise RealityCheckError(f"{where}: expected an expression (a string), got {text!r}")
    source = str(text)
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as exc:
        raise RealityCheckError(f"{where}: {source!r} is not an expression ({exc.msg})") from None
    reads: list[tuple[str, str]] = []
    names: set[str] = set()
    _check_syntax(tree, where, source, reads, names)
    return Expression(source, tree, tuple(dict.fromkeys(reads)), frozenset(names))


def _check_syntax(
    node: ast.AST, where: str, source: str, reads: list[tuple[str, str]], names: set[str]
) -> None:
    def bad(what: str) -> RealityCheckError:
        return RealityCheckError(f"{where}: {what} in {source!r}")

    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise bad(f"{node.value!r} is not a number (quote names only inside cond[...])")
        return
    if isinstance(node, ast.Name):
        names.add(node.id)
        return
    if isinstance(node, ast.Subscript):
        key = node.slice
        if not (isinstance(node.value, ast.Name) and isinstance(key, ast.Constant)):
            raise bad('a reading must look like cond["Variable Name"]')
        if not isinstance(key.value, str):
            raise bad(f"cond[{key.value!r}]: the name must be a quoted string")
        reads.append((node.value.id, key.value))
        return
    if isinstance(node, ast.BinOp):
        if not isinstance(node.op, (*_BINOPS, ast.MatMult)):
            raise bad(f"operator {type(node.op).__name__} is not allowed")
        _check_syntax(node.left, where, source, reads, names)
        _check_syntax(node.right, where, source, reads, names)
        return
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise bad(f"operator {type(node.op).__name__} is not allowed")
        _check_syntax(node.operand, where, source, reads, names)
        return
    if isinstance(node, ast.Compare):
        if len(node.ops) != 1 or not isinstance(node.ops[0], tuple(_COMPARE)):
            raise bad("only one comparison <, <=, > or >= at a time is allowed")
        _check_syntax(node.left, where, source, reads, names)
        _check_syntax(node.comparators[0], where, source, reads, names)
        return
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            _check_syntax(value, where, source, reads, names)
        return
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise bad(f"unknown function '{name}' (known: {', '.join(sorted(FUNCTIONS))})")
        if node.keywords:
            raise bad(f"{node.func.id}() takes positional arguments only")
        low, high = FUNCTIONS[node.func.id][1]
        if not low <= len(node.args) <= high:
            want = f"{low}" if low == high else f"{low} to {high}"
            raise bad(f"{node.func.id}() takes {want} arguments, got {len(node.args)}")
        for arg in node.args:
            _check_syntax(arg, where, source, reads, names)
        return
    raise bad(f"'{ast.unparse(node)}' is not allowed")


# --------------------------------------------------------------------------- evaluation


def evaluate(expr: Expression, scope: Mapping[str, Any], read: Callable[[str, str], Value]) -> Any:
    """The value of ``expr``: ``scope`` maps bare names (``t``, ``let`` names) to values,
    ``read(condition, name)`` returns a reading."""
    return _eval(expr.tree, expr.text, scope, read)


def _eval(node: ast.AST, text: str, scope: Mapping[str, Any], read: Callable) -> Any:
    ev = lambda n: _eval(n, text, scope, read)  # noqa: E731
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id in scope:
            return scope[node.id]
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        known = sorted({*scope, *_CONSTANTS})
        raise RealityCheckError(
            f"unknown name '{node.id}' in {text!r} (known: {', '.join(known)}; a reading "
            'is written cond["Variable"])'
        )
    if isinstance(node, ast.Subscript):
        return read(node.value.id, node.slice.value)  # type: ignore[attr-defined]
    if isinstance(node, ast.BinOp):
        left, right = ev(node.left), ev(node.right)
        if isinstance(node.op, ast.MatMult):
            return _at(left, right, text)
        return _elementwise(_BINOPS[type(node.op)], left, right)
    if isinstance(node, ast.UnaryOp):
        value = ev(node.operand)
        return _elementwise(np.negative, value) if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Compare):
        return _elementwise(_COMPARE[type(node.ops[0])], ev(node.left), ev(node.comparators[0]))
    if isinstance(node, ast.BoolOp):
        op = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        values = [ev(v) for v in node.values]
        out = values[0]
        for v in values[1:]:
            out = _elementwise(op, out, v)
        return out
    if isinstance(node, ast.Call):
        function = FUNCTIONS[node.func.id][0]  # type: ignore[attr-defined]
        return function(text, *(ev(a) for a in node.args))
    raise RealityCheckError(f"cannot evaluate {ast.unparse(node)!r} in {text!r}")


def _elementwise(op: Callable, *args: Any) -> Any:
    series = next((a for a in args if isinstance(a, Series)), None)
    if series is None:
        with np.errstate(all="ignore"):
            return op(*args)
    values = [a.values if isinstance(a, Series) else _as_axis(a) for a in args]
    with np.errstate(all="ignore"):
        return Series(op(*values), series.times)


def _as_axis(value: Any) -> Any:
    """A number per run (``(..., )``) broadcast against a series (``(..., time)``)."""
    return np.asarray(value)[..., None] if np.ndim(value) else value


def _series(value: Any, function: str, text: str) -> Series:
    if not isinstance(value, Series):
        raise RealityCheckError(
            f"{function}() in {text!r} needs a time series as its first argument "
            '(cond["Variable"]), got a number'
        )
    return value


def _number(value: Any, what: str, text: str) -> float:
    if isinstance(value, Series) or np.ndim(value):
        raise RealityCheckError(f"{what} in {text!r} must be a fixed number")
    return float(value)


def _at(series: Any, time: Any, text: str) -> Any:
    """``series @ time``: the value at a saved time (per run when ``time`` varies)."""
    series = _series(series, "@", text)
    times = series.times
    if isinstance(time, Series):
        raise RealityCheckError(f"the time after @ in {text!r} must be a number, not a series")
    if np.ndim(time) == 0:
        row = _row_of(times, float(time))
        if row is None:
            raise RealityCheckError(
                f"time {float(time):g} in {text!r} is not a saved time of the model (saved: "
                f"{times[0]:g} to {times[-1]:g} every {_spacing(times):g})"
            )
        return series.values[..., row]
    time = np.broadcast_to(np.asarray(time, dtype=np.float64), series.values.shape[:-1])
    rows = np.clip(np.searchsorted(times, time), 0, len(times) - 1)
    rows_left = np.clip(rows - 1, 0, len(times) - 1)
    use_left = np.abs(times[rows_left] - time) < np.abs(times[rows] - time)
    rows = np.where(use_left, rows_left, rows)
    ok = np.abs(times[rows] - time) <= 1e-6 * _spacing(times)
    picked = np.take_along_axis(series.values, rows[..., None], axis=-1)[..., 0]
    return np.where(ok, picked, np.nan)


def _spacing(times: np.ndarray) -> float:
    return float(np.min(np.diff(times))) if len(times) > 1 else 1.0


def _row_of(times: np.ndarray, time: float) -> int | None:
    if not math.isfinite(time):
        return None
    row = int(np.argmin(np.abs(times - time)))
    return row if abs(times[row] - time) <= 1e-6 * _spacing(times) else None


def _window(series: Series, args: tuple, function: str, text: str) -> np.ndarray:
    """Mask of the saved times in ``[start, end]`` (both optional, inclusive)."""
    start = _number(args[0], f"the window start of {function}()", text) if args else -math.inf
    end = _number(args[1], f"the window end of {function}()", text) if len(args) > 1 else math.inf
    inside = (series.times >= start - 1e-9) & (series.times <= end + 1e-9)
    if not inside.any():
        raise RealityCheckError(f"{function}() in {text!r}: no saved time in [{start:g}, {end:g}]")
    return inside


def _reduce(kind: str) -> Callable[..., np.ndarray]:
    def reduce(text: str, value: Any, *window: Any) -> np.ndarray:
        series = _series(value, kind, text)
        inside = _window(series, window, kind, text)
        part = series.values[..., inside]
        if kind == "mean":
            return part.mean(axis=-1)
        if kind == "max":
            return part.max(axis=-1)
        if kind == "min":
            return part.min(axis=-1)
        pick = np.argmax(part, axis=-1) if kind == "argmax" else np.argmin(part, axis=-1)
        found = series.times[inside][pick]
        return np.where(np.isnan(part).any(axis=-1), np.nan, found)

    return reduce


def _first(text: str, condition: Any, after: Any = -math.inf) -> np.ndarray:
    """The first saved time later than ``after`` at which ``condition`` holds (NaN: never)."""
    condition = _series(condition, "first", text)
    later = condition.times > _as_axis(after)
    hit = condition.values.astype(bool) & later
    return np.where(hit.any(axis=-1), condition.times[np.argmax(hit, axis=-1)], np.nan)


def _half_time(text: str, value: Any, base: Any, start: Any) -> np.ndarray:
    """First saved time from ``start`` at which ``value - base`` reaches half its peak
    there (``inf`` when the gain never rises above zero)."""
    gain = _series(_elementwise(np.subtract, value, base), "half_time", text)
    inside = gain.times >= _number(start, "the start of half_time()", text) - 1e-9
    part = gain.values[..., inside]
    peak = part.max(axis=-1)
    with np.errstate(invalid="ignore"):
        reached = part >= 0.5 * peak[..., None]
    first = gain.times[inside][np.argmax(reached, axis=-1)]
    return np.where(np.isnan(peak), np.nan, np.where(peak <= 0, np.inf, first))


def _where(text: str, condition: Any, yes: Any, no: Any) -> Any:
    return _elementwise(np.where, condition, yes, no)


def _math(op: Callable) -> Callable[..., Any]:
    return lambda text, *args: _elementwise(op, *args)


#: name -> (function(text, *args), (fewest, most arguments))
FUNCTIONS: dict[str, tuple[Callable[..., Any], tuple[int, int]]] = {
    "mean": (_reduce("mean"), (1, 3)),
    "max": (_reduce("max"), (1, 3)),
    "min": (_reduce("min"), (1, 3)),
    "argmax": (_reduce("argmax"), (1, 3)),
    "argmin": (_reduce("argmin"), (1, 3)),
    "first": (_first, (1, 2)),
    "half_time": (_half_time, (3, 3)),
    "where": (_where, (3, 3)),
    "maximum": (_math(np.maximum), (2, 2)),
    "minimum": (_math(np.minimum), (2, 2)),
    "abs": (_math(np.abs), (1, 1)),
    "sqrt": (_math(np.sqrt), (1, 1)),
    "exp": (_math(np.exp), (1, 1)),
    "log": (_math(np.log), (1, 1)),
}
