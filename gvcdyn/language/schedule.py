"""Order a lowered model's equations into the kernel's blocks (IR -> IR, no PySD).

Lowering produces unordered parts: auxiliary equations by cell, stocks, discrete states,
fixed delays and INITIAL values. Scheduling sorts them once, deterministically, into

- an initialization block (ACTIVE INITIAL takes its initial argument there),
- a static block (no stock, no time: computed once per run),
- a dynamic block (what the rates need, every evaluation of the rates),
- an output block (everything else, only at saved times),

and reports an algebraic loop or an undefined name as ``ModelStructureError``.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
from dataclasses import dataclass, field

from gvcdyn.errors import ModelStructureError
from gvcdyn.language import functions, ir


@dataclass
class ModelParts:
    """What lowering produced, before ordering. Filled in place by the lowerer."""

    parameters: list[ir.Parameter] = field(default_factory=list)
    equations: dict[str, ir.Expr] = field(default_factory=dict)  # auxiliaries by cell symbol
    stocks: dict[str, ir.Stock] = field(default_factory=dict)
    discrete: dict[str, ir.DiscreteState] = field(default_factory=dict)
    fixed_delays: dict[str, ir.FixedDelay] = field(default_factory=dict)
    initials: dict[str, ir.Expr] = field(default_factory=dict)  # INITIAL(x) frozen values
    lookups: dict[str, ir.Lookup] = field(default_factory=dict)
    fixed: dict[str, float] = field(default_factory=dict)  # unchangeable constants (==)
    structural: set[str] = field(default_factory=set)  # variables that fix the model's shape


def init_expr(expr: ir.Expr) -> ir.Expr:
    """The expression as seen during initialization: ACTIVE INITIAL takes its 2nd argument."""
    if isinstance(expr, ir.Call) and expr.function == "active_initial":
        return init_expr(expr.args[1])
    return ir.map_children(expr, init_expr)


def uses_time(expr: ir.Expr) -> bool:
    """Whether the value can change with time without any stock changing."""
    return any(
        (isinstance(node, ir.Sym) and node.name == "time")
        or (isinstance(node, ir.Call) and functions.get(node.function).reads_time)
        for node in ir.walk(expr)
    )


def schedule(
    parts: ModelParts,
    controls: ir.Controls,
    variables: tuple[ir.Variable, ...],
    *,
    name: str,
    source_hash: str,
) -> ir.ModelIR:
    """Sort ``parts`` into the blocks of a ``ModelIR``.

    ``variables`` are the user's variables; their ``time_varying`` flag is set here (a
    variable whose cells are all parameters or static equations is constant per run).
    """
    _check_depth(parts, controls)
    equations = dict(parts.equations)
    final_time_symbol = None
    if uses_time(controls.final_time) or (
        ir.symbols_in(controls.final_time)
        - {p.symbol for p in parts.parameters}
        - ir.CONTROL_SYMBOLS
        - set(parts.fixed)
    ):
        final_time_symbol = "final_time~dynamic"
        equations[final_time_symbol] = controls.final_time

    params = {p.symbol for p in parts.parameters}
    stocks = set(parts.stocks) | set(parts.discrete) | set(parts.fixed_delays)
    initials = set(parts.initials)
    _check_defined(parts, equations, params | stocks | initials | set(equations))

    # dynamic/static split on the step-stage graph (stocks and INITIALs are sources)
    step_graph = {s: ir.symbols_in(e) & set(equations) for s, e in equations.items()}
    definition_order = itertools.chain(
        equations, parts.stocks, parts.discrete, parts.fixed_delays, parts.initials
    )
    rank = {symbol: i for i, symbol in enumerate(definition_order)}
    order = _sort(step_graph, "model equations", rank)
    static: set[str] = set()
    run_constants = params | initials | (ir.CONTROL_SYMBOLS - {"time", "final_time"})
    for symbol in order:
        expr = equations[symbol]
        deps = ir.symbols_in(expr)
        if not uses_time(expr) and not deps & stocks and deps <= run_constants | static:
            static.add(symbol)
    static_eqs = tuple(ir.Equation(s, equations[s]) for s in order if s in static)

    # what the rates need is computed every step; the rest only at saved times
    roots = [s.rate for s in parts.stocks.values()]
    roots += [d.update for d in parts.discrete.values()]
    roots += [f.input for f in parts.fixed_delays.values()]
    if final_time_symbol is not None:
        roots.append(ir.Sym(final_time_symbol))
    # a random draw is made every step, saved or not: drawn only at saved times, it would
    # shift every later draw of the run's stream, and the run would depend on SAVEPER
    draws = [s for s, e in equations.items() if s not in static and functions.draws_random(e)]
    roots += [ir.Sym(s) for s in draws]
    for_rates = _closure(
        (name for root in roots for name in ir.symbols_in(root)),
        lambda s: ir.symbols_in(equations[s]) if s in equations and s not in static else None,
    )
    dynamic_eqs = tuple(ir.Equation(s, equations[s]) for s in order if s in for_rates)
    output_eqs = tuple(
        ir.Equation(s, equations[s]) for s in order if s not in static and s not in for_rates
    )

    return ir.ModelIR(
        name=name,
        source_hash=source_hash,
        controls=controls,
        parameters=tuple(parts.parameters),
        stocks=tuple(parts.stocks.values()),
        discrete_states=tuple(parts.discrete.values()),
        fixed_delays=tuple(parts.fixed_delays.values()),
        init_equations=_init_block(parts, equations, rank),
        initial_values=tuple(ir.Equation(s, e) for s, e in parts.initials.items()),
        static_equations=static_eqs,
        dynamic_equations=dynamic_eqs,
        output_equations=output_eqs,
        lookups=tuple(parts.lookups.values()),
        variables=tuple(
            dataclasses.replace(v, time_varying=not all(c in params | static for c in v.cells))
            for v in variables
        ),
        final_time_symbol=final_time_symbol,
        structural=tuple(sorted(parts.structural)),
    )


def _check_depth(parts: ModelParts, controls: ir.Controls) -> None:
    """Refuse an expression nested deeper than the compiler can take (``ir.MAX_DEPTH``),
    before anything walks it recursively. Long sums and products are balanced by
    lowering (``ir.chain``), so this takes deeply nested text, as a power tower."""
    exprs = itertools.chain(
        parts.equations.items(),
        ((s.symbol, e) for s in parts.stocks.values() for e in (s.rate, s.initial)),
        ((d.symbol, e) for d in parts.discrete.values() for e in (d.update, d.initial)),
        ((f.symbol, e) for f in parts.fixed_delays.values() for e in (f.input, f.initial)),
        parts.initials.items(),
        (
            (name, getattr(controls, name))
            for name in ("initial_time", "final_time", "time_step", "saveper")
        ),
    )
    for owner, expr in exprs:
        depth = ir.depth(expr)
        if depth > ir.MAX_DEPTH:
            raise ModelStructureError(
                f"the equation of '{owner.split('~')[0]}' nests {depth} levels deep; gvcdyn "
                f"compiles at most {ir.MAX_DEPTH}: split it into auxiliary variables"
            )


def _check_defined(parts: ModelParts, equations: dict[str, ir.Expr], defined: set[str]) -> None:
    known = defined | ir.CONTROL_SYMBOLS
    for owner, expr in itertools.chain(
        equations.items(),
        ((s.symbol, s.rate) for s in parts.stocks.values()),
        ((d.symbol, d.input) for d in parts.fixed_delays.values()),
    ):
        unknown = ir.symbols_in(expr) - known
        if unknown:
            raise ModelStructureError(f"'{owner}' refers to undefined {sorted(unknown)}")


def _init_block(
    parts: ModelParts, equations: dict[str, ir.Expr], rank: dict[str, int]
) -> tuple[ir.Equation, ...]:
    """Initialization: stocks' initial values, INITIAL() values, discrete states, and what
    they need, in dependency order."""
    targets: dict[str, ir.Expr] = {}
    for stock in parts.stocks.values():
        targets[stock.symbol] = init_expr(stock.initial)
    for state in parts.discrete.values():
        targets[state.symbol] = init_expr(state.initial)
    for delay in parts.fixed_delays.values():
        targets[delay.symbol] = init_expr(delay.initial)
    for symbol, expr in parts.initials.items():
        targets[symbol] = init_expr(expr)
    exprs = {**{s: init_expr(e) for s, e in equations.items()}, **targets}
    needed = _closure(targets, lambda s: ir.symbols_in(exprs[s]) if s in exprs else None)
    graph = {s: ir.symbols_in(exprs[s]) & needed for s in needed}
    return tuple(ir.Equation(s, exprs[s]) for s in _sort(graph, "initial values", rank))


def _closure(start, dependencies) -> set[str]:
    """Every symbol reachable from ``start``; ``dependencies(s)`` is None for a leaf."""
    found: set[str] = set()
    stack = list(start)
    while stack:
        symbol = stack.pop()
        if symbol in found:
            continue
        deps = dependencies(symbol)
        if deps is None:
            continue
        found.add(symbol)
        stack.extend(deps)
    return found


def _sort(graph: dict[str, set[str]], what: str, rank: dict[str, int]) -> list[str]:
    """Topological order of ``graph`` (node -> its dependencies), ties broken by ``rank``.

    Deterministic on purpose: the generated source, and so the kernel cache key, must
    not depend on Python's per-process string hashing.
    """
    pending = {node: set(deps) & graph.keys() for node, deps in graph.items()}
    users: dict[str, list[str]] = {node: [] for node in graph}
    for node, deps in pending.items():
        for dep in deps:
            users[dep].append(node)
    ready = [(rank.get(n, 0), n) for n, deps in pending.items() if not deps]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, node = heapq.heappop(ready)
        order.append(node)
        for user in users[node]:
            pending[user].discard(node)
            if not pending[user]:
                heapq.heappush(ready, (rank.get(user, 0), user))
    if len(order) < len(graph):
        cycle = _find_cycle({n: d for n, d in pending.items() if d})
        raise ModelStructureError(
            f"{what}: the equations form a loop with no stock in it: {' -> '.join(cycle)}"
        )
    return order


def _find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle among the nodes left unsorted, named by their variables."""
    node = min(graph)
    path: list[str] = []
    seen: dict[str, int] = {}
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = min(graph[node])
    cycle = [*path[seen[node] :], node]
    names = [c.split("~")[0] for c in cycle]
    return [n for i, n in enumerate(names) if i == 0 or n != names[i - 1]]
