"""Lower PySD expressions to IR for one scalar cell: operators, calls, references, subscripts.

An ``ExpressionLowerer`` turns one AST into an IR expression for one cell, with the
subscripts of that cell bound (``env``: range name -> element). References resolve to
cell symbols; ``Range!`` arguments of SUM/PROD/VMIN/VMAX/VECTOR SELECT are unrolled over
their elements; stateful builtins are handed to ``stateful``, which adds internal stocks
to the ``ModelParts`` being filled.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pysd.translators.structures import abstract_expressions as ae

from gvcdyn.errors import ModelStructureError, UndefinedNameError, UnsupportedFeatureError
from gvcdyn.language import functions, ir, vector_functions
from gvcdyn.language.lower import stateful
from gvcdyn.language.lower.elements import (
    CONTROL_NAMES,
    ModelVariable,
    construct_name,
    is_number,
    make_lookup,
)
from gvcdyn.language.lower.macros import is_instance_name
from gvcdyn.language.schedule import ModelParts
from gvcdyn.language.source_location import undefined_name_error
from gvcdyn.language.subscripts import Range, SubscriptCatalog, name_key

REDUCTIONS = {"sum": "+", "prod": "*", "vmin": "min", "vmax": "max"}


class ExpressionLowerer:
    """Lowers ASTs of one model section; what they create goes into ``parts``."""

    def __init__(
        self,
        catalog: SubscriptCatalog,
        variables: dict[str, ModelVariable],
        controls: dict[str, Any],
        parts: ModelParts,
        hoist_random: bool = True,
    ) -> None:
        self.catalog = catalog
        self.vars = variables
        self.controls = controls
        self.parts = parts
        self._counter = itertools.count()
        self.current = ""  # variable being lowered, for error messages
        self.source_path: Path | None = None  # the .mdl file, for error messages
        # (table cell, lookup, calling cell) of every call of a named lookup, checked once
        # all tables exist (a lookup may be lowered after the variables that call it)
        self.lookup_calls: list[tuple[str, ModelVariable, str]] = []
        # each RANDOM call becomes an auxiliary of its own (``_random_draw``); a scratch
        # lowerer keeps it inline, where the evaluator refuses it by name
        self.hoist_random = hoist_random

    def scratch(self) -> ExpressionLowerer:
        """A lowerer over the same model whose creations are thrown away (for evaluation)."""
        low = ExpressionLowerer(
            self.catalog, self.vars, self.controls, ModelParts(), hoist_random=False
        )
        low.source_path = self.source_path
        return low

    def unique(self, owner: str, what: str) -> str:
        """A fresh internal symbol for ``owner`` (``owner~what<n>``)."""
        return f"{owner}~{what}{next(self._counter)}"

    def expr(self, node: Any, env: dict[str, str], owner: str) -> ir.Expr:
        """Lower one PySD AST node for the cell ``owner`` with subscripts bound by ``env``."""
        if is_number(node):
            if isinstance(node, np.ndarray):
                if node.size != 1:
                    raise UnsupportedFeatureError(
                        f"'{owner}': array literal inside an expression is not supported"
                    )
                node = node.reshape(-1)[0]
            return ir.Num(float(node))
        if isinstance(node, ae.ReferenceStructure):
            return self.reference(node, env, owner)
        if isinstance(node, ae.ArithmeticStructure):
            return self._arithmetic(node, env, owner)
        if isinstance(node, ae.LogicStructure):
            return self._logic(node, env, owner)
        if isinstance(node, ae.CallStructure):
            return self._call(node, env, owner)
        if isinstance(node, ae.InlineLookupsStructure):
            table = self.unique(owner, "with_lookup")
            self.parts.lookups[table] = make_lookup(table, node.lookups)
            return ir.LookupCall(table, self.expr(node.argument, env, owner))
        if isinstance(node, ae.GameStructure):
            return self.expr(node.expression, env, owner)
        if isinstance(node, ae.AllocateByPriorityStructure):
            return vector_functions.allocate_by_priority(self, node, env, owner)
        if isinstance(node, ae.AllocateAvailableStructure):
            return vector_functions.allocate_available(self, node, env, owner)
        builtin = stateful.BUILTINS.get(type(node))
        if builtin is not None:
            return builtin(self, node, env, owner)
        if isinstance(node, ae.IntegStructure):
            raise UnsupportedFeatureError(
                f"'{self.current}': INTEG must be the whole equation, not part of an expression"
            )
        raise UnsupportedFeatureError(
            f"'{self.current}' uses {construct_name(node)}, which gvcdyn does not support"
        )

    def _arithmetic(self, node: Any, env: dict[str, str], owner: str) -> ir.Expr:
        ops = list(node.operators)
        args = list(node.arguments)
        if ops == ["negative"]:
            return ir.Op("neg", (self.expr(args[0], env, owner),))
        if ops and all(o == "^" for o in ops):
            # a^b^c is right-associative. A written minus before a number base arrives as
            # negative(number ^ ...) (gvcdyn.language.vensim_precedence undoes PySD's fold), so a
            # negative number here is one written in parentheses: a real negative base.
            result = self.expr(args[-1], env, owner)
            for base in reversed(args[:-1]):
                result = ir.Op("^", (self.expr(base, env, owner), result))
            return result
        unknown = [op for op in ops if op not in {"+", "-", "*", "/", "^"}]
        if unknown:
            raise UnsupportedFeatureError(f"'{owner}': unknown operator '{unknown[0]}'")
        # left to right; a long sum or product as a balanced tree (ir.chain)
        return ir.chain([self.expr(arg, env, owner) for arg in args], ops)

    def _logic(self, node: Any, env: dict[str, str], owner: str) -> ir.Expr:
        """Comparisons and :AND:/:OR:/:NOT:; a flat chain binds :AND: before :OR:."""
        ops = [o.lower() for o in node.operators]
        args = [self.expr(a, env, owner) for a in node.arguments]
        if ops == [":not:"]:
            return ir.Op("not", (args[0],))
        unknown = [o for o in ops if o not in _LOGIC_OPS]
        if unknown:
            raise UnsupportedFeatureError(f"'{owner}': unknown logical operator '{unknown[0]}'")
        return _fold_by_precedence([_LOGIC_OPS[o] for o in ops], args)

    def _call(self, node: Any, env: dict[str, str], owner: str) -> ir.Expr:
        function = node.function
        key = name_key(function.reference)
        if key in self.vars and self.vars[key].kind == "lookup":
            if len(node.arguments) != 1:
                raise ModelStructureError(f"'{owner}': lookup '{key}' takes one argument")
            table = self._resolve_cell(self.vars[key], function.subscripts, env, owner)
            self.lookup_calls.append((table, self.vars[key], owner))
            return ir.LookupCall(table, self.expr(node.arguments[0], env, owner))
        if key in self.vars:
            raise ModelStructureError(
                f"'{owner}' calls '{self.vars[key].name}' like a function, but it is not a lookup"
            )
        if key in REDUCTIONS:
            return self._reduce(REDUCTIONS[key], node.arguments[0], env, owner)
        if key in vector_functions.ORDERING:
            return vector_functions.ordering_call(self, key, node.arguments, env, owner)
        if key == "vector_select":
            return self._vector_select(node.arguments, env, owner)
        if key == "invert_matrix":
            return self._invert_matrix(node.arguments, env, owner)
        if key == "get_time_value":
            _check_time_value_form(node.arguments, self.current)
        if key == "elmcount":
            return ir.Num(
                float(len(self.catalog.range(_subscript_name(node.arguments[0])).elements))
            )
        function_ = functions.BY_VENSIM_NAME.get(key)
        if function_ is None:
            raise UnsupportedFeatureError(
                f"'{self.current}' uses the function "
                f"{function.reference.upper().replace('_', ' ')}, "
                "which gvcdyn does not support"
            )
        counts = function_.arities or ()
        if len(node.arguments) not in counts:
            raise ModelStructureError(
                f"'{owner}': {key.upper()} takes {' or '.join(map(str, counts))} arguments, "
                f"got {len(node.arguments)}"
            )
        call = ir.Call(function_.name, tuple(self.expr(a, env, owner) for a in node.arguments))
        if function_.draws_random:
            return self._random_draw(call, owner)
        return call

    def _random_draw(self, call: ir.Call, owner: str) -> ir.Expr:
        """A RANDOM call as an auxiliary of its own, ``owner~random<n>``.

        So each call in the model's text takes exactly one draw per evaluation of its
        block, however often lowering copies the expression around it (a stateful
        builtin's input, an IF THEN ELSE branch, an initial value): one value per time
        step, shared by every reader, as in Vensim. Bounds given as numbers that leave
        no value to draw are refused here, not left to give NaN in every run.
        """
        _check_random_bounds(call, self.current)
        if not self.hoist_random:
            return call
        symbol = self.unique(owner, "random")
        self.parts.equations[symbol] = call
        return ir.Sym(symbol)

    def _bang_terms(
        self, arguments: Sequence[Any], env: dict[str, str], owner: str
    ) -> list[tuple[ir.Expr, ...]]:
        """The arguments lowered once per element of their ``Range!`` subscripts.

        All ``!`` ranges of all the arguments are iterated together (their cartesian
        product), which is what PySD's xarray broadcasting does.
        """
        bang = sorted(set().union(*(_bang_ranges(a) for a in arguments)))
        ranges = [self.catalog.range(name) for name in bang]
        terms = []
        for combo in itertools.product(*(r.elements for r in ranges)):
            inner = dict(env)
            for name, element in zip(bang, combo, strict=True):
                inner[name_key(name) + "!"] = element
            terms.append(tuple(self.expr(a, inner, owner) for a in arguments))
        return terms

    def _reduce(self, op: str, argument: Any, env: dict[str, str], owner: str) -> ir.Expr:
        terms = [t[0] for t in self._bang_terms([argument], env, owner)]
        if op in {"min", "max"}:
            return ir.chain(terms, [op] * (len(terms) - 1), lambda f, a, b: ir.Call(f, (a, b)))
        return ir.chain(terms, [op] * (len(terms) - 1))

    def _vector_select(self, arguments: Sequence[Any], env: dict[str, str], owner: str) -> ir.Expr:
        if len(arguments) != 5:
            raise ModelStructureError(f"'{owner}': VECTOR SELECT takes 5 arguments")
        pairs = [(t[0], t[1]) for t in self._bang_terms(arguments[:2], env, owner)]
        missing, action, error = (self.expr(a, env, owner) for a in arguments[2:])
        return vector_functions.vector_select(pairs, missing, action, error, owner)

    def _invert_matrix(self, arguments: Sequence[Any], env: dict[str, str], owner: str) -> ir.Expr:
        """One entry of INVERT MATRIX: the last two subscripts span the matrix."""
        matrix = arguments[0]
        subs = list(matrix.subscripts.subscripts) if getattr(matrix, "subscripts", None) else []
        if (
            not isinstance(matrix, ae.ReferenceStructure)
            or len(subs) < 2
            or not all(self.catalog.is_range(s) for s in subs[-2:])
        ):
            raise UnsupportedFeatureError(
                f"'{owner}': INVERT MATRIX needs a variable subscripted by two ranges last"
            )
        rows, cols = (self.catalog.range(s) for s in subs[-2:])
        if len(rows.elements) != len(cols.elements):
            raise ModelStructureError(f"'{owner}': INVERT MATRIX of a non-square matrix")
        here = [env.get(name_key(s)) for s in subs[-2:]]
        if None in here:
            raise ModelStructureError(
                f"'{owner}': INVERT MATRIX must be subscripted by the matrix's ranges"
            )
        cells = []
        for p, q in itertools.product(rows.elements, cols.elements):
            inner = {**env, name_key(subs[-2]): p, name_key(subs[-1]): q}
            cells.append(self.reference(matrix, inner, owner))
        return vector_functions.invert_matrix_entry(cells, rows.index(here[0]), cols.index(here[1]))

    # ------------------------------------------------------------------ references
    def reference(self, node: Any, env: dict[str, str], owner: str) -> ir.Expr:
        key = name_key(node.reference)
        if key == "time":
            return ir.TIME
        if key in CONTROL_NAMES:
            return ir.Sym(CONTROL_NAMES[key])
        var = self.vars.get(key)
        if var is None and self.catalog.is_range(node.reference):
            return self._range_position(node.reference, env, owner)
        if var is None and self.catalog.is_element(node.reference):
            return self._element_position(node.reference)
        if var is None:
            raise self._undefined(node.reference)
        if var.kind == "lookup":
            raise UnsupportedFeatureError(
                f"'{self.current}' uses lookup '{var.name}' without calling it"
            )
        return ir.Sym(self._resolve_cell(var, node.subscripts, env, owner))

    def _undefined(self, reference: str) -> UndefinedNameError:
        """The error for a name the model does not define: as written, where, and the
        closest names the model does define (its own, not macro copies)."""

        defined = [v.name for v in self.vars.values() if not is_instance_name(v.name)]
        return undefined_name_error(self.source_path, self.current, reference, defined)

    def _range_position(self, name: str, env: dict[str, str], owner: str) -> ir.Expr:
        """A subscript range used as a value: the bound element's 1-based position.

        Vensim counts positions in the element's whole family (the largest range that
        holds it), so a subrange's first element can be number 28.
        """
        rng = self.catalog.range(name)
        element = env.get(name_key(name))
        if element is None:
            element = next((e for k, e in env.items() if not k.endswith("!") and rng.has(e)), None)
        if element is None:
            raise ModelStructureError(
                f"'{owner}' uses subscript range '{name}' as a value "
                "outside an equation subscripted by it"
            )
        return self._element_position(element)

    def _element_position(self, element: str) -> ir.Expr:
        """An element name used as a value: its 1-based position in its family range."""
        family = max(self.catalog.ranges_of(element), key=lambda r: len(r.elements))
        return ir.Num(float(family.index(element) + 1))

    def _resolve_cell(
        self, var: ModelVariable, subscripts: Any, env: dict[str, str], owner: str
    ) -> str:
        if not var.dims:
            return var.cells[0]
        subs = list(subscripts.subscripts) if subscripts is not None else [d.name for d in var.dims]
        if len(subs) != len(var.dims):
            raise ModelStructureError(
                f"'{owner}' refers to '{var.name}' with {len(subs)} subscripts; "
                f"it has {len(var.dims)}"
            )
        elements = tuple(
            self._element_for(sub, dim, env, owner, var)
            for sub, dim in zip(subs, var.dims, strict=True)
        )
        return var.cell_symbol(elements)

    def _element_for(
        self, sub: str, dim: Range, env: dict[str, str], owner: str, var: ModelVariable
    ) -> str:
        """The element of ``dim`` that subscript ``sub`` stands for in the current cell."""
        if sub.endswith("!"):
            element = env.get(name_key(sub[:-1]) + "!")
            if element is None:
                raise ModelStructureError(f"'{owner}': '{sub}' outside SUM/PROD/VMIN/VMAX")
            return self._fit(element, self.catalog.range(sub), dim, owner, var)
        if not self.catalog.is_range(sub):
            if not self.catalog.is_element(sub):
                raise ModelStructureError(f"'{owner}': unknown subscript '{sub}'")
            return self._fit(self.catalog.canonical_element(sub), None, dim, owner, var)
        rng = self.catalog.range(sub)
        bound = env.get(name_key(sub))
        if bound is not None:
            return self._fit(bound, rng, dim, owner, var)
        # an unbound range: find a bound range it maps to, or one of the same family
        for bound_name, element in env.items():
            if bound_name.endswith("!") or bound_name not in self.catalog.ranges:
                continue
            other = self.catalog.ranges[bound_name]
            if self.catalog.maps_between(rng, other) and len(rng.elements) == len(other.elements):
                return self._fit(rng.elements[other.index(element)], rng, dim, owner, var)
        candidates = {
            rng.elements[rng.index(element)]
            for bound_name, element in env.items()
            if not bound_name.endswith("!") and rng.has(element)
        }
        if len(candidates) > 1:
            raise ModelStructureError(
                f"'{owner}' refers to '{var.name}[{sub}]', but '{sub}' could stand for any of "
                f"{sorted(candidates)} in this equation; subscript it explicitly"
            )
        if candidates:
            return self._fit(candidates.pop(), rng, dim, owner, var)
        raise ModelStructureError(
            f"'{owner}' refers to '{var.name}[{sub}]' but '{sub}' is not bound in this equation"
        )

    def _fit(
        self, element: str, source: Range | None, dim: Range, owner: str, var: ModelVariable
    ) -> str:
        if dim.has(element):
            return dim.elements[dim.index(element)]
        if source is not None and self.catalog.maps_between(source, dim):
            return dim.elements[source.index(element)]
        raise ModelStructureError(
            f"'{owner}': element '{element}' is not in dimension '{dim.name}' of '{var.name}'"
        )


def _check_random_bounds(call: ir.Call, variable: str) -> None:
    """Refuse a truncated RANDOM NORMAL / EXPONENTIAL whose literal arguments leave no
    value to draw (the kernel would give NaN in every run)."""
    if call.function not in ("random_normal", "random_exponential"):
        return
    literal = [a.value if isinstance(a, ir.Num) else None for a in call.args]
    low, high, shift, spread = literal[:4]
    name = call.function.upper().replace("_", " ")
    if call.function == "random_exponential" and low is not None and shift is not None:
        low = max(low, shift)  # the distribution starts at its shift
    problem = None
    if low is not None and high is not None and not low < high:
        problem = f"its values must lie in [{low:g}, {high:g}], an empty window"
    elif spread is not None and (spread < 0 or (spread == 0 and name == "RANDOM EXPONENTIAL")):
        what = "standard deviation" if call.function == "random_normal" else "stretch"
        problem = f"its {what} is {spread:g}"
    if problem:
        raise ModelStructureError(
            f"'{variable}' calls {name} with no value to draw: {problem}; "
            "check the order of its arguments (min, max, ...)"
        )


# ---------------------------------------------------------------------- logic

_LOGIC_OPS = {
    ":and:": "and",
    ":or:": "or",
    "=": "=",
    "<>": "<>",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
}
_LOGIC_PRECEDENCE = {"or": 0, "and": 1}  # comparisons bind tightest (2)


def _fold_by_precedence(ops: list[str], args: list[ir.Expr]) -> ir.Expr:
    """Build a flat operator chain with Vensim's precedence, left to right within a level."""
    if not ops:
        return args[0]
    lowest = min(_LOGIC_PRECEDENCE.get(o, 2) for o in ops)
    groups: list[ir.Expr] = []
    joins: list[str] = []
    start = 0
    for i, op in enumerate(ops):
        if _LOGIC_PRECEDENCE.get(op, 2) == lowest:
            groups.append(_fold_by_precedence(ops[start:i], args[start : i + 1]))
            joins.append(op)
            start = i + 1
    groups.append(_fold_by_precedence(ops[start:], args[start:]))
    return ir.chain(groups, joins)


def _bang_ranges(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, ae.SubscriptsReferenceStructure):
        found.update(s[:-1] for s in node.subscripts if s.endswith("!"))
    elif hasattr(node, "__dataclass_fields__"):
        for name in node.__dataclass_fields__:
            found |= _bang_ranges(getattr(node, name))
    elif isinstance(node, tuple | list):
        for item in node:
            found |= _bang_ranges(item)
    return found


def _subscript_name(node: Any) -> str:
    if isinstance(node, ae.ReferenceStructure):
        return node.reference.rstrip("!")
    if isinstance(node, ae.SubscriptsReferenceStructure):
        return node.subscripts[0].rstrip("!")
    raise ModelStructureError("ELMCOUNT takes a subscript range")


def _check_time_value_form(arguments: Sequence[Any], variable: str) -> None:
    """GET TIME VALUE(relativeto, offset, measure) in its one deterministic form, 0/0.

    PySD gives the simulation time plus offset for relativeto 0 with measure 0; relativeto
    2 and the calendar measures read the computer clock (a run could not be repeated), and
    relativeto 1 is not implemented there. Anything but literal zeros is refused.
    """
    if len(arguments) != 3:
        return  # the arity check names the count
    relativeto, measure = (
        float(np.asarray(a).reshape(-1)[0]) if is_number(a) else None
        for a in (arguments[0], arguments[2])
    )
    if relativeto is None or measure is None:
        raise UnsupportedFeatureError(
            f"'{variable}': GET TIME VALUE needs its relativeto and measure written as the "
            "number 0 (only GET TIME VALUE(0, offset, 0), the simulation time plus offset, "
            "is supported)"
        )
    if relativeto != 0 or measure != 0:
        raise UnsupportedFeatureError(
            f"'{variable}': GET TIME VALUE({relativeto:g}, offset, {measure:g}) is not "
            "supported: only relativeto 0 with measure 0 (the simulation time plus offset) "
            "is reproducible; relativeto 2 and the calendar measures read the computer "
            "clock, and PySD does not implement relativeto 1"
        )
