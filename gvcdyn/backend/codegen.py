"""Generate the numba kernel source of a model from its IR.

The generated module is plain, readable Python: one local variable per scalar cell,
commented with its Vensim name, in the order the IR fixed. It defines

- ``batch_<method>(C, OUT, STATUS, save_rows, sel, t0, dt, n_steps, saveper,
  final_time)``: the runs of a batch one after the other, each run's code generated inside
  the loop over rows (:func:`_fixed_step_batch`, as ``adaptive`` does for its methods);
  row ``r`` of ``C`` is a run's parameters, ``OUT[r]`` its (saved time x selected
  variable) block, every cell of which it writes (NaN in the saved rows a run stops
  before: a non-finite stock, or a dynamic FINAL TIME), ``STATUS[r]`` its status code.
  The kernel module ``gvcdyn.backend.kernel`` runs slices of a batch's rows on several
  threads. Models split into compiled parts keep a ``simulate_<method>`` driver and a
  batch function that calls it.

Methods are ``euler`` (Vensim's update order, so results agree with Vensim and PySD to
rounding) and ``rk4`` (classic fourth order; discrete states update once per step).
"""

from __future__ import annotations

import builtins
import dataclasses
import functools
import keyword
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence

from numba.core import sigutils

from gvcdyn import runtime as rt
from gvcdyn.backend import stages
from gvcdyn.backend.stages import CHUNK as _CHUNK
from gvcdyn.backend.stages import tuple_items as _tuple_items
from gvcdyn.backend.timegrid import TIME_TOLERANCE
from gvcdyn.errors import SimulationSettingsError
from gvcdyn.language import functions, ir
from gvcdyn.language.subscripts import name_key
from gvcdyn.runtime import DATA_MODE_CODES
from gvcdyn.status import NONFINITE_FINAL_TIME, NONFINITE_OUTPUT, NONFINITE_STATE, OK

METHODS = ("euler", "rk4")
# prefixes the generator uses for derivatives, stage values and tables
_RESERVED_PREFIXES = ("d_", "u_", "k1_", "k2_", "k3_", "k4_", "y_", "lookup_", "n_", "pipe_", "p_")
_KERNEL_FLAGS = 'cache=True, error_model="numpy", nogil=True'


def identifiers(model: ir.ModelIR, taken_too: frozenset[str] = frozenset()) -> dict[str, str]:
    """A unique, readable Python identifier for every symbol of the model, none of them
    in ``taken_too`` (names the generated code uses itself)."""
    names: dict[str, str] = {
        "time": "time",
        "time_step": "dt",
        "initial_time": "t0",
        "saveper": "saveper",
        "final_time": "final_time",
    }
    taken = (
        set(names.values())
        | {
            "np",
            "rt",
            "prange",
            "njit",
            "c",
            "out",
            "sel",
            "vals",
            "vp",
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
            "r",
            "cp",
        }
        | set(taken_too)
    )
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
        base = _identifier_base(symbol)
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


def _identifier_base(symbol: str) -> str:
    """``symbol`` as the stem of a Python identifier, in the form Python itself uses.

    Python reads identifiers NFKC-normalised, so ``ﬁx`` and ``fix``, ``Ａ`` and ``a``, or
    ``ｃ`` and the kernel's own ``c`` would be one variable in the generated code although
    they are distinct Vensim names (as in PySD). The stem is normalised before the clash
    checks in :func:`identifiers`, which then tell such names apart with a suffix.
    """
    base = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", symbol).lower())
    base = re.sub(r"\W+", "_", base).strip("_")
    # characters that are word characters but may not continue an identifier
    base = "".join(ch if f"a{ch}".isidentifier() else "_" for ch in base).strip("_")
    if unicodedata.normalize("NFKC", base) != base:  # the edit above undid the normal form
        base = "".join(ch if ch.isascii() else f"_u{ord(ch):04x}_" for ch in base)
    return base or "v"


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
        self.modes = modes or {}  # table -> data mode (gvcdyn.language.lower.external)

    def expr(self, node: ir.Expr, rename: Callable[[str], str]) -> str:
        if isinstance(node, ir.Num):
            return _float(node.value)
        if isinstance(node, ir.Sym):
            return rename(node.name)
        if isinstance(node, ir.LookupCall):
            table = self.tables[node.table]
            mode = self.modes.get(node.table, "interpolate")
            if mode != "interpolate":  # a data variable's table (gvcdyn.language.lower.external)
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


def _equation_blocks(model: ir.ModelIR) -> tuple[tuple[ir.Equation, ...], ...]:
    """The model's equations, block by block, in the order the kernel first evaluates them."""
    return (
        model.init_equations,
        model.initial_values,
        model.static_equations,
        model.dynamic_equations,
        model.output_equations,
    )


def _expressions(model: ir.ModelIR) -> Iterable[ir.Expr]:
    """Every expression the kernel evaluates."""
    for block in _equation_blocks(model):
        yield from (eq.expr for eq in block)
    for s in model.stocks:
        yield from (s.rate, s.initial)
    for d in model.discrete_states:
        yield from (d.update, d.initial)
    for f in model.fixed_delays:
        yield from (f.input, f.initial)


def noise_seed(model: ir.ModelIR) -> str | None:
    """What seeds each run's random stream, as source (``c[k]``: the NOISE SEED parameter
    of the run), or None if the model draws no random numbers: then the kernel's source
    is what it was before random functions existed, and so is its cache key."""
    if not any(functions.draws_random(expr) for expr in _expressions(model)):
        return None
    key = name_key(functions.NOISE_SEED)
    for p in model.parameters:
        if name_key(p.name) == key:
            return f"c[{p.column}]"
    return _float(functions.NOISE_SEED_DEFAULT)  # an IR built without lowering's parameter


def visible_cells(model: ir.ModelIR) -> list[str]:
    """Every cell a result can report, in a fixed order (the kernel's ``vals`` buffer)."""
    return [cell for var in model.variables for cell in var.cells]


def generate(model: ir.ModelIR, split: bool | None = None) -> str:
    """The complete source of the kernel module for ``model``.

    ``split``: generate the kernel as several compiled parts (``True``), as one function
    (``False``), or decide by the model's size and $GVCDYN_KERNEL_SPLIT (``None``).
    """
    split = use_split(model, split)
    names = identifiers(model, _SPLIT_NAMES if split else frozenset())
    tables = lookup_tables(model)
    emitter = _Emitter(names, tables, {lk.name: lk.mode for lk in model.lookups})
    lines = module_head(model, tables, "")
    if split:
        lines += _split_kernel(model, names)
    else:
        states = state_cells(model)
        if states is not None:
            flags = [cell in states for cell in visible_cells(model)]
            lines += [f"STATE_CELLS = np.array({flags!r})  # cells the _states kernels save", ""]
        for method in METHODS:
            lines += _fixed_step_batch(model, method, names, emitter)
            if states is not None:
                lines += _fixed_step_batch(model, method, names, emitter, states)
                lines += [
                    f"batch_{method} = rt.SavedCellsBatch(",
                    f"    batch_{method}, batch_{method}{_STATES}, STATE_CELLS",
                    ")",
                    "",
                    "",
                ]
    return "\n".join(lines) + "\n"


def lookup_tables(model: ir.ModelIR) -> dict[str, str]:
    """Each lookup's name in a kernel module (``LOOKUP_<i>``, its arrays ``_X`` and ``_Y``)."""
    return {lk.name: f"LOOKUP_{i}" for i, lk in enumerate(model.lookups)}


def module_head(
    model: ir.ModelIR, tables: Mapping[str, str], title: str, constants: Sequence[str] = ()
) -> list[str]:
    """The lines every generated kernel module starts with, up to its functions.

    The docstring (``title`` follows the model's hash), the imports, ``constants`` (module
    lines such as an adaptive method's tolerance), the data files' hashes (part of the
    source, so of the kernel cache key; their values are too, as tables; constants read
    from them are parameter defaults) and each lookup's arrays. One function for the
    fixed-step and the adaptive modules, so both are keyed and laid out alike.
    """
    lines = [
        f'"""Generated by gvcdyn from model {model.name!r} '
        f"(source sha256 {model.source_hash[:16]}){title}.",
        "",
        "Do not edit: regenerated when the model or gvcdyn changes.",
        '"""',
        "import numpy as np",
        "from numba import njit",
        "",
        "from gvcdyn import runtime as rt",
        "",
        *constants,
    ]
    lines += [f"# data file sha256 {digest}" for _file, digest in model.data_files]
    for lk in model.lookups:
        table = tables[lk.name]
        lines.append(f"# lookup {lk.name}")
        # _float spells NaN (a missing data value) as np.nan; finite values as repr()
        lines.append(f"{table}_X = np.array([{', '.join(_float(x) for x in lk.xs)}])")
        lines.append(f"{table}_Y = np.array([{', '.join(_float(y) for y in lk.ys)}])")
    lines.append("")
    return lines


def _assign(symbol: str, code: str, names: Mapping[str, str], indent: str) -> str:
    target = names[symbol]
    comment = "" if target == symbol else f"  # {symbol}"
    return f"{indent}{target} = {code}{comment}"


def _fixed_step_batch(
    model: ir.ModelIR,
    method: str,
    names: Mapping[str, str],
    emitter: _Emitter,
    states: frozenset[str] | None = None,
) -> list[str]:
    """``batch_<method>``, or with ``states`` (:func:`state_cells`) its variant
    ``batch_<method>_states`` that can save only those cells: the runs of a batch (or of
    a slice of its rows), one after the other, each run's code inside the loop over the
    rows. A run that stops early (a stock or a dynamic FINAL TIME not finite) fills the
    rows not reached, sets its status and leaves its step loop (:func:`_stop_run`); the
    row's status is stored after that loop.

    Why inline, not a run function the batch function calls (issue 21): numba optimised
    and compiled the run's function with LLVM, then once more inside the batch function,
    which links it: gvc_upgrading's Euler kernel compiled in 1.80 s CPU, 1.56 s inline
    (after numba's first compile in the process, fresh cache, 2 runs each). The adaptive
    kernels' ``batch_<method>`` is made the same way (``adaptive._batch_function``)."""
    plain = names.__getitem__
    i0, i1, i2, i3 = "    ", "        ", "            ", "                "
    suffix = "" if states is None else _STATES
    out = [
        f"@njit({_KERNEL_FLAGS})",
        f"def batch_{method}{suffix}(C, OUT, STATUS, save_rows, sel, t0, dt, n_steps, saveper, "
        "final_time):",
        f'{i0}"""The runs of a batch (or of a slice of its rows), one after the other."""',
        f"{i0}for r in range(C.shape[0]):",
        f"{i1}c = C[r]",
        f"{i1}out = OUT[r]",
        f"{i1}time = t0",
        f"{i1}status = {OK}",
        f"{i1}next_row = 0  # rows from here on are not reached (yet)",
    ]
    out += _parameter_reads(model, names, i1)
    seed = noise_seed(model)
    if seed is not None:
        out.append(f"{i1}rt.seed_noise({seed})  # this run's random stream: NOISE SEED only")
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
    shared = _TimeShared(model, names) if method == "rk4" and SHARE_TIME_VALUES else None
    if states is None:
        out += saved_values_buffer(cells, i1)
        out.append(f"{i1}for step in range(n_steps + 1):")
    else:
        out += _states_row(model, cells, states, names, i1, _checks_at_saved_rows(model))
    if shared is not None and shared.count:
        names, plain = shared.names, shared.names.__getitem__
        out.append(f"{i2}if step == 0:  # later steps: the last RK4 stage's values (same time)")
        out += shared.statements(emitter, names.__getitem__, i3)
        for eq in calls_first(shared.equations):
            out.append(_assign(eq.symbol, emitter.expr(eq.expr, plain), names, i2))
    else:
        for eq in calls_first(model.dynamic_equations):
            out.append(_assign(eq.symbol, emitter.expr(eq.expr, plain), names, i2))
    if states is None:
        stores = [
            _assign(eq.symbol, emitter.expr(eq.expr, plain), names, i3)
            for eq in model.output_equations
        ]
        out += _saved_row(stores + store_saved_values(cells, names, i3), i2)
        out.append(f"{i2}if step == n_steps:")
        out.append(f"{i3}break")
    if model.final_time_symbol is not None:
        out += _final_time_check(names[model.final_time_symbol], i2, in_batch=True)
    stocks = list(model.stocks)
    if method == "euler":
        out += _rates(model, emitter, plain, "d_", i2, names)
        out += _discrete_updates(model, names, i2)
        for s in stocks:
            out.append(f"{i2}{names[s.symbol]} = {names[s.symbol]} + dt * d_{names[s.symbol]}")
    else:
        out += _rk4_step(model, emitter, names, i2, shared)
    out.append(f"{i2}time = time + dt")
    if states is not None and _checks_at_saved_rows(model):
        if stocks:  # the last step's, unsaved (the initial values are never checked)
            out.append(f"{i1}if n_steps > 0:")
            out += _stock_check(model, names, i2, stop=False)
    elif stocks:
        out += _stock_check(model, names, i2)
    out.append(f"{i1}rt.fill_unreached(out, next_row)  # a dynamic FINAL TIME may stop early")
    out.append(f"{i1}STATUS[r] = status")
    out.append("")
    out.append("")
    return out


def _parameter_reads(model: ir.ModelIR, names: Mapping[str, str], indent: str) -> list[str]:
    """The run's parameters from its row ``c`` into their locals: ``rt.gather`` of
    CHUNK columns per call, each local listed in a comment with its column and name.

    Why (issue 21): numba types and lowers each ``c[k]`` read on its own; gvc_upgrading's
    77 reads as 5 gathers made its Euler kernel's cold compile 0.07 s shorter (1.42 ->
    1.35 s CPU, mean of 5 interleaved runs each). The same values: ``c`` is a row of the
    C-contiguous parameter matrix (``Kernel.run``), read through its data pointer."""
    params = list(model.parameters)
    if not params:
        return []
    out = [f"{indent}cp = rt.values_pointer(c)  # the run's parameter row"]
    for start in range(0, len(params), _CHUNK):
        chunk = params[start : start + _CHUNK]
        for p in chunk:
            named = "" if names[p.symbol] == p.symbol else f" ({p.symbol})"
            out.append(f"{indent}#   {names[p.symbol]} = c[{p.column}]{named}")
        targets = _tuple_items(names[p.symbol] for p in chunk)
        columns = _tuple_items(str(p.column) for p in chunk)
        out.append(f"{indent}{targets} = rt.gather(cp, ({columns}))")
    return out


def _saved_row(stores: list[str], indent: str) -> list[str]:
    """A step's saved row, if it has one: ``stores`` (lines filling ``vals``), then the
    selected values copied out and checked."""
    inner, body = indent + "    ", indent + "        "
    return [
        f"{indent}row = save_rows[step]",
        f"{indent}if row >= 0:",
        f"{inner}next_row = row + 1",
        *stores,
        f"{inner}total = 0.0",
        f"{inner}for j in range(sel.shape[0]):",
        f"{body}out[row, j] = vals[sel[j]]",
        f"{body}total += vals[sel[j]] * 0.0  # NaN if any value is NaN/inf",
        f"{inner}if not rt.all_finite(total):",
        f"{body}status = max(status, {NONFINITE_OUTPUT})",
    ]


_STATES = "_states"  # suffix of the kernels that save only state cells (state_cells)
# The one-function kernels get a variant saving state cells only; False: none (tests)
STATES_KERNELS = True


def state_cells(model: ir.ModelIR) -> frozenset[str] | None:
    """The visible cells a step knows before it evaluates an equation: stocks, discrete
    states, fixed delays' outputs, the controls and the run's constants. None if the
    model gets no ``_states`` kernels (see below).

    Why (issue 21): a saved row stores every visible cell in ``vals`` after the step's
    equations (and computes the output equations), so every value it stores is live
    from its equation to that point, across each libm call of the step (EXP, a power: no
    floating-point register survives a call, so it is stored to the stack and loaded
    back at every step, saved or not), and the copy loop sits between the equations and
    the rates. An evaluator of stock outcomes needs none of that: ``simulate_<method>_
    states`` saves the state cells at the start of the step, before its equations
    (gvc_like, Euler, one thread, 41 saved rows: 1.04-1.05x the hand-written kernel's
    CPU with every cell stored, 1.01-1.02x with the states at the step's start).
    ``batch_<method>`` (rt.SavedCellsBatch) runs it when the selected cells are all
    state cells; numba compiles each variant on its first use only. Its statements are
    the other's on the same values in the same order, without the output equations and
    the equations of the last step (nothing reads them there): the values saved are
    bitwise the same. No variant for a model whose output or dynamic equations may
    raise or that draws random numbers (the variant would skip errors and draws).
    """
    if not STATES_KERNELS or noise_seed(model) is not None:
        return None
    if not all(_never_raises(e.expr) for e in (*model.dynamic_equations, *model.output_equations)):
        return None
    states = {s.symbol for s in model.stocks} | {d.symbol for d in model.discrete_states}
    states |= {f.symbol for f in model.fixed_delays} | ir.CONTROL_SYMBOLS
    states |= _constant_symbols(model)
    return frozenset(c for c in visible_cells(model) if c in states)


def _constant_symbols(model: ir.ModelIR) -> set[str]:
    """Symbols fixed for a run: parameters, initial and constant values (not one that a
    dynamic or output equation assigns too, such as ACTIVE INITIAL's)."""
    constants = {p.symbol for p in model.parameters}
    for block in (model.init_equations, model.initial_values, model.static_equations):
        constants |= {e.symbol for e in block}
    for block in (model.dynamic_equations, model.output_equations):
        constants -= {e.symbol for e in block}
    stocks = {s.symbol for s in model.stocks} | {d.symbol for d in model.discrete_states}
    return constants - stocks - {f.symbol for f in model.fixed_delays} - ir.CONTROL_SYMBOLS


def _states_row(
    model: ir.ModelIR,
    cells: Sequence[str],
    states: frozenset[str],
    names: Mapping[str, str],
    indent: str,
    check: bool,
) -> list[str]:
    """The ``_states`` kernel's ``vals`` (NaN in the cells it does not save), the run's
    constants stored once, and the loop's start: a saved row's state cells stored,
    copied out and checked, then the stop at the last step (before its equations).
    ``check``: the stocks are checked at a saved row (after the first) before it is
    stored (:func:`_checks_at_saved_rows`), not after every step."""
    i2, i3, i4 = indent + "    ", indent + "        ", indent + "            "
    constants = _constant_symbols(model)
    kept = [(i, names[c]) for i, c in enumerate(cells) if c in states and c in constants]
    varying = [(i, names[c]) for i, c in enumerate(cells) if c in states and c not in constants]
    row = _saved_row(stages.scatter_runs("vp", varying, i3), i2)
    if check and model.stocks:
        row[2:2] = [f"{i3}if step > 0:", *_stock_check(model, names, i4)]
    return [
        f"{indent}vals = np.full({max(len(cells), 1)}, np.nan)  # only the state cells set",
        f"{indent}vp = rt.values_pointer(vals)  # vals outlives every use",
        *stages.scatter_runs("vp", kept, indent),
        f"{indent}for step in range(n_steps + 1):",
        *row,
        f"{i2}if step == n_steps:",
        f"{i3}break",
    ]


def _stock_check(
    model: ir.ModelIR, names: Mapping[str, str], indent: str, stop: bool = True
) -> list[str]:
    """Stop the run (NaN in the rows not reached) if a stock is NaN or infinite; with
    ``stop`` False (after the step loop) set its status only. In a batch function's step
    loop (:func:`_fixed_step_batch`; the split kernels check their stocks themselves)."""
    if not model.stocks:
        return []
    # x * 0.0 is 0 for finite x and NaN otherwise: a sum that cannot overflow,
    # in short statements (one long expression overflows numba's recursion limit)
    idents = [names[s.symbol] for s in model.stocks]
    out = [f"{indent}check = 0.0"]
    for start in range(0, len(idents), 8):
        terms = " + ".join(f"{ident} * 0.0" for ident in idents[start : start + 8])
        out.append(f"{indent}check += {terms}")
    out.append(f"{indent}if not rt.all_finite(check):")
    if not stop:
        return [*out, f"{indent}    status = {NONFINITE_STATE}"]
    return out + _stop_run(NONFINITE_STATE, indent + "    ", in_batch=True)


def _stop_run(status: int, indent: str, in_batch: bool) -> list[str]:
    """The lines that stop a run inside its step loop with ``status``, after filling the
    saved rows it does not reach with NaN: in a batch function (``in_batch``) the status
    is set and the step loop left (the lines after that loop fill the rows again, which
    changes nothing, and store the row's status); in a run's own function (the split
    kernels' ``simulate_<method>``) it is returned."""
    stop = (
        [f"{indent}status = {status}", f"{indent}break"]
        if in_batch
        else [f"{indent}return {status}"]
    )
    return [f"{indent}rt.fill_unreached(out, next_row)", *stop]


def _checks_at_saved_rows(model: ir.ModelIR) -> bool:
    """Whether a ``_states`` kernel may check its stocks at saved rows only (and after
    the last step), instead of after every step as the other kernel does.

    Why: the check after every step cost gvc_like's Euler runs 2% (10 products and sums
    per step). The saved values and status are the same: a stock that is NaN or
    infinite stays so (``x + dt * rate`` is never finite again; the same for RK4's
    update), so the first saved row after the step that broke it, or the end, finds it
    before anything is stored, and no row was saved in between. Only for models whose
    steps cannot fail or stop on the way: no dynamic FINAL TIME (it would stop the run
    with another status), and no function that reads an index or raises (_CANNOT_FAIL:
    fed NaN, such a function could read out of bounds).
    """
    if model.final_time_symbol is not None:
        return False
    expressions = [e.expr for e in model.dynamic_equations]
    expressions += [s.rate for s in model.stocks] + [d.update for d in model.discrete_states]
    expressions += [f.input for f in model.fixed_delays]
    return all(_cannot_fail(x) for x in expressions)


# Functions the kernel calls out of line (libm), and powers that are not products: a call
# clobbers every floating-point register (x86-64 keeps none across a call), so each value
# live across one is stored to the stack before it and loaded after. See calls_first.
_LIBM_FUNCTIONS = frozenset(
    {"exp", "ln", "log", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh"}
    | {"tanh", "power"}
)


def _calls_out(expr: ir.Expr) -> bool:
    """Whether evaluating ``expr`` calls a libm function (``pow`` for a power too)."""
    for node in ir.walk(expr):
        if isinstance(node, ir.Call) and node.function in _LIBM_FUNCTIONS:
            return True
        if isinstance(node, ir.Op) and node.op == "^" and functions.whole_power(node) is None:
            return True
    return False


# How many equations a call may take along when it moves up (see calls_first)
CALLS_FIRST_INPUTS = 3


def calls_first(equations: Sequence[ir.Equation]) -> tuple[ir.Equation, ...]:
    """A step's dynamic equations in the order its first evaluation computes them (the
    one the saved-row block follows: Euler's, RK4's first stage): each equation that calls
    a libm function (EXP, LN, a power, ...) moved up to the start, after the equations it
    reads that are not placed yet, if those are at most CALLS_FIRST_INPUTS; then the
    others in the IR's order.

    Why: every auxiliary is live until the saved-row block after the equations, and a
    value live across a call is stored to the stack and loaded back (no floating-point
    register survives a call). gvc_like's calls came after most of its auxiliaries; its
    loop spent a sixth of its time on those stores (Euler on one thread, 45.5 -> 37.9 us
    per run; the hand-written kernel 35.5). Moving a call with many inputs made the GVC
    model slower (its search pressure's power moved with 15 equations: 513 -> 528 us);
    with the bound it runs as before. RK4's later stages, which no saved-row block
    follows, keep the IR's order (all stages reordered: GVC model's RK4 8% slower).

    The same operations on the same values, only in another order, so results are
    bitwise the same. The IR's order is kept if an equation may raise or draws a random
    number (the order of errors and draws is the IR's), or reads a symbol the block
    assigns after it.
    """
    equations = tuple(equations)
    index = {eq.symbol: i for i, eq in enumerate(equations)}
    reads = []
    for i, eq in enumerate(equations):
        inputs = sorted(index[s] for s in ir.symbols_in(eq.expr) if s in index)
        if any(k >= i for k in inputs) or not _never_raises(eq.expr):
            return equations
        reads.append(inputs)
    placed = [False] * len(equations)
    order: list[int] = []

    def unplaced_inputs(first: int) -> list[int]:
        """The equations ``first`` reads, directly or not, that are not placed yet,
        inputs before readers (depth first, without recursion: chains can be long)."""
        found: list[int] = []
        seen = {first}
        stack = [(first, 0)]
        while stack:
            i, k = stack.pop()
            if k < len(reads[i]):
                stack.append((i, k + 1))
                nxt = reads[i][k]
                if not placed[nxt] and nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, 0))
            elif i != first:
                found.append(i)
        return found

    def place(i: int) -> None:
        for k in [*unplaced_inputs(i), i]:
            placed[k] = True
            order.append(k)

    for i, eq in enumerate(equations):
        if not placed[i] and _calls_out(eq.expr) and len(unplaced_inputs(i)) <= CALLS_FIRST_INPUTS:
            place(i)
    for i in range(len(equations)):
        if not placed[i]:
            place(i)
    return tuple(equations[i] for i in order)


# A saved row first stores every visible cell in ``vals``, then copies the selected ones.
# One array store per cell costs numba about 4 ms of compile time (typing and lowering a
# setitem); rt.scatter stores _CHUNK of them per call, the same stores in the same order
# (gvc_upgrading's 183 cells: its Euler function compiled in 1.5 s of CPU instead of 2.2).


def saved_values_buffer(cells: Sequence[str], indent: str, extra: int = 0) -> list[str]:
    """The lines allocating a run's ``vals`` (one slot per cell a result can report, and
    ``extra`` more after them) and ``vp``, the pointer :func:`store_saved_values` writes
    through."""
    return [
        f"{indent}vals = np.empty({max(len(cells) + extra, 1)})",
        f"{indent}vp = rt.values_pointer(vals)  # vals outlives every use",
    ]


def store_saved_values(cells: Sequence[str], names: Mapping[str, str], indent: str) -> list[str]:
    """The lines storing each of ``cells`` (its local ``names[cell]``) in its slot of
    ``vals``: one ``rt.scatter`` per _CHUNK consecutive cells."""
    return [
        f"{indent}rt.scatter(vp, {start}, "
        f"({_tuple_items(names[cell] for cell in cells[start : start + _CHUNK])}))"
        for start in range(0, len(cells), _CHUNK)
    ]


def _final_time_check(final: str, indent: str, in_batch: bool) -> list[str]:
    """Stop the run when a FINAL TIME that changes per run (or over time) is reached.

    The time grid's rule for the last step applies (a tolerance of a fraction of dt). A
    FINAL TIME that is NaN or infinite would otherwise stop the run as if it had ended
    normally (or run it to the grid's end); it gets its own status so that the caller
    sees the run as failed. ``in_batch``: see :func:`_stop_run`.
    """
    tolerance = f"dt * {TIME_TOLERANCE!r}"
    inner = indent + "    "
    return [
        f"{indent}if not rt.all_finite({final} * 0.0):",
        *_stop_run(NONFINITE_FINAL_TIME, inner, in_batch),
        f"{indent}if not (time + {tolerance} < {final}):",
        f"{inner}break",
    ]


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
        rate = names.rates.get(s.symbol, s.rate) if isinstance(names, _SharedNames) else s.rate
        out.append(f"{indent}{prefix}{names[s.symbol]} = {emitter.expr(rate, rename)}")
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


def stage_renamer(names: Mapping[str, str], stocks: Mapping[str, str]) -> Callable[[str], str]:
    """Names inside a Runge-Kutta stage: the stage's time ``time_s`` and stock values
    ``y_<stock>``; every other symbol its own identifier (RK4 and the adaptive methods)."""

    def rename(symbol: str) -> str:
        if symbol == "time":
            return "time_s"
        if symbol in stocks:
            return f"y_{stocks[symbol]}"
        return names[symbol]

    return rename


def _rk4_step(
    model: ir.ModelIR,
    emitter: _Emitter,
    names: Mapping[str, str],
    indent: str,
    shared: _TimeShared | None = None,
) -> list[str]:
    """One RK4 step after the saved row: the first rates (from the step's values), the
    later stages (inline: calls of a stage function made its runs 15-20% slower), the
    discrete updates, the stocks."""
    stock_ids = {s.symbol: names[s.symbol] for s in model.stocks}
    out = _rates(model, emitter, names.__getitem__, "k1_", indent, names)
    later = (("k2_", "k1_", "0.5"), ("k3_", "k2_", "0.5"), ("k4_", "k3_", "1.0"))
    sharing = shared is not None and shared.count > 0
    dynamic = shared.equations if sharing else model.dynamic_equations
    for prefix, previous, fraction in later:
        out.append(f"{indent}time_s = time + {fraction} * dt")
        for _symbol, ident in stock_ids.items():
            out.append(f"{indent}y_{ident} = {ident} + {fraction} * dt * {previous}{ident}")

        rename = stage_renamer(names, stock_ids)
        if sharing and prefix != "k3_":  # k3 is at k2's time: its values stand
            out += shared.statements(emitter, rename, indent)
        for eq in dynamic:
            out.append(_assign(eq.symbol, emitter.expr(eq.expr, rename), names, indent))
        out += _rates(model, emitter, rename, prefix, indent, names)
    out += _discrete_updates(model, names, indent)
    for ident in stock_ids.values():
        out.append(
            f"{indent}{ident} = {ident} + dt / 6.0 * "
            f"(k1_{ident} + 2.0 * k2_{ident} + 2.0 * k3_{ident} + k4_{ident})"
        )
    return out


# RK4 computes values that depend on time alone once per distinct time (_TimeShared);
# False generates the kernel that computes them at every stage (tests compare the two)
SHARE_TIME_VALUES = True
# Functions a value shared between RK4 stages may call: pure functions of their
# arguments and time that cannot fail (evaluated once per distinct time, outside the
# branch of an IF THEN ELSE that may have held them). No random draw: each evaluation
# of a RANDOM function takes a draw.
_SHAREABLE_CALLS = frozenset({"get_time_value"})  # and _CANNOT_FAIL, defined below


class _SharedNames(dict):
    """The kernel's identifiers and those of the shared sub-expressions, with the stock
    rates that read them (``rates``)."""

    rates: dict[str, ir.Expr]


class _TimeShared:
    """What RK4 computes once per distinct time instead of at every stage.

    Dynamic values that depend on time alone (and on parameters and constants), such as
    a shock's onset ``1 - EXP((Shock Year - Time) / Onset)`` or ``EXP(growth * Time)``
    inside a demand equation, have the same value in RK4's second and third stages
    (both at ``time + 0.5 * dt``) and in the fourth stage and the next step's first
    (``time + 1.0 * dt`` equals ``time + dt`` exactly). They are computed at the step's
    first time only in the first step, and then once in the second and once in the
    fourth stage: the same operations on the same values, so results are bitwise those
    of computing them at every stage. Whole equations are shared, and in the other
    dynamic equations and stock rates the largest time-only sub-expressions that call a
    function or take a power (``tt_<n>`` locals); cheap arithmetic is left in place.
    """

    def __init__(self, model: ir.ModelIR, names: Mapping[str, str]) -> None:
        changing = {s.symbol for s in model.stocks} | {d.symbol for d in model.discrete_states}
        changing |= {f.symbol for f in model.fixed_delays}
        changing |= {e.symbol for e in (*model.dynamic_equations, *model.output_equations)}
        constants = {p.symbol for p in model.parameters} | (ir.CONTROL_SYMBOLS - {"time"})
        for block in (model.init_equations, model.initial_values, model.static_equations):
            constants |= {e.symbol for e in block}
        constants -= changing
        timed: set[str] = set()
        self.timed_equations: list[ir.Equation] = []
        for eq in model.dynamic_equations:
            if _time_only(eq.expr, constants | timed):
                timed.add(eq.symbol)
                self.timed_equations.append(eq)
        known = constants | timed
        self.temps: dict[ir.Expr, str] = {}  # sub-expression -> its symbol
        self.names = _SharedNames(names)
        taken = set(names.values())

        def extract(node: ir.Expr) -> ir.Expr:
            if (
                not isinstance(node, ir.Num | ir.Sym)
                and _time_only(node, known)
                and ir.symbols_in(node) & (timed | {"time"})
                and any(_costly(n) for n in ir.walk(node))
            ):
                if node not in self.temps:
                    symbol = f"\0shared {len(self.temps)}"  # no Vensim name has a NUL
                    ident, n = f"tt_{len(self.temps)}", 1
                    while ident in taken:
                        n += 1
                        ident = f"tt_{len(self.temps)}_{n}"
                    taken.add(ident)
                    self.temps[node] = symbol
                    self.names[symbol] = ident
                return ir.Sym(self.temps[node])
            return ir.map_children(node, extract)

        self.equations = tuple(  # the others, reading the shared sub-expressions
            dataclasses.replace(eq, expr=extract(eq.expr))
            for eq in model.dynamic_equations
            if eq.symbol not in timed
        )
        self.names.rates = {}
        for s in model.stocks:
            rate = extract(s.rate)
            if rate is not s.rate:
                self.names.rates[s.symbol] = rate
        self.count = len(self.timed_equations) + len(self.temps)

    def statements(self, emitter: _Emitter, rename: Callable[[str], str], indent: str) -> list[str]:
        """The shared values at the time ``rename`` gives."""
        out = [
            _assign(eq.symbol, emitter.expr(eq.expr, rename), self.names, indent)
            for eq in self.timed_equations
        ]
        for node, symbol in self.temps.items():
            out.append(f"{indent}{self.names[symbol]} = {emitter.expr(node, rename)}")
        return out


def _time_only(node: ir.Expr, known: set[str]) -> bool:
    """Whether ``node`` reads only ``known`` symbols and time, through shareable calls."""
    for n in ir.walk(node):
        if isinstance(n, ir.Sym) and n.name != "time" and n.name not in known:
            return False
        if isinstance(n, ir.Call) and not (
            n.function in _CANNOT_FAIL or n.function in _SHAREABLE_CALLS
        ):
            return False
    return True


def _costly(node: ir.Expr) -> bool:
    """A function call, a table lookup or a power that is not a product."""
    if isinstance(node, ir.Call | ir.LookupCall):
        return True
    return isinstance(node, ir.Op) and node.op == "^" and functions.whole_power(node) is None


# The adaptive methods' stages call one generated function (gvcdyn.backend.stages);
# False emits each stage's equations inline, as before (tests compare the two bitwise).
# RK4 keeps its stages inline: with the calls the GVC model's RK4 runs took 15-20% more
# CPU per run (one thread, batches of 1 to 10,000; its cheap stages lose what LLVM
# shares between the inline ones), for a cold build 1.2 s shorter; inline="always" on
# the stage function compiled slower than the inline stages (docs/compile-times.md).
STAGE_FUNCTIONS = True


def stage_function(
    model: ir.ModelIR,
    name: str,
    names: Mapping[str, str],
    emitter: _Emitter,
    *,
    save: bool = False,
) -> stages.StageFunction | None:
    """The function computing a Runge-Kutta stage of ``model`` (``gvcdyn.backend.stages``;
    None if the model's dynamic equations read a value of an earlier stage): its dynamic
    equations and the stock rates, from the time, the stocks' stage values, the discrete
    states and fixed delays' outputs and the controls, passed per call, and the run's
    constants."""
    if not STAGE_FUNCTIONS:
        return None
    equations = model.dynamic_equations
    rates = [s.rate for s in model.stocks]
    stocks = [s.symbol for s in model.stocks]
    varying = ["time", *(d.symbol for d in model.discrete_states)]
    varying += [f.symbol for f in model.fixed_delays]
    varying += sorted(ir.CONTROL_SYMBOLS - {"time"})
    fixed = {p.symbol for p in model.parameters}
    for block in (model.init_equations, model.initial_values, model.static_equations):
        fixed |= {e.symbol for e in block}
    for block in (model.dynamic_equations, model.output_equations):
        fixed -= {e.symbol for e in block}
    fixed -= {*varying, *stocks}
    decorator = f"@njit({_KERNEL_FLAGS})"
    return stages.stage_function(
        name,
        decorator,
        equations,
        rates,
        names,
        emitter.expr,
        stocks,
        varying,
        fixed,
        save,
    )


def _batch_function(method: str, extra: str = "", suffix: str = "") -> list[str]:
    """``batch_<method>``; ``extra``: more arguments passed on to ``simulate_<method>``;
    ``suffix``: of both names (``batch_<method><suffix>`` calls ``simulate_<method><suffix>``).

    A serial loop: ``gvcdyn.backend.kernel`` spreads a batch over threads by handing each
    a slice of the rows. A numba ``prange`` loop here cost about 0.7 s of CPU in every
    cold compile (its parallel lowering, and the simulate function optimised and
    compiled again inside the loop's and the batch's code)."""
    return [
        f"@njit({_KERNEL_FLAGS})",
        f"def batch_{method}{suffix}(C, OUT, STATUS, save_rows, sel, t0, dt, n_steps, saveper, "
        f"final_time{extra}):",
        '    """The runs of a batch (or of a slice of its rows), one after the other."""',
        "    for r in range(C.shape[0]):",
        f"        STATUS[r] = simulate_{method}{suffix}(C[r], OUT[r], save_rows, sel, t0, dt, "
        f"n_steps, saveper, final_time{extra})",
        "",
        "",
    ]


# --------------------------------------------------------------------------- split kernels
# A large model's one-function kernel compiles in time that grows faster than the model
# (numba and LLVM optimise a function as a whole). Above SPLIT_THRESHOLD equations the
# kernel keeps every scalar in one array ``v`` and does its work in many compiled "parts"
# of at most PART_CHARS characters of source each, so compile time grows about linearly.
# The arithmetic is the same, operation for operation: results are bitwise equal (every
# model of the reference suite, checked). What a part costs numba is Python time per IR
# node, so parts are written in the constructs that cost least (_PartEmitter, the
# runtime's intrinsics), and most are called by address so that numba does not
# re-optimise them inside the driver and the batch function
# (docs/compile-times.md has the measurements and what was tried).
SPLIT_ENV = "GVCDYN_KERNEL_SPLIT"  # "always" | "never" | unset: by SPLIT_THRESHOLD
# Split kernels compile faster than one function at any size measured (CPU: generated
# 260 equations 2.8 s split, 12.4 s whole; the suite's vector_select, 368: 12.1 s, 37.4 s)
# and run about as fast; 400 keeps every model the project ships (the GVC model has 143
# equations, gvc_like 70) on the one-function path they were validated with.
SPLIT_THRESHOLD = 400
# Per-part compile time grows faster than the part, and each part has a fixed cost; at
# 1,300 equations parts of 3,000 / 6,000 / 12,000 / 24,000 / 64,000 characters took about
# 15 / 12 / 10 / 10 / 11 s CPU (benchmarks/bench_compile.py --part-chars).
PART_CHARS = 24_000
_PART_ARGS = "v, h, time, dt, t0, saveper, final_time"
_SPLIT_NAMES = frozenset({"v", "vp", "h", "hp", "parts", "time_s"})  # its own locals


def equation_count(model: ir.ModelIR) -> int:
    """What the size threshold counts: every equation and rate the kernel evaluates."""
    blocks = (
        model.init_equations,
        model.static_equations,
        model.dynamic_equations,
        model.output_equations,
    )
    return sum(len(b) for b in blocks) + len(model.stocks) + len(model.discrete_states)


def use_split(model: ir.ModelIR, split: bool | None = None) -> bool:
    """Whether ``model`` gets a split kernel: ``split`` if given, else $GVCDYN_KERNEL_SPLIT,
    else whether it has more than SPLIT_THRESHOLD equations."""
    if split is not None:
        return split
    forced = os.environ.get(SPLIT_ENV, "").strip().lower()
    if forced in ("always", "never"):
        return forced == "always"
    if forced:
        raise SimulationSettingsError(
            f"${SPLIT_ENV}={forced!r} is not understood; use 'always', 'never' or leave it unset"
        )
    return equation_count(model) > SPLIT_THRESHOLD


class _Layout:
    """Where each scalar of a split kernel lives in ``v``.

    Parameters, stocks, their rates (four RK4 stages), RK4 stage values, discrete states
    and fixed delays each take one contiguous range, so the kernel moves them with loops
    instead of one statement per symbol. The lookup tables come last.
    """

    def __init__(self, model: ir.ModelIR) -> None:
        self.slots: dict[str, int] = {}
        self.n_stocks = len(model.stocks)
        self.params = self._range([p.symbol for p in model.parameters])
        self.stocks = self._range([s.symbol for s in model.stocks])
        self.discrete = self._range([d.symbol for d in model.discrete_states])
        self.fixed = self._range([f.symbol for f in model.fixed_delays])
        for block in _equation_blocks(model):
            for eq in block:
                if eq.symbol not in self.slots and eq.symbol not in ir.CONTROL_SYMBOLS:
                    self.slots[eq.symbol] = len(self.slots)
        # cells that are control symbols (FINAL TIME, ...) get a slot written before saving
        self.control_cells = [
            c for c in visible_cells(model) if c in ir.CONTROL_SYMBOLS and c not in self.slots
        ]
        for cell in self.control_cells:
            self.slots[cell] = len(self.slots)
        self.n_named = len(self.slots)
        self.rates = self.n_named  # k1 (Euler's d_) .. k4, n_stocks each
        self.stage = self.rates + 4 * self.n_stocks  # RK4 stage values y_
        self.discrete_updates = self.stage + self.n_stocks
        self.fixed_inputs = self.discrete_updates + len(model.discrete_states)
        self.stage_rates = self.fixed_inputs + len(model.fixed_delays)  # RK4 k2..k4 land here
        # lookup and data tables (xs then ys), copied in with the initial values of a run
        self.tables: dict[str, int] = {}
        end = self.stage_rates + self.n_stocks
        for lk in model.lookups:
            self.tables[lk.name] = end
            end += 2 + 2 * len(lk.xs)  # rt.table: point count, data mode, xs, ys
        self.size = end

    def _range(self, symbols: list[str]) -> int:
        start = len(self.slots)
        for symbol in symbols:
            self.slots[symbol] = len(self.slots)
        return start

    def renamer(self, names: Mapping[str, str], stage: bool) -> Callable[[str], str]:
        """Symbol -> source: ``v[i]``, a control argument, or (RK4 stages) the stage value."""

        def rename(symbol: str) -> str:
            if symbol in ir.CONTROL_SYMBOLS:
                return names[symbol]
            slot = self.slots[symbol]
            if stage and self.stocks <= slot < self.stocks + self.n_stocks:
                return f"v[{self.stage + slot - self.stocks}]"
            return f"v[{slot}]"

        return rename


@functools.cache
def _inlined_helpers() -> tuple[str, ...]:
    """Runtime helpers numba inlines at every call site (``inline="always"``).

    Inlined at numba-IR level, each call of ``rt.lookup`` costs about 0.4 s of compile
    time (measured: 100 lookups in one function, 44 s; called instead, 2.8 s). Split
    kernels call twins of them compiled once (the same code, so the same results).
    """
    return tuple(
        sorted(
            name
            for name, value in vars(rt).items()
            if getattr(value, "targetoptions", {}).get("inline") == "always"
        )
    )


# runtime intrinsics and called helpers the parts use, bound to module names (a global
# costs numba less than an attribute of ``rt`` at every use)
_PART_HELPERS = (
    "choose",
    "both",
    "either",
    "minimum",
    "maximum",
    "table",
    "table_lookup",
    "table_data",
    "gather",
    "scatter",
)


def _helper_twins() -> list[str]:
    """Module names for what parts call: twins of the inlined helpers (compiled only if a
    part calls them), the intrinsics and called helpers, the callers through addresses."""
    flags = _KERNEL_FLAGS.replace("cache=True, ", "")  # compiled into the cached parts
    twins = [f"_rt_{name} = njit({flags})(rt.{name}.py_func)" for name in _inlined_helpers()]
    twins += [f"_rt_{name} = rt.{name}" for name in _PART_HELPERS]
    return twins + [f'_rt_c_{name} = rt.C_CALLERS["{name}"]' for name in rt.C_HELPERS]


def _c_wrapper(name: str) -> list[str]:
    """A module-level function calling helper ``name``: what rt.SplitBatch compiles as the
    helper's C function (cached beside the kernel; the helper is inlined into it)."""
    n = len(sigutils.normalize_signature(rt.C_HELPERS[name])[0])
    args = ", ".join(f"a{i}" for i in range(n))
    return [f"def _c_{name}({args}):", f"    return rt.{name}({args})", "", ""]


def _call_helpers(statement: str, by_address: bool) -> str:
    """``statement`` calling helpers through their addresses (``_rt_c_step(h, (a, b))``
    for ``rt.step(a, b)``) if ``by_address``, and otherwise the inlined helpers' twins and
    the called helpers by their module names."""
    for name in rt.C_HELPERS if by_address else ():
        call = f"rt.{name}("
        while call in statement:
            start = statement.index(call)
            end = _closing_parenthesis(statement, start + len(call) - 1)
            inner = statement[start + len(call) : end]
            statement = f"{statement[:start]}_rt_c_{name}(h, ({inner},)){statement[end + 1 :]}"
    for name in (*_inlined_helpers(), "table_lookup", "table_data"):
        statement = statement.replace(f"rt.{name}(", f"_rt_{name}(")
    return statement


def _closing_parenthesis(source: str, opening: int) -> int:
    """Index of the parenthesis closing the one at ``opening`` (generated code: no strings)."""
    depth = 0
    for i in range(opening, len(source)):
        depth += {"(": 1, ")": -1}.get(source[i], 0)
        if depth == 0:
            return i
    raise ValueError(f"unbalanced parentheses in generated code: {source!r}")


# Functions whose every argument may be evaluated even where IF THEN ELSE would not take
# it: they read no index and raise nothing (error_model="numpy": x/0 is inf, not an error).
_CANNOT_FAIL = frozenset(
    {
        "abs", "exp", "ln", "sqrt", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh",
        "cosh", "tanh", "integer", "log", "power", "pi", "min", "max", "modulo", "quantum",
        "xidz", "zidz", "if_then_else", "active_initial", "step", "ramp", "pulse",
        "pulse_train",
    }
)  # fmt: skip


def _cannot_fail(node: ir.Expr) -> bool:
    """Whether evaluating ``node`` can neither raise nor read out of bounds."""
    return all(not isinstance(n, ir.Call) or n.function in _CANNOT_FAIL for n in ir.walk(node))


# Functions that never raise an exception (a part called by address, as a C function,
# could not pass one on): parts that call any other function are linked into the driver.
# The RANDOM functions are left out on purpose: the parts that draw are linked too, so
# every draw goes through the same compiled generator state as the driver's seeding.
_NEVER_RAISE = _CANNOT_FAIL | {
    "gate",
    "delay_order",
    "vector_select",
    "vector_sort_order",
    "vector_rank",
    "vector_reorder",
    "allocate_by_priority",
}


def _never_raises(node: ir.Expr) -> bool:
    return all(not isinstance(n, ir.Call) or n.function in _NEVER_RAISE for n in ir.walk(node))


class _PartEmitter(_Emitter):
    """The emitter of split kernels' parts: the same operations on the same values, in
    constructs numba compiles several times faster (benchmarks/bench_compile.py).

    - IF THEN ELSE whose branches cannot fail, comparisons used as numbers, and AND / OR
      of such conditions become one select / and / or instruction instead of branches
      (an inline branch costs about 8 ms of compile time, a select 1 ms);
    - MIN / MAX are numba's own ``np.minimum`` / ``np.maximum`` code, without typing a
      ufunc call at every use;
    - lookups read their table from the values ``v`` (no array constants or arguments).
    """

    def __init__(
        self, names: Mapping[str, str], lookups: Mapping[str, ir.Lookup], slots: Mapping[str, int]
    ) -> None:
        super().__init__(names, {})
        self.lookups = lookups
        self.table_slots = slots
        self.numbers: dict[str, str] = {}  # local -> literal, of the statement being written

    def expr(self, node: ir.Expr, rename: Callable[[str], str]) -> str:
        if isinstance(node, ir.LookupCall):
            at = f"_rt_table(v, {self.table_slots[node.table]})"
            arg = self.expr(node.arg, rename)
            if self.lookups[node.table].mode != "interpolate":  # a data variable's table
                return f"rt.table_data({arg}, {at})"
            return f"rt.table_lookup({arg}, {at})"
        if isinstance(node, ir.Num):
            literal = _float(node.value)
            if literal.endswith(("nan", "inf")):
                return literal
            # one local per distinct number in a part: numba's typing of a float literal
            # costs about 0.7 ms (it first tries, and fails, to make it a literal type)
            name = "_" + literal.replace(".", "p").replace("-", "m").replace("+", "")
            self.numbers[name] = literal
            return name
        return super().expr(node, rename)

    def cond(self, node: ir.Expr, rename: Callable[[str], str]) -> str:
        if isinstance(node, ir.Op) and node.op in ("and", "or") and _cannot_fail(node):
            a, b = (self.cond(x, rename) for x in node.args)
            return f"_rt_{'both' if node.op == 'and' else 'either'}({a}, {b})"
        return super().cond(node, rename)

    def _op(self, node: ir.Op, rename: Callable[[str], str]) -> str:
        if functions.OPERATORS[node.op].kind != "arithmetic":
            one, zero = self.expr(ir.Num(1.0), rename), self.expr(ir.Num(0.0), rename)
            return f"_rt_choose({self.cond(node, rename)}, {one}, {zero})"
        return super()._op(node, rename)

    def _call(self, node: ir.Call, rename: Callable[[str], str]) -> str:
        if node.function in ("min", "max"):
            a, b = (self.expr(x, rename) for x in node.args)
            return f"_rt_{'minimum' if node.function == 'min' else 'maximum'}({a}, {b})"
        if functions.get(node.function).chooses_branch and _cannot_fail(node):
            flag, a, b = node.args
            args = self.cond(flag, rename), self.expr(a, rename), self.expr(b, rename)
            return f"_rt_choose({', '.join(args)})"
        return super()._call(node, rename)


@dataclasses.dataclass(frozen=True)
class _Statement:
    """One assignment in a part: ``v[store] = code``, where ``code`` reads the locals
    ``reads`` (local name -> slot) and ``numbers``; ``local`` names the value."""

    store: int
    code: str
    reads: Mapping[str, int]
    local: str | None = None
    comment: str = ""
    may_raise: bool = False
    numbers: Mapping[str, str] = dataclasses.field(default_factory=dict)  # local -> literal


class _StatementWriter:
    """Statements of split parts, reading model values through readable locals.

    ``by_address``: call the scalar helpers through their addresses (about 2 ms of compile
    time per call site instead of 6, but a call LLVM cannot inline, about 15% slower runs
    of a lookup-heavy model): set for the parts that do not run at every time step.
    """

    def __init__(self, model: ir.ModelIR, lay: _Layout, names: Mapping[str, str]) -> None:
        self.lay, self.names = lay, names
        self.emitter = _PartEmitter(names, {lk.name: lk for lk in model.lookups}, lay.tables)
        self.by_address = False

    def _code(self, expr: ir.Expr, stage: bool) -> tuple[str, dict[str, int], bool]:
        reads: dict[str, int] = {}
        lay = self.lay

        def rename(symbol: str) -> str:
            if symbol in ir.CONTROL_SYMBOLS:
                return self.names[symbol]
            slot = lay.slots[symbol]
            if stage and lay.stocks <= slot < lay.stocks + lay.n_stocks:
                slot = lay.stage + slot - lay.stocks  # an RK4 stage's value of the stock
            reads[self.names[symbol]] = slot
            return self.names[symbol]

        self.emitter.numbers = {}
        code = _call_helpers(self.emitter.expr(expr, rename), self.by_address)
        return code, reads, not _never_raises(expr)

    def assign(self, symbol: str, expr: ir.Expr, stage: bool = False) -> _Statement:
        code, reads, may_raise = self._code(expr, stage)
        local = self.names[symbol]
        comment = "" if local == symbol else f"  # {symbol}"
        slot = self.lay.slots[symbol]
        return _Statement(slot, code, reads, local, comment, may_raise, self.emitter.numbers)

    def store(self, slot: int, expr: ir.Expr, stage: bool = False) -> _Statement:
        code, reads, may_raise = self._code(expr, stage)
        return _Statement(slot, code, reads, None, "", may_raise, self.emitter.numbers)


class _PartBody:
    """The source of one part as statements are added, in windows of _CHUNK statements:
    each window gathers the values its statements read first (one call for up to _CHUNK
    values), then runs them, then scatters what they computed (one call per run of
    consecutive slots). One call moving 16 values costs numba a fraction of 16 array
    accesses; short windows keep few values live at once (loading everything at the top
    and storing at the end made runs 18% slower). The values moved are the same as one
    access at a time: other parts run before or after this one, and a part never writes
    a value it read."""

    def __init__(self) -> None:
        self.numbers: dict[str, str] = {}  # written at the top of the part
        self.known: set[str] = set()
        self.windows: list[tuple[dict[str, int], list[str], list[tuple[int, str]]]] = []
        self.size = 0
        self.linked = False  # a statement may raise: the part is linked in, not called by address

    def cost(self, statement: _Statement) -> int:
        """About how many characters ``statement`` adds."""
        new = [n for n in (*statement.numbers, *statement.reads) if n not in self.known]
        return len(statement.code) + sum(len(n) + 8 for n in new) + 16

    def add(self, statement: _Statement) -> None:
        self.size += self.cost(statement)
        if not self.windows or len(self.windows[-1][1]) == _CHUNK:
            self.windows.append(({}, [], []))
        loads, lines, stores = self.windows[-1]
        for name, value in statement.numbers.items():
            if name not in self.known:
                self.numbers[name] = value
                self.known.add(name)
        for local, slot in statement.reads.items():
            if local not in self.known:
                loads[local] = slot
                self.known.add(local)
        local = statement.local or f"_s{statement.store}"  # a rate, discrete update, ...
        lines.append(f"{local} = {statement.code}{statement.comment}")
        stores.append((statement.store, local))
        self.known.add(local)
        self.linked = self.linked or statement.may_raise

    def source(self) -> list[str]:
        out = [f"{name} = {value}" for name, value in self.numbers.items()]
        for loads, lines, stores in self.windows:
            items = list(loads.items())
            for start in range(0, len(items), _CHUNK):
                chunk = items[start : start + _CHUNK]
                targets = _tuple_items(local for local, _ in chunk)
                slots = _tuple_items(str(slot) for _, slot in chunk)
                out.append(f"{targets} = _rt_gather(v, ({slots}))")
            out += lines
            runs: list[list[tuple[int, str]]] = []
            for slot, local in stores:
                if runs and slot == runs[-1][-1][0] + 1:
                    runs[-1].append((slot, local))
                else:
                    runs.append([(slot, local)])
            for run in runs:
                out.append(f"_rt_scatter(v, {run[0][0]}, ({_tuple_items(x for _, x in run)}))")
        return out


# parts linked into the driver (they may raise) need no Python or C entry points
_PART_FLAGS = _KERNEL_FLAGS + ", no_cpython_wrapper=True, no_cfunc_wrapper=True"


@dataclasses.dataclass(frozen=True)
class _Part:
    """A compiled part: called by address (a C function), or linked in if it may raise."""

    name: str
    linked: bool


def _parts(name: str, statements: list[_Statement]) -> tuple[list[str], list[_Part]]:
    """``statements`` grouped into functions of about PART_CHARS characters: (their
    source, the parts). A part reads each value it needs from ``v`` into a local once,
    and writes every value it computes back (_PartBody)."""
    bodies: list[_PartBody] = []
    for statement in statements:
        if not bodies or bodies[-1].size + bodies[-1].cost(statement) > PART_CHARS:
            bodies.append(_PartBody())
        bodies[-1].add(statement)
    source: list[str] = []
    parts = [_Part(f"{name}_{n}", body.linked) for n, body in enumerate(bodies)]
    for part, body in zip(parts, bodies, strict=True):
        if part.linked:
            source.append(f"@njit({_PART_FLAGS})")
        source.append(f"def {part.name}({_PART_ARGS}):")
        source += [f"    {line}" for line in body.source()]
        source += ["", ""]
    return source, parts


def _split_kernel(model: ir.ModelIR, names: Mapping[str, str]) -> list[str]:
    """Both methods' ``simulate_<method>`` as drivers over compiled parts sharing ``v``.

    The parts of the initialization, the constant and dynamic auxiliaries, the outputs
    and the first rates serve both methods; RK4 adds the parts of its three later stages.
    """
    lay = _Layout(model)
    write = _StatementWriter(model, lay, names)
    source = _split_tables(model, lay)

    def parts(name: str, statements: list[_Statement]) -> list[_Part]:
        defs, made = _parts(f"_{name}", statements)
        source.extend(defs)
        return made

    def rates(first: int, stage: bool) -> list[_Statement]:
        write.by_address = False  # every time step
        out = [write.store(first + i, s.rate, stage) for i, s in enumerate(model.stocks)]
        if not stage:
            for i, d in enumerate(model.discrete_states):
                out.append(write.store(lay.discrete_updates + i, d.update))
            for i, f in enumerate(model.fixed_delays):
                out.append(write.store(lay.fixed_inputs + i, f.input))
        return out

    def block(
        equations: tuple[ir.Equation, ...], stage: bool = False, every_step: bool = False
    ) -> list[_Statement]:
        write.by_address = not every_step
        return [write.assign(e.symbol, e.expr, stage) for e in equations]

    calls = {
        "init": parts("init", block(model.init_equations)),
        "static": parts("static", block(model.static_equations)),
        "dynamic": parts("dynamic", block(model.dynamic_equations, every_step=True)),
        "output": parts("output", block(model.output_equations)),  # at saved times only
        "rates": parts("rates", rates(lay.rates, stage=False)),
        "stage": parts("stage", block(model.dynamic_equations, stage=True, every_step=True)),
        "stage_rates": parts("stage_rates", rates(lay.stage_rates, stage=True)),
    }
    used = [name for name in rt.C_HELPERS if any(f"_rt_c_{name}(" in line for line in source)]
    for name in used:
        source += _c_wrapper(name)
    helpers = "{" + ", ".join(f'"{name}": _c_{name}' for name in used) + "}"
    for method in METHODS:
        kinds = ("init", "static", "dynamic", "output", "rates")
        if method == "rk4":
            kinds += ("stage", "stage_rates")
        by_address = [p.name for kind in kinds for p in calls[kind] if not p.linked]
        source += _split_driver(model, method, lay, names, calls, by_address)
        source += _batch_function(method, extra=", parts")
        source.append(f"batch_{method} = rt.SplitBatch(")
        source.append(f"    batch_{method},")
        source.append(f"    ({''.join(f'{p}, ' for p in by_address)}),")
        source.append(f"    {helpers},")
        source += ["    _COMPILED_PARTS,", ")", "", ""]
    return source


def _split_driver(
    model: ir.ModelIR,
    method: str,
    lay: _Layout,
    names: Mapping[str, str],
    calls: Mapping[str, list[_Part]],
    by_address: list[str],
) -> list[str]:
    """``simulate_<method>``: the time loop, calling the parts in order. Its argument
    ``parts`` holds the addresses of the helpers (rt.C_HELPERS), then of the parts
    ``by_address`` in that order (rt.SplitBatch)."""
    ns, nd, nf = lay.n_stocks, len(model.discrete_states), len(model.fixed_delays)
    first = len(rt.C_HELPERS)

    def call(kind: str, indent: str, time: str = "time") -> list[str]:
        args = f"vp, hp, {time}, dt, t0, saveper, final_time"
        return [
            f"{indent}{part.name}({args})"
            if part.linked
            else f"{indent}rt.call_part(parts[{first + by_address.index(part.name)}], {args})"
            for part in calls[kind]
        ]

    i1, i2, i3, i4 = "    ", "        ", "            ", "                "
    out = [
        f"@njit({_KERNEL_FLAGS})",
        f"def simulate_{method}(c, out, save_rows, sel, t0, dt, n_steps, saveper, final_time, "
        "parts):",
        f'{i1}"""One run ({method}), split into compiled parts. Returns its status code."""',
        f"{i1}time = t0",
        f"{i1}status = {OK}",
        f"{i1}next_row = 0  # rows from here on are not reached (yet)",
        f"{i1}v = SPLIT_INITIAL_VALUES.copy()  # zeros, and the lookup tables",
        f"{i1}vp = rt.values_pointer(v)  # the parts' view of v (v outlives every call)",
        f"{i1}hp = rt.values_pointer(parts)  # the helpers' addresses",
        f"{i1}for j in range({len(model.parameters)}):",
        f"{i2}v[{lay.params} + j] = c[SPLIT_PARAMETER_COLUMNS[j]]",
    ]
    seed = noise_seed(model)
    if seed is not None:  # before any part runs (the parts that draw are linked in)
        out.append(f"{i1}rt.seed_noise({seed})  # this run's random stream: NOISE SEED only")
    out += call("init", i1)
    if nf:
        out += [
            f"{i1}n_fixed = np.empty({nf}, dtype=np.int64)",
            f"{i1}for j in range({nf}):",
            f"{i2}n_fixed[j] = int(round(max(v[SPLIT_FIXED_DELAY_SLOTS[j]] / dt, 1.0) + 1e-6))",
            f"{i1}pipes = np.empty(({nf}, n_fixed.max()))",
            f"{i1}for j in range({nf}):",
            f"{i2}pipes[j, : n_fixed[j]] = v[{lay.fixed} + j]",
            f"{i1}p_fixed = np.zeros({nf}, dtype=np.int64)",
        ]
    out += call("static", i1)
    out.append(f"{i1}for step in range(n_steps + 1):")
    out += call("dynamic", i2)
    out.append(f"{i2}row = save_rows[step]")
    out.append(f"{i2}if row >= 0:")
    out.append(f"{i3}next_row = row + 1")
    out += call("output", i3)
    out += [f"{i3}v[{lay.slots[cell]}] = {names[cell]}" for cell in lay.control_cells]
    out.append(f"{i3}total = 0.0")
    out.append(f"{i3}for j in range(sel.shape[0]):")
    out.append(f"{i4}out[row, j] = v[SPLIT_CELL_SLOTS[sel[j]]]")
    out.append(f"{i4}total += v[SPLIT_CELL_SLOTS[sel[j]]] * 0.0  # NaN if any is NaN/inf")
    out.append(f"{i3}if not rt.all_finite(total):")
    out.append(f"{i4}status = max(status, {NONFINITE_OUTPUT})")
    out.append(f"{i2}if step == n_steps:")
    out.append(f"{i3}break")
    if model.final_time_symbol is not None:
        final = lay.renamer(names, stage=False)(model.final_time_symbol)
        out += _final_time_check(final, i2, in_batch=False)
    out += call("rates", i2)
    if method == "rk4":
        for fraction, previous, current in (("0.5", 0, 1), ("0.5", 1, 2), ("1.0", 2, 3)):
            out.append(f"{i2}time_s = time + {fraction} * dt")
            out.append(f"{i2}for j in range({ns}):")
            out.append(
                f"{i3}v[{lay.stage} + j] = v[{lay.stocks} + j] + {fraction} * dt * "
                f"v[{lay.rates + previous * ns} + j]"
            )
            # the same parts serve all three stages, then the rates move to their place
            out += call("stage", i2, "time_s")
            out += call("stage_rates", i2, "time_s")
            out.append(f"{i2}for j in range({ns}):")
            out.append(f"{i3}v[{lay.rates + current * ns} + j] = v[{lay.stage_rates} + j]")
    if nd:
        out.append(f"{i2}for j in range({nd}):")
        out.append(f"{i3}v[{lay.discrete} + j] = v[{lay.discrete_updates} + j]")
    if nf:
        out += [
            f"{i2}for j in range({nf}):",
            f"{i3}pipes[j, p_fixed[j]] = v[{lay.fixed_inputs} + j]",
            f"{i3}p_fixed[j] = (p_fixed[j] + 1) % n_fixed[j]",
            f"{i3}v[{lay.fixed} + j] = pipes[j, p_fixed[j]]",
        ]
    if ns:
        r = lay.rates
        update = (
            f"dt * v[{r} + j]"
            if method == "euler"
            else f"dt / 6.0 * (v[{r} + j] + 2.0 * v[{r + ns} + j] + 2.0 * v[{r + 2 * ns} + j]"
            f" + v[{r + 3 * ns} + j])"
        )
        out.append(f"{i2}for j in range({ns}):")
        out.append(f"{i3}v[{lay.stocks} + j] = v[{lay.stocks} + j] + {update}")
    out.append(f"{i2}time = time + dt")
    if ns:
        out.append(f"{i2}check = 0.0")
        out.append(f"{i2}for j in range({ns}):")
        out.append(f"{i3}check += v[{lay.stocks} + j] * 0.0")
        out.append(f"{i2}if not rt.all_finite(check):")
        out.append(f"{i3}rt.fill_unreached(out, next_row)")
        out.append(f"{i3}return {NONFINITE_STATE}")
    out.append(f"{i1}rt.fill_unreached(out, next_row)  # a dynamic FINAL TIME may stop early")
    out.append(f"{i1}return status")
    out += ["", ""]
    return out


def _split_tables(model: ir.ModelIR, lay: _Layout) -> list[str]:
    """Module constants a split kernel's driver reads: initial values (the lookup tables
    in place), parameter columns, slots; and the helpers its parts call."""
    columns = [p.column for p in model.parameters]
    cells = [lay.slots[cell] for cell in visible_cells(model)]
    delays = [lay.slots[f.delay_symbol] for f in model.fixed_delays]
    lines = [f"SPLIT_INITIAL_VALUES = np.zeros({max(lay.size, 1)})"]
    for k, lk in enumerate(model.lookups):
        start, end = lay.tables[lk.name], lay.tables[lk.name] + 2 + 2 * len(lk.xs)
        header = f"[{len(lk.xs)}.0, {DATA_MODE_CODES[lk.mode]}.0]"
        lines.append(
            f"SPLIT_INITIAL_VALUES[{start} : {end}] = "
            f"np.concatenate(({header}, LOOKUP_{k}_X, LOOKUP_{k}_Y))"
        )
    return [
        *lines,
        f"SPLIT_PARAMETER_COLUMNS = np.array({columns!r}, dtype=np.int64)",
        f"SPLIT_CELL_SLOTS = np.array({cells!r}, dtype=np.int64)",
        f"SPLIT_FIXED_DELAY_SLOTS = np.array({delays!r}, dtype=np.int64)",
        *_helper_twins(),
        "_COMPILED_PARTS = {}  # part -> its compiled C function, for both methods",
        "",
    ]
