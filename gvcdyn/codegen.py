"""Generate the numba kernel source of a model from its IR.

The generated module is plain, readable Python: one local variable per scalar cell,
commented with its Vensim name, in the order the IR fixed. It defines

- ``simulate_<method>(c, out, save_rows, sel, t0, dt, n_steps, saveper, final_time)``:
  one run, serial; ``c`` is the run's parameter row, ``out`` its (saved time x selected
  variable) block, every cell of which it writes (NaN in the saved rows a run stops
  before: a non-finite stock, or a dynamic FINAL TIME); returns the run's status code;
- ``batch_<method>(C, OUT, STATUS, ...)``: a thin ``prange`` wrapper over runs.

Methods are ``euler`` (Vensim's update order, so results agree with Vensim and PySD to
rounding) and ``rk4`` (classic fourth order; discrete states update once per step).
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Callable, Mapping

from gvcdyn import functions, ir
from gvcdyn.status import NONFINITE_OUTPUT, NONFINITE_STATE, OK
from gvcdyn.timegrid import TIME_TOLERANCE

METHODS = ("euler", "rk4")
# prefixes the generator uses for derivatives, stage values and tables
_RESERVED_PREFIXES = ("d_", "u_", "k1_", "k2_", "k3_", "k4_", "y_", "lookup_", "n_", "pipe_", "p_")
_KERNEL_FLAGS = 'cache=True, error_model="numpy", nogil=True'
# data variables' modes as rt.data_value takes them
DATA_MODE_CODES = {"interpolate": 0, "hold_backward": 1, "look_forward": 2, "raw": 3}


def identifiers(model: ir.ModelIR) -> dict[str, str]:
    """A unique, readable Python identifier for every symbol of the model."""
    names: dict[str, str] = {
        "time": "time",
        "time_step": "dt",
        "initial_time": "t0",
        "saveper": "saveper",
        "final_time": "final_time",
    }
    taken = set(names.values()) | {
        "np",
        "rt",
        "prange",
        "njit",
        "c",
        "out",
        "sel",
        "vals",
        "status",
        "step",
        "row",
        "j",
        "n_steps",
        "save_rows",
        "total",
        "time_s",
        "next_row",
        "check",
    }
    taken |= set(keyword.kwlist) | set(dir(builtins))
    symbols = [p.symbol for p in model.parameters]
    symbols += [s.symbol for s in model.stocks] + [d.symbol for d in model.discrete_states]
    symbols += [f.symbol for f in model.fixed_delays]
    symbols += [e.symbol for e in model.initial_values]
    for block in (
        model.init_equations,
        model.static_equations,
        model.dynamic_equations,
        model.output_equations,
    ):
        symbols += [e.symbol for e in block]
    for symbol in symbols:
        if symbol in names:
            continue
        base = re.sub(r"\W+", "_", symbol.lower()).strip("_") or "v"
        if base[0].isdigit():
            base = "v_" + base
        if base.startswith(_RESERVED_PREFIXES) or base in taken:
            base = "v_" + base
        candidate = base
        counter = 1
        while candidate in taken:
            counter += 1
            candidate = f"{base}_{counter}"
        names[symbol] = candidate
        taken.add(candidate)
    return names


class _Emitter:
    """Turns IR expressions into Python source, with a renaming for RK4 stages."""

    def __init__(
        self,
        names: Mapping[str, str],
        tables: Mapping[str, str],
        modes: Mapping[str, str] | None = None,
    ) -> None:
        self.names = names
        self.tables = tables
        self.modes = modes or {}  # table -> data mode (gvcdyn.lower.external)

    def expr(self, node: ir.Expr, rename: Callable[[str], str]) -> str:
        if isinstance(node, ir.Num):
            return _float(node.value)
        if isinstance(node, ir.Sym):
            return rename(node.name)
        if isinstance(node, ir.LookupCall):
            table = self.tables[node.table]
            mode = self.modes.get(node.table, "interpolate")
            if mode != "interpolate":  # a data variable's table (gvcdyn.lower.external)
                code = DATA_MODE_CODES[mode]
                return f"rt.data_value({self.expr(node.arg, rename)}, {table}_X, {table}_Y, {code})"
            return f"rt.lookup({self.expr(node.arg, rename)}, {table}_X, {table}_Y)"
        if isinstance(node, ir.Op):
            return self._op(node, rename)
        return self._call(node, rename)

    def cond(self, node: ir.Expr, rename: Callable[[str], str]) -> str:
        """A boolean Python expression (Vensim truth: nonzero)."""
        if isinstance(node, ir.Op):
            operator = functions.OPERATORS[node.op]
            if operator.kind == "comparison":
                a, b = (self.expr(x, rename) for x in node.args)
                return f"({a} {operator.python} {b})"
            if operator.kind == "logic" and operator.arity == 2:
                a, b = (self.cond(x, rename) for x in node.args)
                return f"({a} {operator.python} {b})"
            if operator.kind == "logic":
                return f"({operator.python} {self.cond(node.args[0], rename)})"
        return f"({self.expr(node, rename)} != 0.0)"

    def _op(self, node: ir.Op, rename: Callable[[str], str]) -> str:
        operator = functions.OPERATORS[node.op]
        if operator.kind != "arithmetic":
            return f"(1.0 if {self.cond(node, rename)} else 0.0)"
        args = [self.expr(a, rename) for a in node.args]
        if operator.arity == 1:
            return f"({operator.python}{args[0]})"
        power = functions.whole_power(node)
        if power is not None:
            return "(" + " * ".join([args[0]] * power) + ")"
        if node.op == "^":
            return functions.power_source(args[0], args[1])
        return f"({args[0]} {operator.python} {args[1]})"

    def _call(self, node: ir.Call, rename: Callable[[str], str]) -> str:
        function = functions.get(node.function)
        args = tuple(
            self.cond(a, rename) if i in function.condition_args else self.expr(a, rename)
            for i, a in enumerate(node.args)
        )
        return function.emit(functions.Emit(args, node.args, rename("time"), rename("time_step")))


def _float(value: float) -> str:
    if value != value:
        return "np.nan"
    if value in (float("inf"), float("-inf")):
        return "np.inf" if value > 0 else "-np.inf"
    return repr(float(value))


def visible_cells(model: ir.ModelIR) -> list[str]:
    """Every cell a result can report, in a fixed order (the kernel's ``vals`` buffer)."""
    return [cell for var in model.variables for cell in var.cells]


def generate(model: ir.ModelIR) -> str:
    """The complete source of the kernel module for ``model``."""
    names = identifiers(model)
    tables = {lk.name: f"LOOKUP_{i}" for i, lk in enumerate(model.lookups)}
    emitter = _Emitter(names, tables, {lk.name: lk.mode for lk in model.lookups})
    lines = [
        f'"""Generated by gvcdyn from model {model.name!r} '
        f"(source sha256 {model.source_hash[:16]}).",
        "",
        "Do not edit: regenerated when the model or gvcdyn changes.",
        '"""',
        "import numpy as np",
        "from numba import njit, prange",
        "",
        "from gvcdyn import runtime as rt",
        "",
    ]
    # the data files' hashes are part of the source, so of the kernel cache key (their
    # values are too, as tables; constants read from them are parameter defaults)
    lines += [f"# data file sha256 {digest}" for _file, digest in model.data_files]
    for lk in model.lookups:
        table = tables[lk.name]
        lines.append(f"# lookup {lk.name}")
        lines.append(f"{table}_X = np.array({[float(x) for x in lk.xs]!r})")
        lines.append(f"{table}_Y = np.array({[float(y) for y in lk.ys]!r})")
    lines.append("")
    for method in METHODS:
        lines += _simulate_function(model, method, names, emitter)
        lines += _batch_function(method)
    return "\n".join(lines) + "\n"


def _assign(symbol: str, code: str, names: Mapping[str, str], indent: str) -> str:
    target = names[symbol]
    comment = "" if target == symbol else f"  # {symbol}"
    return f"{indent}{target} = {code}{comment}"


def _simulate_function(
    model: ir.ModelIR, method: str, names: Mapping[str, str], emitter: _Emitter
) -> list[str]:
    plain = names.__getitem__
    i1, i2, i3 = "    ", "        ", "            "
    out = [
        f"@njit({_KERNEL_FLAGS})",
        f"def simulate_{method}(c, out, save_rows, sel, t0, dt, n_steps, saveper, final_time):",
        f'{i1}"""One run ({method}). Returns its status code."""',
        f"{i1}time = t0",
        f"{i1}status = {OK}",
        f"{i1}next_row = 0  # rows from here on are not reached (yet)",
    ]
    out.append(f"{i1}# parameters")
    for p in model.parameters:
        out.append(_assign(p.symbol, f"c[{p.column}]", names, i1))
    out.append(f"{i1}# initialization")
    for eq in model.init_equations:
        out.append(_assign(eq.symbol, emitter.expr(eq.expr, plain), names, i1))
    for f in model.fixed_delays:
        ident = names[f.symbol]
        out.append(f"{i1}n_{ident} = int(round(max({names[f.delay_symbol]} / dt, 1.0) + 1e-6))")
        out.append(f"{i1}pipe_{ident} = np.full(n_{ident}, {ident})")
        out.append(f"{i1}p_{ident} = 0")
    out.append(f"{i1}# constant auxiliaries")
    for eq in model.static_equations:
        out.append(_assign(eq.symbol, emitter.expr(eq.expr, plain), names, i1))
    cells = visible_cells(model)
    out.append(f"{i1}vals = np.empty({max(len(cells), 1)})")
    out.append(f"{i1}for step in range(n_steps + 1):")
    for eq in model.dynamic_equations:
        out.append(_assign(eq.symbol, emitter.expr(eq.expr, plain), names, i2))
    out.append(f"{i2}row = save_rows[step]")
    out.append(f"{i2}if row >= 0:")
    out.append(f"{i3}next_row = row + 1")
    for eq in model.output_equations:
        out.append(_assign(eq.symbol, emitter.expr(eq.expr, plain), names, i3))
    for k, cell in enumerate(cells):
        out.append(f"{i3}vals[{k}] = {names[cell]}")
    out.append(f"{i3}total = 0.0")
    out.append(f"{i3}for j in range(sel.shape[0]):")
    out.append(f"{i3}    out[row, j] = vals[sel[j]]")
    out.append(f"{i3}    total += vals[sel[j]] * 0.0  # NaN if any value is NaN/inf")
    out.append(f"{i3}if not rt.all_finite(total):")
    out.append(f"{i3}    status = max(status, {NONFINITE_OUTPUT})")
    out.append(f"{i2}if step == n_steps:")
    out.append(f"{i3}break")
    if model.final_time_symbol is not None:
        tolerance = f"dt * {TIME_TOLERANCE!r}"  # the time grid's rule for the last step
        out.append(f"{i2}if not (time + {tolerance} < {names[model.final_time_symbol]}):")
        out.append(f"{i3}break")
    stocks = list(model.stocks)
    if method == "euler":
        out += _rates(model, emitter, plain, "d_", i2, names)
        out += _discrete_updates(model, names, i2)
        for s in stocks:
            out.append(f"{i2}{names[s.symbol]} = {names[s.symbol]} + dt * d_{names[s.symbol]}")
    else:
        out += _rk4_step(model, emitter, names, i2)
    out.append(f"{i2}time = time + dt")
    if stocks:
        # x * 0.0 is 0 for finite x and NaN otherwise: a sum that cannot overflow,
        # in short statements (one long expression overflows numba's recursion limit)
        idents = [names[s.symbol] for s in stocks]
        out.append(f"{i2}check = 0.0")
        for start in range(0, len(idents), 8):
            terms = " + ".join(f"{ident} * 0.0" for ident in idents[start : start + 8])
            out.append(f"{i2}check += {terms}")
        out.append(f"{i2}if not rt.all_finite(check):")
        out.append(f"{i3}rt.fill_unreached(out, next_row)")
        out.append(f"{i3}return {NONFINITE_STATE}")
    out.append(f"{i1}rt.fill_unreached(out, next_row)  # a dynamic FINAL TIME may stop early")
    out.append(f"{i1}return status")
    out.append("")
    out.append("")
    return out


def _rates(
    model: ir.ModelIR,
    emitter: _Emitter,
    rename: Callable[[str], str],
    prefix: str,
    indent: str,
    names: Mapping[str, str],
) -> list[str]:
    """Derivatives of all stocks (and discrete updates) from the current locals."""
    out = []
    for s in model.stocks:
        out.append(f"{indent}{prefix}{names[s.symbol]} = {emitter.expr(s.rate, rename)}")
    if prefix == "d_" or prefix == "k1_":
        for d in model.discrete_states:
            out.append(f"{indent}u_{names[d.symbol]} = {emitter.expr(d.update, rename)}")
        for f in model.fixed_delays:
            out.append(f"{indent}u_{names[f.symbol]} = {emitter.expr(f.input, rename)}")
    return out


def _discrete_updates(model: ir.ModelIR, names: Mapping[str, str], indent: str) -> list[str]:
    """Once per step, after the rates: SAMPLE IF TRUE / DELAY N registers, DELAY FIXED pipes."""
    out = [f"{indent}{names[d.symbol]} = u_{names[d.symbol]}" for d in model.discrete_states]
    for f in model.fixed_delays:
        ident = names[f.symbol]
        out.append(f"{indent}pipe_{ident}[p_{ident}] = u_{ident}")
        out.append(f"{indent}p_{ident} = (p_{ident} + 1) % n_{ident}")
        out.append(f"{indent}{ident} = pipe_{ident}[p_{ident}]")
    return out


def _rk4_step(
    model: ir.ModelIR, emitter: _Emitter, names: Mapping[str, str], indent: str
) -> list[str]:
    stock_ids = {s.symbol: names[s.symbol] for s in model.stocks}
    out = _rates(model, emitter, names.__getitem__, "k1_", indent, names)
    stages = (("k2_", "k1_", "0.5"), ("k3_", "k2_", "0.5"), ("k4_", "k3_", "1.0"))
    for prefix, previous, fraction in stages:
        out.append(f"{indent}time_s = time + {fraction} * dt")
        for _symbol, ident in stock_ids.items():
            out.append(f"{indent}y_{ident} = {ident} + {fraction} * dt * {previous}{ident}")

        def rename(symbol: str) -> str:
            if symbol == "time":
                return "time_s"
            if symbol in stock_ids:
                return f"y_{stock_ids[symbol]}"
            return names[symbol]

        for eq in model.dynamic_equations:
            out.append(_assign(eq.symbol, emitter.expr(eq.expr, rename), names, indent))
        out += _rates(model, emitter, rename, prefix, indent, names)
    out += _discrete_updates(model, names, indent)
    for ident in stock_ids.values():
        out.append(
            f"{indent}{ident} = {ident} + dt / 6.0 * "
            f"(k1_{ident} + 2.0 * k2_{ident} + 2.0 * k3_{ident} + k4_{ident})"
        )
    return out


def _batch_function(method: str) -> list[str]:
    return [
        f"@njit(parallel=True, {_KERNEL_FLAGS})",
        f"def batch_{method}(C, OUT, STATUS, save_rows, sel, t0, dt, n_steps, saveper, "
        "final_time):",
        '    """All runs of a batch, in parallel over runs."""',
        "    for r in prange(C.shape[0]):",
        f"        STATUS[r] = simulate_{method}(C[r], OUT[r], save_rows, sel, t0, dt, n_steps, "
        "saveper, final_time)",
        "",
        "",
    ]
