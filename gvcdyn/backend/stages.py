"""A model's auxiliaries and stock rates at one point, as a compiled function of its own.

Why: a Runge-Kutta step evaluates the model's equations once per stage. Emitted inline,
the equations appeared once per stage in the kernel (RK4 four times, rk23 four, rk45
seven), and numba's own passes (typing, lowering, SSA), which cost time per IR node,
compiled every copy: most of a cold build of the GVC model at rk23 (issue 21). A stage
function holds them once; each stage calls it.

``stage_function`` generates it from the equations and rates a stage computes::

    @njit(...)
    def _stage_rk23(_kp, _ap, _save_from, time, dt, process_capability, ...):
        a, b, c = rt.gather(_kp, (0, 1, 2))  # run constants, loaded where first used
        ...                                  # the equations, in the order given
        if time >= _save_from:               # the auxiliaries, for the saved rows
            rt.scatter(_ap, 0, (...))
        return (_r0, _r1, ...)               # the stock rates

The arguments after the pointers are what changes from stage to stage (time, the stocks'
stage values, values a caller computes once per distinct time, TIME STEP and the other
controls the equations read), by their identifiers in the kernel. What is fixed for the
run (parameters, initial and constant values) the caller stores once in ``_k``, slots of
its buffer ``vals`` (:meth:`StageFunction.store_constants`: an array of its own would be
freed by numba after its last use in the caller, which is not the pointer's). The
function loads each value just before the statements that first read it, CHUNK
statements at a time (loading everything at the top made a split kernel's runs 18%
slower). The statements are those the inline code had, with the same identifiers, on
the same values, in the same order, and numba compiles without fastmath: results are
bitwise those of the inline stages.

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
    n_rates: int

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
        out += _moves("scatter", "_kp", [names[s] for s in self.constants], indent)
        if self.saved:
            out.append(f"{indent}_ap = rt.offset(vp, {first + len(self.constants)})")
        return out

    def call(
        self,
        targets: Sequence[str],
        rename: Callable[[str], str],
        indent: str,
        save_from: str = "np.inf",
    ) -> str:
        """The caller's line assigning the rates to ``targets``; ``rename`` gives the
        caller's source for each varying symbol; ``save_from``: the time from which the
        call stores the auxiliaries in ``_a`` (a function generated with ``save``; by
        default never, ``-np.inf`` always)."""
        pointers = ["_kp", "_ap", save_from] if self.saved else ["_kp"]
        args = ", ".join([*pointers, *(rename(s) for s in self.varying)])
        return f"{indent}{tuple_items(targets)} = {self.name}({args})"

    def restore(self, names: Mapping[str, str], indent: str) -> list[str]:
        """The caller's lines loading the saved auxiliaries from ``_a`` into its locals."""
        return _moves("gather", "_ap", [names[s] for s in self.saved], indent)


def _moves(
    kind: str, pointer: str, locals_: Sequence[str], indent: str, first: int = 0
) -> list[str]:
    """``rt.scatter`` of ``locals_`` to slots ``first``, ``first + 1``, ... of ``pointer``
    (``gather``: the other way), CHUNK values per call."""
    out = []
    for start in range(0, len(locals_), CHUNK):
        chunk = locals_[start : start + CHUNK]
        if kind == "scatter":
            out.append(f"{indent}rt.scatter({pointer}, {first + start}, ({tuple_items(chunk)}))")
        else:
            slots = tuple_items(str(first + start + i) for i in range(len(chunk)))
            out.append(f"{indent}{tuple_items(chunk)} = rt.gather({pointer}, ({slots}))")
    return out


def stage_function(
    name: str,
    decorator: str,
    equations: Sequence[ir.Equation],
    rates: Sequence[ir.Expr],
    names: Mapping[str, str],
    expr: Callable[[ir.Expr, Callable[[str], str]], str],
    varying: Sequence[str],
    constants: frozenset[str] | set[str],
    save: bool = False,
) -> StageFunction | None:
    """The function computing ``equations`` then ``rates`` (module docstring), or None
    if a statement reads a symbol that is neither assigned before it in the function,
    nor in ``varying`` (passed per call, in that order), nor in ``constants`` (fixed for
    the run): a value from an earlier stage, which the inline code must keep.

    ``names``: each symbol's identifier; ``expr(node, rename)``: the kernel's emitter.
    """
    if not rates:
        return None
    body = {eq.symbol for eq in equations}  # read before it is assigned: an earlier stage's
    assigned: set[str] = set()
    passed: set[str] = set()
    loaded: dict[str, None] = {}  # constants, in the order first read (their slots in _k)
    windows: list[tuple[list[str], list[str]]] = []  # (constants first read, statements)
    missing: list[str] = []

    def statement(target: str, node: ir.Expr, comment: str) -> None:
        read: list[str] = []

        def rename(symbol: str) -> str:
            read.append(symbol)
            return names[symbol]

        code = expr(node, rename)
        if not windows or len(windows[-1][1]) == CHUNK:
            windows.append(([], []))
        new, lines = windows[-1]
        for symbol in read:
            if symbol in assigned or symbol in passed or symbol in loaded:
                continue
            if symbol in body:
                missing.append(symbol)
            elif symbol in varying:
                passed.add(symbol)
            elif symbol in constants:
                loaded[symbol] = None
                new.append(symbol)
            else:
                missing.append(symbol)
        lines.append(f"{target} = {code}{comment}")

    for eq in equations:
        local = names[eq.symbol]
        statement(local, eq.expr, "" if local == eq.symbol else f"  # {eq.symbol}")
        assigned.add(eq.symbol)
    for i, rate in enumerate(rates):
        statement(f"_r{i}", rate, "")
    if missing:
        return None
    if save:  # compared with _save_from
        passed.add("time")
    arguments = tuple(s for s in varying if s in passed)
    saved = tuple(dict.fromkeys(eq.symbol for eq in equations)) if save else ()
    pointers = "_kp, _ap, _save_from" if saved else "_kp"
    i1 = "    "
    lines = [
        decorator,
        f"def {name}({', '.join([pointers, *(names[s] for s in arguments)])}):",
        f'{i1}"""The auxiliaries and stock rates at one point (gvcdyn.backend.stages)."""',
    ]
    slot = 0
    for new, body in windows:
        lines += _moves("gather", "_kp", [names[s] for s in new], i1, slot)
        slot += len(new)
        lines += [f"{i1}{line}" for line in body]
    if saved:
        lines.append(f"{i1}if {names['time']} >= _save_from:")
        lines += _moves("scatter", "_ap", [names[s] for s in saved], i1 + i1)
    lines.append(f"{i1}return ({tuple_items(f'_r{i}' for i in range(len(rates)))})")
    lines += ["", ""]
    return StageFunction(name, tuple(lines), arguments, tuple(loaded), saved, len(rates))
