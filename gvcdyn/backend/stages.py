"""A model's auxiliaries and stock rates at one point, as a compiled function of its own.

Why: a Runge-Kutta step evaluates the model's equations once per stage. Emitted inline,
the equations appeared once per stage in the kernel (RK4 four times, rk23 four, rk45
seven), and numba's own passes (typing, lowering, SSA), which cost time per IR node,
compiled every copy: most of a cold build of the GVC model at rk23 (issue 21). A stage
function holds them once; each stage of the adaptive methods calls it (RK4 keeps its
stages inline: with the calls its runs were 15-20% slower, see ``codegen.STAGE_FUNCTIONS``).

``stage_function`` generates it from the equations and rates a stage computes::

    @njit(...)
    def _stage_rk23(_kp, _sp, _rp, _ap, _save_from, time, dt):
        a, b, c = rt.gather(_kp, (0, 1, 2))  # run constants, loaded where first used
        x, z = rt.gather(_sp, (0, 2))        # the stage's stock values, alike
        ...                                  # the equations, in the order given
        if time >= _save_from:               # the auxiliaries, for the saved rows
            rt.scatter(_ap, 0, (...))
        rt.scatter(_rp, 0, (_r0, _r1, ...))  # the stock rates

The stage's stock values come through the pointer ``_sp`` and its rates go to ``_rp``
(so that the caller's per-stock work is a loop, compiled once); the other
arguments are what changes from stage to stage (time, values a caller computes once per
distinct time, the discrete states, TIME STEP and the other controls the equations
read), by their identifiers in the kernel. What is fixed for the run (parameters,
initial and constant values) the caller stores once in ``_k``. All of these are slots of
the caller's buffer ``vals`` (an array of their own would be freed by numba after its
last use in the caller, which is not the pointer's). The function loads each value just
before the statements that first read it, CHUNK statements at a time (loading
everything at the top made a split kernel's runs 18% slower). The statements are those
the inline code had, with the same identifiers, on the same values, in the same order,
and numba compiles without fastmath: results are bitwise those of the inline stages.

With ``save``, the function also stores its auxiliaries in ``_a`` if its time is at or
after ``_save_from``, so that the kernel can report them at a saved time
(:meth:`StageFunction.restore`) without computing them again. A number, not a flag: numba
compiles a function once per literal argument (``True``, ``False``) besides once per type,
and a float has no literal type (the flag made numba compile it three times).

Identifiers that start with ``_`` are the generator's own: model identifiers never do
(``codegen.identifiers`` strips leading underscores).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence

from gvcdyn.language import ir

CHUNK = 16  # values moved per rt.gather / rt.scatter call


def tuple_items(items: Iterable[str]) -> str:
    """``a, b`` (``a,`` for one item): the inside of a tuple display."""
    items = list(items)
    return ", ".join(items) + ("," if len(items) == 1 else "")


@dataclasses.dataclass(frozen=True)
class StageFunction:
    """A generated stage function (module docstring): its name and source, and what its
    callers pass and store for it."""

    name: str
    lines: tuple[str, ...]
    varying: tuple[str, ...]  # symbols passed at every call, in order, after the pointers
    constants: tuple[str, ...]  # symbols the caller stores in _k, slot i holding the i-th
    saved: tuple[str, ...]  # auxiliaries stored in _a (time >= _save_from), in slot order

    @property
    def size(self) -> int:
        """The slots the function's values take in the caller's buffer: ``_k``, ``_a``."""
        return len(self.constants) + len(self.saved)

    def store_constants(self, names: Mapping[str, str], indent: str, first: int) -> list[str]:
        """The caller's lines (once per run, after the constant values are computed)
        pointing ``_k`` (and ``_a`` if saving) into its buffer ``vals`` from slot ``first``
        (``vals`` has :attr:`size` slots there, and is read at every saved row, so it
        outlives every call) and storing the run's constants in ``_k``."""
        out = [f"{indent}_kp = rt.offset(vp, {first})  # the run's constants, in vals"]
        out += moves("scatter", "_kp", [names[s] for s in self.constants], indent)
        if self.saved:
            out.append(f"{indent}_ap = rt.offset(vp, {first + len(self.constants)})")
        return out

    def call(
        self,
        stocks: str,
        rates: str,
        rename: Callable[[str], str],
        indent: str,
        save_from: str = "np.inf",
    ) -> str:
        """The caller's line computing the rates at the stock values at pointer
        ``stocks`` (slot i: the model's i-th stock) into pointer ``rates``; ``rename``
        gives the caller's source for each varying symbol; ``save_from``: the time from
        which the call stores the auxiliaries in ``_a`` (a function generated with
        ``save``; by default never, ``-np.inf`` always)."""
        pointers = ["_kp", stocks, rates] + (["_ap", save_from] if self.saved else [])
        args = ", ".join([*pointers, *(rename(s) for s in self.varying)])
        return f"{indent}{self.name}({args})"

    def restore(self, names: Mapping[str, str], indent: str) -> list[str]:
        """The caller's lines loading the saved auxiliaries from ``_a`` into its locals."""
        return moves("gather", "_ap", [names[s] for s in self.saved], indent)


def moves(
    kind: str,
    pointer: str,
    locals_: Sequence[str],
    indent: str,
    first: int = 0,
    slots: Sequence[int] | None = None,
) -> list[str]:
    """``rt.scatter`` of ``locals_`` to slots ``first``, ``first + 1``, ... of ``pointer``
    (``gather``: the other way; from ``slots`` if given), CHUNK values per call."""
    out = []
    for start in range(0, len(locals_), CHUNK):
        chunk = locals_[start : start + CHUNK]
        if kind == "scatter":
            out.append(f"{indent}rt.scatter({pointer}, {first + start}, ({tuple_items(chunk)}))")
        else:
            at = slots[start : start + CHUNK] if slots is not None else None
            at = at or [first + start + i for i in range(len(chunk))]
            numbers = tuple_items(str(k) for k in at)
            out.append(f"{indent}{tuple_items(chunk)} = rt.gather({pointer}, ({numbers}))")
    return out


def stage_function(
    name: str,
    decorator: str,
    equations: Sequence[ir.Equation],
    rates: Sequence[ir.Expr],
    names: Mapping[str, str],
    expr: Callable[[ir.Expr, Callable[[str], str]], str],
    stocks: Sequence[str],
    varying: Sequence[str],
    constants: frozenset[str] | set[str],
    save: bool = False,
) -> StageFunction | None:
    """The function computing ``equations`` then ``rates`` (module docstring), or None
    if a statement reads a symbol that is neither assigned before it in the function,
    nor one of ``stocks`` (read through the pointer ``_sp``, the i-th at slot i), nor in
    ``varying`` (passed per call, in that order), nor in ``constants`` (fixed for the
    run): a value from an earlier stage, which the inline code must keep.

    ``names``: each symbol's identifier; ``expr(node, rename)``: the kernel's emitter.
    """
    if not rates:
        return None
    body = {eq.symbol for eq in equations}  # read before it is assigned: an earlier stage's
    stock_slots = {symbol: i for i, symbol in enumerate(stocks)}
    known: set[str] = set()  # assigned, passed or loaded
    passed: set[str] = set()
    loaded: dict[str, None] = {}  # constants, in the order first read (their slots in _k)
    # per window of CHUNK statements: the constants and stocks first read there, its lines
    windows: list[tuple[list[str], list[str], list[str]]] = []
    missing: list[str] = []

    def statement(target: str, node: ir.Expr, comment: str) -> None:
        read: list[str] = []

        def rename(symbol: str) -> str:
            read.append(symbol)
            return names[symbol]

        code = expr(node, rename)
        if not windows or len(windows[-1][2]) == CHUNK:
            windows.append(([], [], []))
        new_constants, new_stocks, lines = windows[-1]
        for symbol in read:
            if symbol in known:
                continue
            known.add(symbol)
            if symbol in body:
                missing.append(symbol)
            elif symbol in stock_slots:
                new_stocks.append(symbol)
            elif symbol in varying:
                passed.add(symbol)
            elif symbol in constants:
                loaded[symbol] = None
                new_constants.append(symbol)
            else:
                missing.append(symbol)
        lines.append(f"{target} = {code}{comment}")

    for eq in equations:
        local = names[eq.symbol]
        statement(local, eq.expr, "" if local == eq.symbol else f"  # {eq.symbol}")
        known.add(eq.symbol)
    for i, rate in enumerate(rates):
        statement(f"_r{i}", rate, "")
    if missing:
        return None
    if save:  # compared with _save_from
        passed.add("time")
    arguments = tuple(s for s in varying if s in passed)
    saved = tuple(dict.fromkeys(eq.symbol for eq in equations)) if save else ()
    pointers = "_kp, _sp, _rp" + (", _ap, _save_from" if saved else "")
    i1 = "    "
    lines = [
        decorator,
        f"def {name}({', '.join([pointers, *(names[s] for s in arguments)])}):",
        f'{i1}"""The auxiliaries and stock rates at one point (gvcdyn.backend.stages)."""',
    ]
    slot = 0
    for new_constants, new_stocks, statements in windows:
        lines += moves("gather", "_kp", [names[s] for s in new_constants], i1, slot)
        slot += len(new_constants)
        at = [stock_slots[s] for s in new_stocks]
        lines += moves("gather", "_sp", [names[s] for s in new_stocks], i1, slots=at)
        lines += [f"{i1}{line}" for line in statements]
    lines += moves("scatter", "_rp", [f"_r{i}" for i in range(len(rates))], i1)
    if saved:
        lines.append(f"{i1}if {names['time']} >= _save_from:")
        lines += moves("scatter", "_ap", [names[s] for s in saved], i1 + i1)
    lines += ["", ""]
    return StageFunction(name, tuple(lines), arguments, tuple(loaded), saved)


def scatter_runs(pointer: str, items: Sequence[tuple[int, str]], indent: str) -> list[str]:
    """``rt.scatter`` of each local of ``items`` (slot, local) to its slot of ``pointer``:
    one call per run of consecutive slots, CHUNK values per call at most."""
    runs: list[list[tuple[int, str]]] = []
    for slot, local in sorted(items):
        if runs and slot == runs[-1][-1][0] + 1 and len(runs[-1]) < CHUNK:
            runs[-1].append((slot, local))
        else:
            runs.append([(slot, local)])
    return [
        f"{indent}rt.scatter({pointer}, {run[0][0]}, ({tuple_items(x for _, x in run)}))"
        for run in runs
    ]
