"""The Python evaluator and the compiled kernel agree, for every registered function.

One kernel (compiled once) computes a fixed set of random expressions: every function
of ``gvcdyn.language.functions`` with random argument expressions, every operator, a lookup.
Hypothesis then draws parameter values (NaN, infinities and huge values included), the
time and the time step, runs a batch and checks that ``gvcdyn.language.interpret`` gives the same
value for every expression and row. Plus the cases the issue named: ``MIN(NaN, 1)`` and
``MIN(1, NaN)`` are both NaN; ``x^0.5`` with ``x < 0`` is NaN, never an exception.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gvcdyn
from gvcdyn.backend.timegrid import make_grid
from gvcdyn.language import functions, ir
from gvcdyn.language.interpret import evaluate

N_ANY = 4  # p0..p3: any float; p4, p5: moderate finite values
N_PARAMS = 6
TABLE = ir.Lookup("table", (0.0, 1.0, 1.0, 3.0), (2.0, 4.0, -1.0, 5.0))
ARITHMETIC = ["+", "-", "*", "/", "^"]
# RANDOM functions have no Python value to compare with (tests/test_random_functions.py)
DETERMINISTIC = {n: f for n, f in functions.FUNCTIONS.items() if not f.draws_random}
FREE_FUNCTIONS = [f for f in DETERMINISTIC.values() if f.arities and f.vensim]


def _leaf(rng: random.Random) -> ir.Expr:
    pick = rng.random()
    if pick < 0.6:
        return ir.Sym(f"p{rng.randrange(N_PARAMS)}")
    if pick < 0.75:
        return ir.TIME
    return ir.Num(rng.choice([0.0, 1.0, -1.0, 2.0, 0.5, 3.0, 4.0, 1e-7]))


def _expr(rng: random.Random, depth: int) -> ir.Expr:
    """A random expression: operators, user-callable functions and the lookup."""
    if depth == 0 or rng.random() < 0.3:
        return _leaf(rng)
    pick = rng.random()
    if pick < 0.35:
        op = rng.choice(ARITHMETIC)
        return ir.Op(op, (_expr(rng, depth - 1), _expr(rng, depth - 1)))
    if pick < 0.45:
        return ir.Op("neg", (_expr(rng, depth - 1),))
    if pick < 0.55:
        op = rng.choice(["<", "<=", ">", ">=", "=", "<>", "and", "or"])
        return ir.Op(op, (_expr(rng, depth - 1), _expr(rng, depth - 1)))
    if pick < 0.6:
        return ir.Op("not", (_expr(rng, depth - 1),))
    if pick < 0.65:
        return ir.LookupCall(TABLE.name, _expr(rng, depth - 1))
    function = rng.choice(FREE_FUNCTIONS)
    arity = rng.choice(function.arities)
    return ir.Call(function.name, tuple(_expr(rng, depth - 1) for _ in range(arity)))


def _calls(rng: random.Random) -> list[ir.Expr]:
    """Each registered function three times with random arguments; the internal ones in
    the shapes lowering builds them."""
    exprs: list[ir.Expr] = []
    for function in FREE_FUNCTIONS:
        for arity in function.arities:
            for _ in range(3):
                args = tuple(_expr(rng, 2) for _ in range(arity))
                exprs.append(ir.Call(function.name, args))
    p = [ir.Sym(f"p{i}") for i in range(N_PARAMS)]
    order = ir.Call("delay_order", (ir.Num(3.0), p[0], ir.Num(0.5)))  # 0..3, never NaN
    exprs += [
        order,
        ir.Call("delay_order", (ir.Num(4.0), _expr(rng, 2), ir.TIME_STEP)),
        ir.Call("gate", (ir.Op(">", (p[1], p[2])), _expr(rng, 2))),
        ir.Call("gate", (p[3], p[0])),
        ir.Call("select_stage", (order, p[1], p[2], _expr(rng, 2))),
        ir.Call("vector_select", (p[4], p[0], ir.Num(2.0), p[1], p[2], p[3], _expr(rng, 2))),
        ir.Call("vector_select", (ir.Num(5.0), p[0], ir.Num(2.0), p[1], p[4], p[2], p[5])),
        ir.Call("vector_select", (ir.Num(9.0), p[0], ir.Num(1.0), p[3], _expr(rng, 2))),
        ir.Call("vector_sort_order", (ir.Num(1.0), p[0], p[1], _expr(rng, 2), p[2])),
        ir.Call("vector_rank", (ir.Num(0.0), ir.Num(0.0), p[3], _expr(rng, 2))),
        ir.Call("vector_reorder", (ir.Num(1.0), p[4], _expr(rng, 2))),
        ir.Call(
            "allocate_by_priority",  # position, width, supply, 2 targets: requests, priorities
            (ir.Num(1.0), ir.Num(2.0), p[0], ir.Num(2.0), p[1], p[2], _expr(rng, 2), p[3]),
        ),
        *(
            ir.Call(  # position, avail, 2 targets: requests, ptypes, priorities, widths
                "allocate_available",
                (ir.Num(1.0), p[0], ir.Num(2.0), p[4], _expr(rng, 2), *ptypes, p[5], p[1], *widths),
            )
            for ptypes in ((ir.Num(1.0), ir.Num(2.0)), (ir.Num(3.0), ir.Num(4.0)))
            for widths in [(ir.Num(1.5), p[2])]
        ),
    ]
    # a 2x2 matrix that is never singular (|det| >= 19) whatever p4, p5 are
    cells = (ir.Num(4.0), ir.Call("tanh", (p[4],)), ir.Call("sin", (p[5],)), ir.Num(5.0))
    exprs += [
        ir.Call("inverse_entry", (ir.Num(r), ir.Num(c), *cells)) for r in (0, 1) for c in (0, 1)
    ]
    return exprs


def _expressions() -> list[ir.Expr]:
    rng = random.Random(8)
    return _calls(rng) + [_expr(rng, 4) for _ in range(40)]


EXPRESSIONS = _expressions()


def test_every_function_and_operator_is_exercised() -> None:
    used = {n.function for e in EXPRESSIONS for n in ir.walk(e) if isinstance(n, ir.Call)}
    ops = {n.op for e in EXPRESSIONS for n in ir.walk(e) if isinstance(n, ir.Op)}
    assert used == set(DETERMINISTIC)
    assert ops == set(functions.OPERATORS)


def _model() -> gvcdyn.Model:
    symbols = [f"e{i}" for i in range(len(EXPRESSIONS))]
    model_ir = ir.ModelIR(
        name="function_registry",
        source_hash="0" * 64,
        controls=ir.Controls(ir.Num(0.0), ir.Num(0.0), ir.Num(1.0), ir.Num(1.0)),
        parameters=tuple(ir.Parameter(f"p{i}", f"p{i}", i, 1.0) for i in range(N_PARAMS)),
        stocks=(),
        discrete_states=(),
        fixed_delays=(),
        init_equations=(),
        initial_values=(),
        static_equations=(),
        dynamic_equations=(),
        output_equations=tuple(
            ir.Equation(s, e) for s, e in zip(symbols, EXPRESSIONS, strict=True)
        ),
        lookups=(TABLE,),
        variables=tuple(ir.Variable(s, "auxiliary", (s,)) for s in symbols),
    )
    return gvcdyn.Model(model_ir)


@pytest.fixture(scope="module")
def model() -> gvcdyn.Model:
    return _model()


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-300)


ANY = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 3.0, 1e-7, -2.5, 1e300]),
)
MODERATE = st.floats(-20.0, 20.0)
ROW = st.tuples(*([ANY] * N_ANY), *([MODERATE] * (N_PARAMS - N_ANY)))


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(ROW, min_size=1, max_size=6),
    t0=st.floats(-3.0, 12.0),
    dt=st.sampled_from([0.03125, 0.25, 0.5, 1.0]),
)
def test_evaluator_equals_kernel(model: gvcdyn.Model, rows, t0: float, dt: float) -> None:
    matrix = np.array(rows, dtype=np.float64)
    raw = model.simulate(matrix, grid=make_grid(t0, t0, dt, dt))
    lookups = {TABLE.name: TABLE}
    for r, row in enumerate(rows):
        known = {f"p{i}": v for i, v in enumerate(row)} | {"time": t0, "time_step": dt}
        for k, expr in enumerate(EXPRESSIONS):
            expected = evaluate(expr, known.__getitem__, lookups)
            got = float(raw.values[r, 0, k])
            assert _same(got, expected), (expr, row, t0, dt, got, expected)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (ir.Call("min", (ir.Num(math.nan), ir.Num(1.0))), math.nan),
        (ir.Call("min", (ir.Num(1.0), ir.Num(math.nan))), math.nan),
        (ir.Call("max", (ir.Num(math.nan), ir.Num(1.0))), math.nan),
        (ir.Call("max", (ir.Num(1.0), ir.Num(math.nan))), math.nan),
        (ir.Op("^", (ir.Num(-4.0), ir.Num(0.5))), math.nan),
        (ir.Call("power", (ir.Num(-4.0), ir.Num(0.5))), math.nan),
        (ir.Call("sqrt", (ir.Num(-1.0),)), math.nan),
        (ir.Op("/", (ir.Num(1.0), ir.Num(0.0))), math.inf),
        (ir.Op("/", (ir.Num(-1.0), ir.Num(0.0))), -math.inf),
        (ir.Op("/", (ir.Num(0.0), ir.Num(0.0))), math.nan),
        (ir.Call("ln", (ir.Num(0.0),)), -math.inf),
        (ir.Call("modulo", (ir.Num(-7.0), ir.Num(3.0))), -1.0),
        (ir.Op("^", (ir.Num(2.0), ir.Op("^", (ir.Num(3.0), ir.Num(2.0))))), 512.0),
    ],
)
def test_numeric_edge_cases_never_raise(expr: ir.Expr, expected: float) -> None:
    value = evaluate(expr, {}.__getitem__)
    assert _same(value, expected)
