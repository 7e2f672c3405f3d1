"""gvcdyn's own model representation: small, frozen, and independent of PySD.

A model is lowered to *scalar cells*: every cell of every (possibly subscripted)
variable becomes one symbol, and every stateful builtin (SMOOTH, DELAY, TREND, ...)
becomes ordinary internal stocks. The code generator therefore only sees four
kinds of symbols (parameters, stocks, auxiliaries and INITIAL values) and plain
expressions over them, already sorted in evaluation order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from gvcdyn.errors import ParameterValueError

# --------------------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Num:
    """A literal number."""

    value: float


@dataclass(frozen=True)
class Sym:
    """A reference to a scalar symbol (a cell of a variable, an internal stock, ``time``...)."""

    name: str


@dataclass(frozen=True)
class Op:
    """An operator: ``+ - * / ^ neg < <= > >= = <> and or not``."""

    op: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Call:
    """A pure builtin function of its arguments (and of ``time``/``time_step`` where noted)."""

    function: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class LookupCall:
    """Linear interpolation in a lookup table, holding the end values outside its x range."""

    table: str
    arg: Expr


Expr = Num | Sym | Op | Call | LookupCall

TIME = Sym("time")
TIME_STEP = Sym("time_step")
# Control symbols are provided by the kernel itself, never computed by an equation.
CONTROL_SYMBOLS = frozenset({"time", "time_step", "initial_time", "saveper", "final_time"})


def children(expr: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of a node (none for a number or a symbol)."""
    if isinstance(expr, Op | Call):
        return expr.args
    if isinstance(expr, LookupCall):
        return (expr.arg,)
    return ()


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of an expression, the node itself first (depth first, pre-order)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))


def map_children(expr: Expr, fn: Callable[[Expr], Expr]) -> Expr:
    """The node rebuilt with ``fn`` applied to each direct child (a leaf is returned as is).

    Rewrites recurse by calling ``map_children`` from ``fn``; nodes whose children do not
    change are returned unchanged, so shared sub-trees stay shared.
    """
    if isinstance(expr, Op | Call):
        args = tuple(fn(a) for a in expr.args)
        if all(new is old for new, old in zip(args, expr.args, strict=True)):
            return expr
        return Op(expr.op, args) if isinstance(expr, Op) else Call(expr.function, args)
    if isinstance(expr, LookupCall):
        arg = fn(expr.arg)
        return expr if arg is expr.arg else LookupCall(expr.table, arg)
    return expr


def symbols_in(expr: Expr) -> set[str]:
    """All symbol names an expression reads."""
    return {node.name for node in walk(expr) if isinstance(node, Sym)}


def depth(expr: Expr) -> int:
    """Nesting depth of an expression (a leaf is 1), without recursion."""
    deepest = 0
    stack = [(expr, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children(node))
    return deepest


# Chains of more operands than this are built as balanced trees (see ``chain``); shorter
# ones left to right, as written (ordinary models: unchanged kernels and results).
LONG_CHAIN = 128
# Deepest expression the compiler accepts (the longest unbalanced chain and some room
# around it): the generated code nests about one parenthesis per level and Python's
# parser allows 200; the IR's rewrites recurse once per level.
MAX_DEPTH = 180
# operator -> the one that undoes it (a - b + c = a - (b - c)); both in one group
_INVERSE = {"+": "-", "-": "+", "*": "/", "/": "*"}


def chain(
    args: list[Expr],
    ops: list[str],
    make: Callable[[str, Expr, Expr], Expr] = lambda op, a, b: Op(op, (a, b)),
) -> Expr:
    """``args[0] ops[0] args[1] ops[1] ...`` read left to right: ``make(op, left, right)``
    builds each step (``Op`` by default).

    A chain of more than ``LONG_CHAIN`` operands whose operators are all ``+``/``-``, all
    ``*``/``/`` or all one of ``min``, ``max``, ``and``, ``or`` is built as
    a balanced tree instead, regrouped exactly (``a - b + c`` is ``a - (b - c)``): its depth
    grows as log2 of its length, not linearly, so a sum of 20,000 terms neither overflows
    Python's parser (200 nested parentheses) nor the recursion of the IR's rewrites. The
    value is the same up to rounding: the additions are done pairwise, not left to right.
    """
    if len(args) <= LONG_CHAIN or not _regroupable(ops):
        result = args[0]
        for op, arg in zip(ops, args[1:], strict=True):
            result = make(op, result, arg)
        return result
    return _balanced(args, ops, make)


def _regroupable(ops: list[str]) -> bool:
    kinds = set(ops)
    return kinds <= {"+", "-"} or kinds <= {"*", "/"} or kinds in _ASSOCIATIVE


_ASSOCIATIVE = ({"min"}, {"max"}, {"and"}, {"or"})  # min and max pass NaN on, as numpy's


def _balanced(args: list[Expr], ops: list[str], make: Callable[[str, Expr, Expr], Expr]) -> Expr:
    """``chain`` as a balanced tree (recursion depth log2 of the length)."""
    if len(args) == 1:
        return args[0]
    mid = len(args) // 2
    left = _balanced(args[:mid], ops[: mid - 1], make)
    join, rest = ops[mid - 1], ops[mid:]
    if join in ("-", "/"):  # a - (b - c) = a - b + c: the right half's operators flip
        rest = [_INVERSE[op] for op in rest]
    return make(join, left, _balanced(args[mid:], rest, make))


# --------------------------------------------------------------------------- model parts


@dataclass(frozen=True)
class Parameter:
    """A constant cell the user may set per run.

    ``column`` is its position in the per-run parameter row of the kernel.
    """

    name: str
    symbol: str
    column: int
    default: float
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    units: str = ""
    doc: str = ""
    variable: str = ""

    def outside_range(self, values: np.ndarray) -> np.ndarray:
        """Boolean mask of the values outside the documented ``[minimum, maximum]``."""
        values = np.asarray(values, dtype=np.float64)
        bad = np.zeros(values.shape, dtype=bool)
        if self.minimum is not None:
            bad |= values < self.minimum
        if self.maximum is not None:
            bad |= values > self.maximum
        return bad

    def range_text(self) -> str:
        """The documented range as ``[min, max]``, open ends as -inf/inf."""
        lo = "-inf" if self.minimum is None else f"{self.minimum:g}"
        hi = "inf" if self.maximum is None else f"{self.maximum:g}"
        return f"[{lo}, {hi}]"

    def check_values(self, values: np.ndarray, where: str, outside: str, hint: str) -> None:
        """Refuse what no run may take, naming the first: NaN (unless the default is NaN),
        ``{where}: NaN is not a valid value``; a value outside the documented range,
        ``{where} = {value:g} is outside <outside>``, where ``outside`` may name
        ``{range}`` and ``{name}`` (``Model.run``'s and a what-if's words differ)."""
        if np.isnan(values).any() and not math.isnan(self.default):
            raise ParameterValueError(f"{where}: NaN is not a valid value", variable=self.name)
        bad = self.outside_range(values)
        if bad.any():
            raise ParameterValueError(
                f"{where} = {values[bad][0]:g} is outside "
                + outside.format(range=self.range_text(), name=self.name),
                variable=self.name,
                hint=hint,
            )


@dataclass(frozen=True)
class Equation:
    """``symbol = expr``, evaluated in dependency order."""

    symbol: str
    expr: Expr


@dataclass(frozen=True)
class Stock:
    """An integrated state: ``d symbol/dt = rate``, starting at ``initial``."""

    symbol: str
    rate: Expr
    initial: Expr


@dataclass(frozen=True)
class DiscreteState:
    """A state overwritten once per step (SAMPLE IF TRUE): ``state := update`` after each step.

    ``update`` is evaluated with the other rates, on the state before the step.
    """

    symbol: str
    update: Expr
    initial: Expr


@dataclass(frozen=True)
class FixedDelay:
    """DELAY FIXED: a pipeline of ``round(max(T0/dt, 1))`` past inputs, as PySD's ``DelayFixed``.

    ``symbol`` holds the output; ``delay_symbol`` the delay time at initialization (an
    initialization equation). The pipeline is pushed once per step with ``input``.
    """

    symbol: str
    input: Expr
    initial: Expr
    delay_symbol: str


@dataclass(frozen=True)
class Lookup:
    """A lookup table: ``xs`` non-decreasing (a repeated x makes a step), ``ys`` alike long.

    ``mode`` is how a data variable's table is read between its points (PySD's ``Data``):
    ``interpolate`` (also every lookup), ``hold_backward``, ``look_forward`` or ``raw``.
    """

    name: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    mode: str = "interpolate"


@dataclass(frozen=True)
class Variable:
    """A model variable as the user knows it, with the symbols of its cells.

    ``dims`` are subscript range names, ``coords`` their element names; ``cells`` lists
    the cell symbols in C order over ``dims`` (one cell for a scalar variable).
    ``kind`` is one of ``constant``, ``stock``, ``auxiliary``, ``lookup``.
    """

    name: str
    kind: str
    cells: tuple[str, ...]
    dims: tuple[str, ...] = ()
    coords: tuple[tuple[str, ...], ...] = ()
    units: str = ""
    doc: str = ""
    time_varying: bool = True
    undefined: tuple[str, ...] = ()  # cells no equation defines (Vensim leaves them out)


@dataclass(frozen=True)
class Controls:
    """The simulation controls as expressions (FINAL TIME may depend on time)."""

    initial_time: Expr
    final_time: Expr
    time_step: Expr
    saveper: Expr
    time_units: str = ""
    # the integration method the model declares (Vensim's settings section): what a run
    # that names no method uses (gvcdyn.language.frontend.declared_integration)
    integration: str = "euler"


@dataclass(frozen=True)
class ModelIR:
    """A whole model, ready for code generation.

    - ``init_equations``: evaluated once at the initial time, initialization semantics
      (ACTIVE INITIAL takes its initial argument); they compute what stocks' initial values
      and INITIAL() values need.
    - ``initial_values``: INITIAL(x) symbols, frozen after initialization.
    - ``static_equations``: auxiliaries that depend on no stock and not on time; computed
      once per run after initialization.
    - ``dynamic_equations``: what the rates need, recomputed at every evaluation of the rates.
    - ``output_equations``: auxiliaries nothing dynamic depends on; computed only at the
      time points that are saved.
    """

    name: str
    source_hash: str
    controls: Controls
    parameters: tuple[Parameter, ...]
    stocks: tuple[Stock, ...]
    discrete_states: tuple[DiscreteState, ...]
    fixed_delays: tuple[FixedDelay, ...]
    init_equations: tuple[Equation, ...]
    initial_values: tuple[Equation, ...]
    static_equations: tuple[Equation, ...]
    dynamic_equations: tuple[Equation, ...]
    output_equations: tuple[Equation, ...]
    lookups: tuple[Lookup, ...]
    variables: tuple[Variable, ...]
    final_time_symbol: str | None = None
    structural: tuple[str, ...] = ()  # parameters fixed at compile time (e.g. SMOOTH N order)
    data_files: tuple[tuple[str, str], ...] = ()  # (file, sha256) of every data file read

    def variable(self, name: str) -> Variable:
        """The variable with this (Vensim) name."""
        for var in self.variables:
            if var.name == name:
                return var
        raise KeyError(name)
