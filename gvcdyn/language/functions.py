"""The one registry of what gvcdyn knows about Vensim's functions and operators.

For every function an IR ``Call`` may name: how many arguments it takes, the Vensim name
a model calls it by (``None`` for the internal ones lowering builds), whether it reads the
current time, the numba source the code generator emits, and its value in Python. The
kernel emitter (``codegen``) and the Python evaluator (``evaluate``, used for simulation
controls and for values fixed at compile time) both read this table, so they cannot
drift apart: the Python side follows numpy's float semantics, as the kernel does with
``error_model="numpy"`` (``x/0`` is inf, ``(-1)^0.5`` is NaN, MIN/MAX pass NaN on), and the
runtime helpers are evaluated from the very source the kernel compiles (``py_func``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from gvcdyn import runtime as rt
from gvcdyn.errors import UnsupportedFeatureError
from gvcdyn.language import ir

Number = float | np.floating


@dataclass(frozen=True)
class Emit:
    """What an emitter passes a function: argument sources and the names of time and dt.

    Arguments listed in the function's ``condition_args`` arrive as Python booleans.
    """

    args: tuple[str, ...]
    nodes: tuple[ir.Expr, ...]
    time: str
    dt: str


@dataclass(frozen=True)
class Function:
    """One function of the IR: arity, Vensim name, numba source and Python value."""

    name: str
    arities: tuple[int, ...] | None  # allowed argument counts; None: built by lowering
    emit: Callable[[Emit], str]
    evaluate: Callable[[Sequence[Number], float, float], Number]  # (args, time, dt)
    vensim: str | None = None  # PySD's reference name of the Vensim function
    reads_time: bool = False
    condition_args: tuple[int, ...] = ()
    chooses_branch: bool = False  # IF THEN ELSE: evaluate only the branch taken
    draws_random: bool = False  # takes a draw from the kernel's generator (RANDOM ...)


def _ufunc(
    name: str, numpy_name: str, vensim: str | None = None, libm: str | None = None
) -> Function:
    """A one-argument numpy function. ``libm``: the ``math`` function the kernel's
    ``np.<numpy_name>`` compiles to on a scalar, which the evaluator then calls too
    (numpy's own loops may differ in the last bit, and a step in a lookup table or a
    comparison can turn one bit into a different result)."""
    ufunc = getattr(np, numpy_name)
    value = ufunc if libm is None else _as_libm(getattr(math, libm), ufunc)
    return Function(
        name,
        (1,),
        lambda e: f"np.{numpy_name}({e.args[0]})",
        lambda a, t, dt: value(a[0]),
        vensim=vensim or name,
    )


def _as_libm(libm: Callable[[float], float], ufunc: np.ufunc) -> Callable[[Number], Number]:
    """``libm`` as numba calls it: numpy's NaN or infinity where ``math`` raises."""

    def value(x: Number) -> Number:
        try:
            return np.float64(libm(x))
        except (ValueError, OverflowError):
            with np.errstate(all="ignore"):
                return ufunc(x)

    return value


def _runtime(name: str, arities: tuple[int, ...], vensim: str | None = None) -> Function:
    helper = getattr(rt, name)
    return Function(
        name,
        arities,
        lambda e: f"rt.{name}({', '.join(e.args)})",
        lambda a, t, dt: helper.py_func(*a),
        vensim=vensim,
    )


def _ramp_source(e: Emit) -> str:
    if len(e.args) == 3:
        return f"rt.ramp({e.args[0]}, {e.args[1]}, {e.args[2]}, {e.time})"
    return f"rt.ramp_open({e.args[0]}, {e.args[1]}, {e.time})"


def _ramp_value(a: Sequence[Number], time: float, dt: float) -> Number:
    if len(a) == 3:
        return rt.ramp.py_func(a[0], a[1], a[2], time)
    return rt.ramp_open.py_func(a[0], a[1], time)


def _ordering(name: str) -> Function:
    """VECTOR SORT ORDER / VECTOR RANK of one cell: (position, direction, *vector)."""
    helper = getattr(rt, name)
    return Function(
        name,
        None,
        lambda e: f"rt.{name}({e.args[0]}, {e.args[1]}, ({', '.join(e.args[2:])},))",
        lambda a, t, dt: helper.py_func(a[0], a[1], tuple(a[2:])),
    )


def _counted(name: str, head: int, groups: int) -> Function:
    """A runtime helper called with ``head`` scalars, then ``groups`` tuples of ``n``
    arguments each, ``n`` being the count lowering puts right after the scalars (VECTOR
    SELECT, ALLOCATE BY PRIORITY, ALLOCATE AVAILABLE); the last tuple takes the rest."""
    helper = getattr(rt, name)

    def split(args: Sequence, n: int) -> list[Sequence]:
        cuts = [head + 1 + k * n for k in range(groups)]
        return [args[a:b] for a, b in zip(cuts, [*cuts[1:], len(args)], strict=True)]

    def source(e: Emit) -> str:
        n = int(e.nodes[head].value)  # lowering puts the count here
        tuples = ", ".join(f"({', '.join(g)},)" for g in split(e.args, n))
        return f"rt.{name}({', '.join(e.args[:head])}, {tuples})"

    def value(a: Sequence[Number], time: float, dt: float) -> Number:
        return helper.py_func(*a[:head], *(tuple(g) for g in split(a, int(a[head]))))

    return Function(name, None, source, value)


# Vensim's special variable that seeds the RANDOM functions' stream, and its value in a
# model that does not define it (Vensim's documentation: "an integer between 0 and 2^31")
NOISE_SEED = "NOISE SEED"
NOISE_SEED_DEFAULT = 4487556.0


def _not_before_run(title: str) -> Callable[[Sequence[Number], float, float], Number]:
    """The Python value of a random function: there is none (draws happen in the kernel)."""

    def refuse(a: Sequence[Number], time: float, dt: float) -> Number:
        raise UnsupportedFeatureError(
            f"{title} cannot be evaluated before the run: random numbers are drawn inside "
            "the compiled kernel only, so a simulation control (FINAL TIME, TIME STEP, "
            "SAVEPER) or the order of SMOOTH N / DELAY N must not depend on a random function"
        )

    return refuse


def _random(name: str, n_args: int, title: str) -> Function:
    """A Vensim RANDOM function (``title`` as Vensim writes it): ``rt.<name>`` of its
    arguments without the last one, the stream ID, which is ignored (as PySD does): every
    call draws from the run's one stream, seeded by NOISE SEED. ``reads_time``: its value
    changes at every evaluation, so scheduling never takes it for a constant."""
    helper_args = max(n_args - 1, 0)
    return Function(
        name,
        (n_args,),
        lambda e: f"rt.{name}({', '.join(e.args[:helper_args])})",
        _not_before_run(title),
        vensim=name,
        reads_time=True,
        draws_random=True,
    )


_FUNCTIONS: tuple[Function, ...] = (
    Function("abs", (1,), lambda e: f"abs({e.args[0]})", lambda a, t, dt: np.abs(a[0]), "abs"),
    _ufunc("exp", "exp", libm="exp"),
    _ufunc("ln", "log", libm="log"),
    _ufunc("sqrt", "sqrt", libm="sqrt"),
    _ufunc("sin", "sin", libm="sin"),
    _ufunc("cos", "cos", libm="cos"),
    _ufunc("tan", "tan", libm="tan"),
    _ufunc("arcsin", "arcsin", libm="asin"),
    _ufunc("arccos", "arccos", libm="acos"),
    _ufunc("arctan", "arctan", libm="atan"),
    _ufunc("sinh", "sinh", libm="sinh"),
    _ufunc("cosh", "cosh", libm="cosh"),
    _ufunc("tanh", "tanh", libm="tanh"),
    _ufunc("integer", "trunc"),
    Function(
        "log",
        (2,),
        lambda e: f"(np.log({e.args[0]}) / np.log({e.args[1]}))",
        lambda a, t, dt: np.log(a[0]) / np.log(a[1]),
        "log",
    ),
    Function(
        "power",
        (2,),
        lambda e: power_source(e.args[0], e.args[1]),
        lambda a, t, dt: np.float64(a[0]) ** np.float64(a[1]),
        "power",
    ),
    Function("pi", (0,), lambda e: "np.pi", lambda a, t, dt: np.pi, "pi"),
    # np.minimum/np.maximum pass NaN on from either side, as in PySD
    Function(
        "min",
        (2,),
        lambda e: f"np.minimum({e.args[0]}, {e.args[1]})",
        lambda a, t, dt: np.minimum(a[0], a[1]),
        "min",
    ),
    Function(
        "max",
        (2,),
        lambda e: f"np.maximum({e.args[0]}, {e.args[1]})",
        lambda a, t, dt: np.maximum(a[0], a[1]),
        "max",
    ),
    _runtime("modulo", (2,), "modulo"),
    _runtime("quantum", (2,), "quantum"),
    _runtime("xidz", (3,), "xidz"),
    _runtime("zidz", (2,), "zidz"),
    Function(
        "if_then_else",
        (3,),
        lambda e: f"({e.args[1]} if {e.args[0]} else {e.args[2]})",
        lambda a, t, dt: a[1] if a[0] != 0 else a[2],
        "if_then_else",
        condition_args=(0,),
        chooses_branch=True,
    ),
    # initialization blocks were rewritten by scheduling: elsewhere it is its first argument
    Function(
        "active_initial",
        (2,),
        lambda e: e.args[0],
        lambda a, t, dt: a[0],
        "active_initial",
    ),
    Function(
        "step",
        (2,),
        lambda e: f"rt.step({e.args[0]}, {e.args[1]}, {e.time}, {e.dt})",
        lambda a, t, dt: rt.step.py_func(a[0], a[1], t, dt),
        "step",
        reads_time=True,
    ),
    Function("ramp", (2, 3), _ramp_source, _ramp_value, "ramp", reads_time=True),
    Function(
        "pulse",
        (2,),
        lambda e: f"rt.pulse({e.args[0]}, {e.args[1]}, {e.time})",
        lambda a, t, dt: rt.pulse.py_func(a[0], a[1], t),
        "pulse",
        reads_time=True,
    ),
    Function(
        "pulse_train",
        (4,),
        lambda e: f"rt.pulse_train({', '.join(e.args)}, {e.time})",
        lambda a, t, dt: rt.pulse_train.py_func(*a, t),
        "pulse_train",
        reads_time=True,
    ),
    # GET TIME VALUE(0, offset, 0): the simulation time plus offset, PySD's only
    # reproducible form; lowering refuses the others (they read the computer clock)
    Function(
        "get_time_value",
        (3,),
        lambda e: f"({e.time} + {e.args[1]})",
        lambda a, t, dt: t + a[1],
        "get_time_value",
        reads_time=True,
    ),
    # random numbers: one draw from the run's stream per evaluation (gvcdyn.runtime)
    _random("random_0_1", 0, "RANDOM 0 1"),
    _random("random_uniform", 3, "RANDOM UNIFORM"),
    _random("random_normal", 5, "RANDOM NORMAL"),
    _random("random_exponential", 5, "RANDOM EXPONENTIAL"),
    # internal: built by lowering, never called by name from a model
    _runtime("delay_order", (3,)),
    Function(
        "gate",  # value where the condition holds, else 0, without a branch block
        (2,),
        lambda e: f"rt.gate({e.args[0]}, {e.args[1]})",
        lambda a, t, dt: rt.gate.py_func(a[0] != 0, a[1]),
        condition_args=(0,),
    ),
    Function(
        "select_stage",
        None,
        lambda e: f"rt.select_stage({e.args[0]}, ({', '.join(e.args[1:])},))",
        lambda a, t, dt: rt.select_stage.py_func(a[0], tuple(a[1:])),
    ),
    _counted("vector_select", 2, 2),  # (action, missing, n, *selections, *expressions)
    _ordering("vector_sort_order"),
    _ordering("vector_rank"),
    Function(
        "vector_reorder",  # (offset, *vector)
        None,
        lambda e: f"rt.vector_reorder({e.args[0]}, ({', '.join(e.args[1:])},))",
        lambda a, t, dt: rt.vector_reorder.py_func(a[0], tuple(a[1:])),
    ),
    # (position, width, supply, n, *requests, *priorities)
    _counted("allocate_by_priority", 3, 2),
    # (position, avail, n, *requests, *ptypes, *ppriorities, *pwidths)
    _counted("allocate_available", 2, 4),
    Function(
        "inverse_entry",
        None,
        lambda e: (
            f"rt.inverse_entry(int({e.args[0]}), int({e.args[1]}), ({', '.join(e.args[2:])},))"
        ),
        lambda a, t, dt: rt.inverse_entry.py_func(int(a[0]), int(a[1]), tuple(a[2:])),
    ),
)

FUNCTIONS: dict[str, Function] = {f.name: f for f in _FUNCTIONS}
# Vensim function (PySD's reference name) -> IR function
BY_VENSIM_NAME: dict[str, Function] = {f.vensim: f for f in _FUNCTIONS if f.vensim}


def get(name: str) -> Function:
    """The registered function ``name``; an unknown name is a lowering bug."""
    try:
        return FUNCTIONS[name]
    except KeyError:
        raise UnsupportedFeatureError(f"gvcdyn has no function '{name}'") from None


# --------------------------------------------------------------------------- operators


@dataclass(frozen=True)
class Operator:
    """An IR operator. ``kind`` is ``arithmetic``, ``comparison`` or ``logic``.

    Comparisons and logic have a truth value; as numbers they are 1.0 or 0.0. ``python``
    is the operator's spelling in generated source (and in the Python evaluator).
    """

    symbol: str
    arity: int
    kind: str
    python: str
    evaluate: Callable[..., Number]


OPERATORS: dict[str, Operator] = {
    o.symbol: o
    for o in (
        Operator("+", 2, "arithmetic", "+", lambda a, b: a + b),
        Operator("-", 2, "arithmetic", "-", lambda a, b: a - b),
        Operator("*", 2, "arithmetic", "*", lambda a, b: a * b),
        Operator("/", 2, "arithmetic", "/", lambda a, b: a / b),
        Operator("^", 2, "arithmetic", "**", lambda a, b: a**b),
        Operator("neg", 1, "arithmetic", "-", lambda a: -a),
        Operator("<", 2, "comparison", "<", lambda a, b: a < b),
        Operator("<=", 2, "comparison", "<=", lambda a, b: a <= b),
        Operator(">", 2, "comparison", ">", lambda a, b: a > b),
        Operator(">=", 2, "comparison", ">=", lambda a, b: a >= b),
        Operator("=", 2, "comparison", "==", lambda a, b: a == b),
        Operator("<>", 2, "comparison", "!=", lambda a, b: a != b),
        Operator("and", 2, "logic", "and", lambda a, b: a != 0 and b != 0),
        Operator("or", 2, "logic", "or", lambda a, b: a != 0 or b != 0),
        Operator("not", 1, "logic", "not", lambda a: a == 0),
    )
}


def power_source(base: str, exponent: str) -> str:
    """``base ** exponent`` in Python source; a negative literal base keeps its sign
    (``-1.0 ** x`` would be ``-(1.0 ** x)`` in Python)."""
    if base.startswith("-"):
        base = f"({base})"
    return f"({base} ** {exponent})"


def draws_random(expr: ir.Expr) -> bool:
    """Whether evaluating ``expr`` takes a draw from the run's random stream."""
    return any(
        isinstance(node, ir.Call) and get(node.function).draws_random for node in ir.walk(expr)
    )


def whole_power(node: ir.Op) -> int | None:
    """The exponent of ``x^2``, ``x^3`` or ``x^4`` with a literal exponent, else None.

    Such powers are computed as products (``pow`` costs ~20 ns a call in the hot loop);
    the evaluator does the same so that both round alike.
    """
    if node.op != "^":
        return None
    exponent = node.args[1]
    if isinstance(exponent, ir.Num) and exponent.value in (2.0, 3.0, 4.0):
        return int(exponent.value)
    return None
