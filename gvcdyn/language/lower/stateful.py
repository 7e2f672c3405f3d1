"""Stateful builtins as internal stocks and frozen values, as PySD's runtime defines them.

SMOOTH*, DELAY1/3/N, TREND, FORECAST, SAMPLE IF TRUE, DELAY FIXED and INITIAL each become
ordinary IR parts (stocks, discrete states, a fixed-delay pipeline, INITIAL values) named
after the cell that uses them (``owner~smooth3[0]``...). The order of SMOOTH N / DELAY N
shapes the model, so it is evaluated here, at the initial time, from the parameters'
defaults; those parameters become structural (they cannot vary between runs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from pysd.translators.structures import abstract_expressions as ae

from gvcdyn.errors import ModelStructureError, UnsupportedFeatureError
from gvcdyn.language import ir
from gvcdyn.language.interpret import evaluate
from gvcdyn.language.lower.elements import CONTROL_NAMES, number_at
from gvcdyn.language.schedule import init_expr

if TYPE_CHECKING:
    from gvcdyn.language.lower.expressions import ExpressionLowerer

Env = dict[str, str]

#: The highest order of SMOOTH N / DELAY N: each order is an internal stock, and an order
#: of 1e6 (one digit changed) took minutes and gigabytes before failing with MemoryError.
MAX_ORDER = 1000


def smooth(low: ExpressionLowerer, node: Any, env: Env, owner: str) -> ir.Expr:
    """SMOOTH/SMOOTH3/SMOOTH N: a chain of ``order`` stocks, all starting at ``init``."""
    order = static_order(low, node, env, owner, "SMOOTH N")
    u = low.expr(node.input, env, owner)
    tau = low.expr(node.smooth_time, env, owner)
    init = low.expr(node.initial, env, owner)
    base = low.unique(owner, "smooth")
    states = [f"{base}[{k}]" for k in range(order)]
    for k, state in enumerate(states):
        upstream = u if k == 0 else ir.Sym(states[k - 1])
        rate = ir.Op("/", (ir.Op("*", (ir.Op("-", (upstream, ir.Sym(state))), ir.Num(order))), tau))
        low.parts.stocks[state] = ir.Stock(state, rate, init)
    return ir.Sym(states[-1])


def delay(low: ExpressionLowerer, node: Any, env: Env, owner: str) -> ir.Expr:
    """DELAY1/DELAY3/DELAY N as a chain of internal stocks, as PySD's ``Delay``/``DelayN``.

    Every stage starts at ``init*T`` and empties at ``stage/T``. For DELAY N each stage
    divides by the delay time of its own age: a shift register of past delay times,
    pushed once per step (the register is a set of discrete states).
    """
    is_n = isinstance(node, ae.DelayNStructure)
    order = static_order(low, node, env, owner, "DELAY N" if is_n else "DELAY")
    u = low.expr(node.input, env, owner)
    tau = low.expr(node.delay_time, env, owner)
    init = low.expr(node.initial, env, owner)
    base = low.unique(owner, "delay")
    states = [f"{base}[{k}]" for k in range(order)]
    if is_n:
        register = [f"{base}~time[{k}]" for k in range(order)]
        pushed = [tau] + [ir.Sym(r) for r in register[:-1]]  # times after this step's push
        for symbol, value in zip(register, pushed, strict=True):
            low.parts.discrete[symbol] = ir.DiscreteState(symbol, value, tau)
        output_time: ir.Expr = ir.Sym(register[0])
    else:
        pushed = [tau] * order
        output_time = tau
    # PySD lowers the order at initialization while order*TIME STEP > delay time
    effective: ir.Expr = ir.Num(order)
    if order > 1:
        order_symbol = f"{base}~order"
        low.parts.initials[order_symbol] = ir.Call(
            "delay_order", (ir.Num(order), tau, ir.TIME_STEP)
        )
        effective = ir.Sym(order_symbol)
    for k, state in enumerate(states):
        inflow = u if k == 0 else ir.Op("/", (ir.Sym(states[k - 1]), pushed[k - 1]))
        outflow = ir.Op("/", (ir.Sym(state), pushed[k]))
        rate: ir.Expr = ir.Op("*", (effective, ir.Op("-", (inflow, outflow))))
        if k > 0:  # stages past the effective order stay still (branch-free: see gate)
            rate = ir.Call("gate", (ir.Op(">", (effective, ir.Num(k))), rate))
        low.parts.stocks[state] = ir.Stock(state, rate, ir.Op("*", (init, tau)))
    output: ir.Expr = ir.Sym(states[0])
    if order > 1:
        output = ir.Call("select_stage", (effective, *(ir.Sym(x) for x in states)))
    return ir.Op("/", (output, output_time))


def trend(low: ExpressionLowerer, node: Any, env: Env, owner: str) -> ir.Expr:
    """TREND and FORECAST: one averaging stock of the input."""
    forecast = isinstance(node, ae.ForecastStructure)
    u = low.expr(node.input, env, owner)
    tau = low.expr(node.average_time, env, owner)
    trend0 = low.expr(node.initial_trend, env, owner)
    state = low.unique(owner, "forecast" if forecast else "trend")
    s = ir.Sym(state)
    if forecast:
        initial = ir.Op("/", (u, ir.Op("+", (ir.Num(1.0), trend0))))
    else:
        initial = ir.Op("/", (u, ir.Op("+", (ir.Num(1.0), ir.Op("*", (trend0, tau))))))
    low.parts.stocks[state] = ir.Stock(state, ir.Op("/", (ir.Op("-", (u, s)), tau)), initial)
    if forecast:
        horizon = low.expr(node.horizon, env, owner)
        ratio = ir.Call("zidz", (ir.Op("-", (u, s)), ir.Op("*", (tau, s))))
        return ir.Op("*", (u, ir.Op("+", (ir.Num(1.0), ir.Op("*", (ratio, horizon))))))
    return ir.Call("zidz", (ir.Op("-", (u, s)), ir.Op("*", (tau, ir.Call("abs", (s,))))))


def sample_if_true(low: ExpressionLowerer, node: Any, env: Env, owner: str) -> ir.Expr:
    """SAMPLE IF TRUE: value = input if condition else the last sample, kept per step."""
    symbol = low.unique(owner, "sample")
    condition = low.expr(node.condition, env, owner)
    value = ir.Call("if_then_else", (condition, low.expr(node.input, env, owner), ir.Sym(symbol)))
    low.parts.discrete[symbol] = ir.DiscreteState(symbol, value, low.expr(node.initial, env, owner))
    return value


def delay_fixed(low: ExpressionLowerer, node: Any, env: Env, owner: str) -> ir.Expr:
    """DELAY FIXED: a pipeline whose length is fixed by the delay time at initialization."""
    symbol = low.unique(owner, "delay_fixed")
    delay_symbol = f"{symbol}~T0"
    low.parts.initials[delay_symbol] = low.expr(node.delay_time, env, owner)
    low.parts.fixed_delays[symbol] = ir.FixedDelay(
        symbol,
        low.expr(node.input, env, owner),
        low.expr(node.initial, env, owner),
        delay_symbol,
    )
    return ir.Sym(symbol)


def initial(low: ExpressionLowerer, node: Any, env: Env, owner: str) -> ir.Expr:
    """INITIAL(x): x at initialization, frozen."""
    symbol = low.unique(owner, "initial")
    low.parts.initials[symbol] = low.expr(node.initial, env, owner)
    return ir.Sym(symbol)


BUILTINS: dict[type, Callable[[ExpressionLowerer, Any, Env, str], ir.Expr]] = {
    ae.SmoothStructure: smooth,
    ae.SmoothNStructure: smooth,
    ae.DelayStructure: delay,
    ae.DelayNStructure: delay,
    ae.TrendStructure: trend,
    ae.ForecastStructure: trend,
    ae.SampleIfTrueStructure: sample_if_true,
    ae.DelayFixedStructure: delay_fixed,
    ae.InitialStructure: initial,
}


def static_order(low: ExpressionLowerer, node: Any, env: Env, owner: str, what: str) -> int:
    """The order of SMOOTH N / DELAY N, fixed at initialization as PySD does.

    The order shapes the model (its number of internal stocks), so the parameters it
    is computed from become structural: they cannot vary between runs.
    """
    touched: set[str] = set()
    try:
        value = initial_value(low, node.order, env, owner, touched)
    except (ModelStructureError, UnsupportedFeatureError) as exc:
        raise UnsupportedFeatureError(
            f"'{owner}': the order of {what} must be computable at the initial time "
            f"from constants ({exc})"
        ) from None
    low.parts.structural |= touched
    if not np.isfinite(value):
        raise ModelStructureError(f"'{owner}': the order of {what} evaluates to {value}")
    order = int(value)  # PySD casts with int()
    if order < 1:
        raise ModelStructureError(f"'{owner}': the order of {what} is {value}, below 1")
    if order > MAX_ORDER:
        raise ModelStructureError(
            f"'{owner}': the order of {what} is {value:g}, above {MAX_ORDER} (one internal stock "
            "per order); use a lower order, or DELAY FIXED for a pipeline delay"
        )
    return order


def initial_value(
    low: ExpressionLowerer, node: Any, env: Env, owner: str, touched: set[str]
) -> float:
    """Value of an AST at the initial time from the defaults of scalar constants.

    The AST and the auxiliaries it reads are lowered by a scratch lowerer (whatever they
    would create is thrown away) and evaluated by the one IR evaluator, with
    initialization semantics (ACTIVE INITIAL takes its initial argument). The names of the
    constants read are added to ``touched``.
    """
    scratch = low.scratch()
    scratch.current = low.current
    scalars = {var.name: var for var in low.vars.values() if not var.dims}

    def lowered(ast: Any, env: Env, owner: str) -> ir.Expr:
        return init_expr(scratch.expr(ast, env, owner))

    def resolve(symbol: str) -> float:
        if symbol == "time":
            symbol = "initial_time"
        if symbol in CONTROL_NAMES:
            element = low.controls.get(symbol)
            if element is None:
                return 0.0 if symbol == "initial_time" else 1.0
            return evaluate(lowered(element.components[0].ast, {}, symbol), resolve)
        var = scalars.get(symbol)
        if var is None or var.kind not in {"constant", "auxiliary"}:
            raise UnsupportedFeatureError(f"'{symbol.split('~')[0]}' is not a scalar constant")
        if var.kind == "constant":
            touched.add(var.name)
            return number_at(var.element.components[0].ast, (0,))
        return evaluate(lowered(var.element.components[0].ast, {}, var.name), resolve)

    return evaluate(lowered(node, env, owner), resolve)
