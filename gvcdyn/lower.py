"""Lower PySD's abstract model to gvcdyn's IR.

Steps, each a method of ``_Lowerer``:

1. classify every element (constant, stock, auxiliary, lookup) and fix its dimensions;
2. expand each component into scalar cells, lowering its AST per cell with the
   subscripts bound to that cell's elements;
3. turn stateful builtins (SMOOTH*, DELAY*, TREND, FORECAST, SAMPLE IF TRUE, INITIAL)
   into internal stocks and frozen values, as PySD's runtime defines them;
4. sort the equations once: an initialization block, a static block and a dynamic block.

Anything not supported raises ``UnsupportedFeatureError`` naming the variable and the
function; an undefined name or an algebraic loop raises ``ModelStructureError``.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pysd.translators.structures import abstract_expressions as ae
from pysd.translators.structures.abstract_model import (
    AbstractControlElement,
    AbstractLookup,
    AbstractUnchangeableConstant,
)

from gvcdyn import ir, vector_functions
from gvcdyn.errors import ModelStructureError, UnsupportedFeatureError
from gvcdyn.subscripts import Range, SubscriptCatalog, name_key

# Vensim function (PySD reference name) -> (IR function, allowed argument counts)
PURE_FUNCTIONS: dict[str, tuple[str, tuple[int, ...]]] = {
    "abs": ("abs", (1,)),
    "exp": ("exp", (1,)),
    "ln": ("ln", (1,)),
    "log": ("log", (2,)),
    "sqrt": ("sqrt", (1,)),
    "power": ("power", (2,)),
    "sin": ("sin", (1,)),
    "cos": ("cos", (1,)),
    "tan": ("tan", (1,)),
    "arcsin": ("arcsin", (1,)),
    "arccos": ("arccos", (1,)),
    "arctan": ("arctan", (1,)),
    "sinh": ("sinh", (1,)),
    "cosh": ("cosh", (1,)),
    "tanh": ("tanh", (1,)),
    "pi": ("pi", (0,)),
    "min": ("min", (2,)),
    "max": ("max", (2,)),
    "integer": ("integer", (1,)),
    "modulo": ("modulo", (2,)),
    "quantum": ("quantum", (2,)),
    "if_then_else": ("if_then_else", (3,)),
    "xidz": ("xidz", (3,)),
    "zidz": ("zidz", (2,)),
    "step": ("step", (2,)),
    "ramp": ("ramp", (2, 3)),
    "pulse": ("pulse", (2,)),
    "pulse_train": ("pulse_train", (4,)),
    "active_initial": ("active_initial", (2,)),
}

REDUCTIONS = {"sum": "+", "prod": "*", "vmin": "min", "vmax": "max"}
# Functions whose value depends on the current time (never static).
TIME_FUNCTIONS = frozenset({"step", "ramp", "pulse", "pulse_train"})

CONTROL_NAMES = {
    "initial_time": "initial_time",
    "final_time": "final_time",
    "time_step": "time_step",
    "saveper": "saveper",
}


@dataclass
class _Var:
    """Working record of one model element while lowering."""

    name: str
    element: Any
    kind: str
    dims: tuple[Range, ...] = ()
    cells: list[str] = field(default_factory=list)
    undefined: list[str] = field(default_factory=list)

    def cell_symbol(self, elements: tuple[str, ...]) -> str:
        if not self.dims:
            return self.name
        return f"{self.name}[{','.join(elements)}]"

    def cell_index(self, elements: tuple[str, ...]) -> int:
        index = 0
        for rng, element in zip(self.dims, elements, strict=True):
            index = index * len(rng.elements) + rng.index(element)
        return index


class _Lowerer:
    def __init__(self, section: Any, model_name: str, source_hash: str) -> None:
        self.section = section
        self.model_name = model_name
        self.source_hash = source_hash
        self.catalog = SubscriptCatalog(section.subscripts)
        self.vars: dict[str, _Var] = {}
        self.controls: dict[str, Any] = {}
        self.time_units = ""
        self.parameters: list[ir.Parameter] = []
        self.equations: dict[str, ir.Expr] = {}  # auxiliaries, keyed by cell symbol
        self.stocks: dict[str, ir.Stock] = {}
        self.discrete: dict[str, ir.DiscreteState] = {}
        self.fixed_delays: dict[str, ir.FixedDelay] = {}
        self.initials: dict[str, ir.Expr] = {}  # INITIAL(x) frozen values
        self.lookups: dict[str, ir.Lookup] = {}
        self.fixed: dict[str, float] = {}  # unchangeable constants (==)
        self.structural: set[str] = set()  # parameters that fix the model's shape
        self._counter = itertools.count()
        self._current = ""  # variable being lowered, for error messages

    # ------------------------------------------------------------------ step 1: classify
    def classify(self) -> None:
        for element in self.section.elements:
            key = name_key(element.name)
            if isinstance(element, AbstractControlElement):
                control = CONTROL_NAMES.get(key)
                if control is None:
                    raise ModelStructureError(f"unknown control variable '{element.name}'")
                self.controls[control] = element
                if control == "time_step":
                    self.time_units = element.units or ""
                continue
            if key in self.vars:
                raise ModelStructureError(f"variable '{element.name}' is defined twice")
            if key in CONTROL_NAMES or key == "time":
                raise ModelStructureError(f"'{element.name}' clashes with a control variable")
            self.vars[key] = _Var(element.name, element, self._kind(element))
        for var in self.vars.values():
            var.dims = self._dims(var)
            var.cells = [
                var.cell_symbol(combo)
                for combo in itertools.product(*(r.elements for r in var.dims))
            ]

    def _kind(self, element: Any) -> str:
        components = element.components
        if all(isinstance(c, AbstractLookup) for c in components):
            return "lookup"
        for component in components:
            ast = component.ast
            if isinstance(ast, ae.DataStructure | ae.GetDataStructure):
                raise UnsupportedFeatureError(
                    f"'{element.name}' is a data variable (values from a file or another run); "
                    "gvcdyn supports self-contained models only"
                )
            if isinstance(ast, ae.GetConstantsStructure | ae.GetLookupsStructure) or isinstance(
                component, AbstractLookup
            ):
                raise UnsupportedFeatureError(
                    f"'{element.name}' reads external data (GET XLS/DIRECT ...); "
                    "gvcdyn supports self-contained models only"
                )
        if any(isinstance(c.ast, ae.IntegStructure) for c in components):
            return "stock"
        if all(_is_number(c.ast) for c in components):
            return "constant"
        return "auxiliary"

    def _dims(self, var: _Var) -> tuple[Range, ...]:
        lhs_lists = [list(c.subscripts[0]) for c in var.element.components]
        if not lhs_lists or not lhs_lists[0]:
            if any(lhs_lists):
                raise ModelStructureError(f"'{var.name}' mixes scalar and subscripted definitions")
            return ()
        rank = len(lhs_lists[0])
        if any(len(lhs) != rank for lhs in lhs_lists):
            raise ModelStructureError(f"'{var.name}' has definitions with different subscripts")
        dims = []
        for position in range(rank):
            covered: list[str] = []
            for lhs in lhs_lists:
                covered.extend(self.catalog.members(lhs[position]))
            dims.append(self.catalog.covering_range(covered, lhs_lists[0][position]))
        return tuple(dims)

    # ------------------------------------------------------------------ step 2: cells
    def lower_all(self) -> None:
        for var in self.vars.values():
            self._current = var.name
            defined: set[str] = set()
            for component in var.element.components:
                for elements, env, position in self._component_cells(var, component):
                    symbol = var.cell_symbol(elements)
                    if symbol in defined:
                        raise ModelStructureError(
                            f"'{symbol}' is defined by more than one equation"
                        )
                    defined.add(symbol)
                    self._lower_cell(var, component, symbol, env, position)
            # Vensim allows partial definitions; the cells left out are not outputs
            var.undefined = [c for c in var.cells if c not in defined]
            for cell in var.undefined:
                self.equations[cell] = ir.Num(float("nan"))

    def _component_cells(self, var: _Var, component: Any):
        """Yield ``(cell elements, subscript bindings, position in the component)``."""
        lhs, excepts = component.subscripts
        if not lhs:
            yield (), {}, ()
            return
        excluded: set[tuple[str, ...]] = set()
        for exception in excepts or []:
            for combo in itertools.product(*(self.catalog.members(s) for s in exception)):
                excluded.add(tuple(name_key(e) for e in combo))
        member_lists = [self.catalog.members(s) for s in lhs]
        for position in itertools.product(*(range(len(m)) for m in member_lists)):
            elements = tuple(m[i] for m, i in zip(member_lists, position, strict=True))
            if tuple(name_key(e) for e in elements) in excluded:
                continue
            env: dict[str, str] = {}
            for sub, dim, element in zip(lhs, var.dims, elements, strict=True):
                env[name_key(dim.name)] = element
                if self.catalog.is_range(sub):
                    env[name_key(sub)] = element
            canonical = tuple(
                dim.elements[dim.index(e)] for dim, e in zip(var.dims, elements, strict=True)
            )
            yield canonical, env, position

    def _lower_cell(
        self, var: _Var, component: Any, symbol: str, env: dict[str, str], position: tuple
    ) -> None:
        ast = component.ast
        if var.kind == "lookup":
            self._add_lookup(symbol, ast)
            return
        if var.kind == "constant" or (_is_number(ast) and var.kind != "stock"):
            value = _number_at(ast, self._array_position(component, position))
            if isinstance(component, AbstractUnchangeableConstant):
                self.fixed[symbol] = value
                self.equations[symbol] = ir.Num(value)
                return
            self._add_parameter(var, symbol, value)
            return
        if isinstance(ast, ae.IntegStructure):
            self.stocks[symbol] = ir.Stock(
                symbol, self.expr(ast.flow, env, symbol), self.expr(ast.initial, env, symbol)
            )
            return
        if var.kind == "stock":
            raise ModelStructureError(f"'{symbol}' mixes INTEG and non-INTEG definitions")
        self.equations[symbol] = self.expr(ast, env, symbol)

    def _array_position(self, component: Any, position: tuple) -> tuple[int, ...]:
        """Index into an array literal: only the range subscripts of the left side count."""
        lhs = component.subscripts[0]
        kept = tuple(i for sub, i in zip(lhs, position, strict=True) if self.catalog.is_range(sub))
        ast = component.ast
        if isinstance(ast, np.ndarray) and ast.size > 1:
            shape = tuple(
                len(self.catalog.members(sub)) for sub in lhs if self.catalog.is_range(sub)
            )
            if int(np.prod(shape)) != ast.size:
                raise ModelStructureError(
                    f"'{self._current}': array of {ast.size} values for subscripts {lhs}"
                )
            return (int(np.ravel_multi_index(kept, shape)),)
        return kept

    def _add_parameter(self, var: _Var, symbol: str, value: float) -> None:
        element = var.element
        limits = (*tuple(element.limits or ()), None, None, None)
        lo, hi, step = (None if v is None else float(v) for v in limits[:3])
        self.parameters.append(
            ir.Parameter(
                name=symbol,
                symbol=symbol,
                column=len(self.parameters),
                default=value,
                minimum=lo,
                maximum=hi,
                step=step,
                units=(element.units or "").strip(),
                doc=(element.documentation or "").strip(),
                variable=var.name,
            )
        )

    def _add_lookup(self, symbol: str, ast: Any) -> None:
        if not isinstance(ast, ae.LookupsStructure):
            raise UnsupportedFeatureError(
                f"lookup '{symbol}' is not a plain table ({type(ast).__name__})"
            )
        self.lookups[symbol] = _make_lookup(symbol, ast)

    # ------------------------------------------------------------------ expressions
    def expr(self, node: Any, env: dict[str, str], owner: str) -> ir.Expr:
        """Lower one PySD AST node for the cell ``owner`` with subscripts bound by ``env``."""
        if _is_number(node):
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
            table = f"{owner}~with_lookup{next(self._counter)}"
            self.lookups[table] = _make_lookup(table, node.lookups)
            return ir.LookupCall(table, self.expr(node.argument, env, owner))
        if isinstance(node, ae.GameStructure):
            return self.expr(node.expression, env, owner)
        if isinstance(node, ae.InitialStructure):
            symbol = f"{owner}~initial{next(self._counter)}"
            self.initials[symbol] = self.expr(node.initial, env, owner)
            return ir.Sym(symbol)
        if isinstance(node, ae.SmoothStructure | ae.SmoothNStructure):
            return self._smooth(node, env, owner)
        if isinstance(node, ae.DelayStructure | ae.DelayNStructure):
            return self._delay(node, env, owner)
        if isinstance(node, ae.TrendStructure):
            return self._trend(node, env, owner, forecast=False)
        if isinstance(node, ae.ForecastStructure):
            return self._trend(node, env, owner, forecast=True)
        if isinstance(node, ae.SampleIfTrueStructure):
            # value = input if condition else the last sample; the sample is kept per step
            symbol = f"{owner}~sample{next(self._counter)}"
            condition = self.expr(node.condition, env, owner)
            value = ir.Call(
                "if_then_else", (condition, self.expr(node.input, env, owner), ir.Sym(symbol))
            )
            self.discrete[symbol] = ir.DiscreteState(
                symbol, value, self.expr(node.initial, env, owner)
            )
            return value
        if isinstance(node, ae.DelayFixedStructure):
            symbol = f"{owner}~delay_fixed{next(self._counter)}"
            delay_symbol = f"{symbol}~T0"
            self.initials[delay_symbol] = self.expr(node.delay_time, env, owner)
            self.fixed_delays[symbol] = ir.FixedDelay(
                symbol,
                self.expr(node.input, env, owner),
                self.expr(node.initial, env, owner),
                delay_symbol,
            )
            return ir.Sym(symbol)
        if isinstance(node, ae.IntegStructure):
            raise UnsupportedFeatureError(
                f"'{self._current}': INTEG must be the whole equation, not part of an expression"
            )
        raise UnsupportedFeatureError(
            f"'{self._current}' uses {_construct_name(node)}, which gvcdyn does not support"
        )

    def _arithmetic(self, node: Any, env: dict[str, str], owner: str) -> ir.Expr:
        ops = list(node.operators)
        args = list(node.arguments)
        if ops == ["negative"]:
            return ir.Op("neg", (self.expr(args[0], env, owner),))
        if ops and all(o == "^" for o in ops):
            # a^b^c is right-associative; a negative literal/negated base binds after ^
            result = self.expr(args[-1], env, owner)
            for base in reversed(args[:-1]):
                result = self._power(base, result, env, owner)
            return result
        result = self.expr(args[0], env, owner)
        for op, arg in zip(ops, args[1:], strict=True):
            rhs = self.expr(arg, env, owner)
            if op == "^":
                result = ir.Op("^", (result, rhs))
            elif op in {"+", "-", "*", "/"}:
                result = ir.Op(op, (result, rhs))
            else:
                raise UnsupportedFeatureError(f"'{owner}': unknown operator '{op}'")
        return result

    def _power(self, base: Any, exponent: ir.Expr, env: dict[str, str], owner: str) -> ir.Expr:
        """``base ^ exponent``, with Vensim's observed rule for a leading minus.

        Vensim computes ``-2^2`` as -4 and ``-a^2`` as ``-(a^2)`` (its own output in the
        reference suite's ``exponentiation`` model), whatever its operator table says.
        PySD's parser already wraps ``-a^b`` as ``negative(a^b)``, but folds the sign of a
        literal into the number, so ``-2^2`` arrives as ``(-2)^2``: only that case is undone
        here. A negated base in parentheses, ``(-a)^2``, is a real negative base.
        """
        if _is_number(base) and float(base) < 0:
            return ir.Op("neg", (ir.Op("^", (ir.Num(-float(base)), exponent)),))
        return ir.Op("^", (self.expr(base, env, owner), exponent))

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
            return ir.LookupCall(table, self.expr(node.arguments[0], env, owner))
        if key in self.vars:
            raise ModelStructureError(
                f"'{owner}' calls '{self.vars[key].name}' like a function, but it is not a lookup"
            )
        if key in REDUCTIONS:
            return self._reduce(REDUCTIONS[key], node.arguments[0], env, owner)
        if key == "vector_select":
            return self._vector_select(node.arguments, env, owner)
        if key == "invert_matrix":
            return self._invert_matrix(node.arguments, env, owner)
        if key == "elmcount":
            return ir.Num(
                float(len(self.catalog.range(_subscript_name(node.arguments[0])).elements))
            )
        if key not in PURE_FUNCTIONS:
            raise UnsupportedFeatureError(
                f"'{self._current}' uses the function "
                f"{function.reference.upper().replace('_', ' ')}, "
                "which gvcdyn does not support"
            )
        name, counts = PURE_FUNCTIONS[key]
        if len(node.arguments) not in counts:
            raise ModelStructureError(
                f"'{owner}': {key.upper()} takes {' or '.join(map(str, counts))} arguments, "
                f"got {len(node.arguments)}"
            )
        return ir.Call(name, tuple(self.expr(a, env, owner) for a in node.arguments))

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
        result = terms[0]
        for term in terms[1:]:
            result = (
                ir.Call(op, (result, term)) if op in {"min", "max"} else ir.Op(op, (result, term))
            )
        return result

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
        if not isinstance(matrix, ae.ReferenceStructure) or len(subs) < 2 or not all(
            self.catalog.is_range(s) for s in subs[-2:]
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
        return vector_functions.invert_matrix_entry(
            cells, rows.index(here[0]), cols.index(here[1])
        )

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
            raise ModelStructureError(
                f"'{self._current}' refers to '{node.reference}', which the model does not define"
            )
        if var.kind == "lookup":
            raise UnsupportedFeatureError(
                f"'{self._current}' uses lookup '{var.name}' without calling it"
            )
        return ir.Sym(self._resolve_cell(var, node.subscripts, env, owner))

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

    def _resolve_cell(self, var: _Var, subscripts: Any, env: dict[str, str], owner: str) -> str:
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

    def _element_for(self, sub: str, dim: Range, env: dict[str, str], owner: str, var: _Var) -> str:
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

    def _fit(self, element: str, source: Range | None, dim: Range, owner: str, var: _Var) -> str:
        if dim.has(element):
            return dim.elements[dim.index(element)]
        if source is not None and self.catalog.maps_between(source, dim):
            return dim.elements[source.index(element)]
        raise ModelStructureError(
            f"'{owner}': element '{element}' is not in dimension '{dim.name}' of '{var.name}'"
        )

    # ------------------------------------------------------------------ stateful builtins
    def _static_order(self, node: Any, owner: str, what: str) -> int:
        """The order of SMOOTH N / DELAY N, fixed at initialization as PySD does.

        The order shapes the model (its number of internal stocks), so the parameters it
        is computed from become structural: they cannot vary between runs.
        """
        touched: set[str] = set()
        try:
            value = self._initial_value(node.order, touched)
        except (ModelStructureError, UnsupportedFeatureError) as exc:
            raise UnsupportedFeatureError(
                f"'{owner}': the order of {what} must be computable at the initial time "
                f"from constants ({exc})"
            ) from None
        self.structural |= touched
        if not np.isfinite(value):
            raise ModelStructureError(f"'{owner}': the order of {what} evaluates to {value}")
        order = int(value)  # PySD casts with int()
        if order < 1:
            raise ModelStructureError(f"'{owner}': the order of {what} is {value}, below 1")
        return order

    def _initial_value(self, node: Any, touched: set[str]) -> float:
        """Evaluate a scalar AST at the initial time from parameter defaults."""
        if _is_number(node):
            return _number_at(node, (0,))
        if isinstance(node, ae.ReferenceStructure):
            key = name_key(node.reference)
            if key == "time":
                return self._control_value("initial_time", touched)
            if key in CONTROL_NAMES:
                return self._control_value(key, touched)
            var = self.vars.get(key)
            if var is None or var.dims or var.kind not in {"constant", "auxiliary"}:
                raise UnsupportedFeatureError(f"'{node.reference}' is not a scalar constant")
            if var.kind == "constant":
                touched.add(var.name)
            return self._initial_value(var.element.components[0].ast, touched)
        if isinstance(node, ae.ArithmeticStructure):
            values = [self._initial_value(a, touched) for a in node.arguments]
            if list(node.operators) == ["negative"]:
                return -values[0]
            result = values[0]
            for op, value in zip(node.operators, values[1:], strict=True):
                result = {
                    "+": result + value,
                    "-": result - value,
                    "*": result * value,
                    "/": result / value if value else float("nan"),
                    "^": result**value,
                }[op]
            return result
        if isinstance(node, ae.CallStructure):
            fn = name_key(node.function.reference)
            args = [self._initial_value(a, touched) for a in node.arguments]
            if fn == "step":
                now = self._control_value("initial_time", touched)
                dt = self._control_value("time_step", touched)
                return args[0] if now + dt / 2 > args[1] else 0.0
            if fn in {"min", "max"}:
                return min(args) if fn == "min" else max(args)
            if fn == "integer":
                return float(int(args[0]))
        raise UnsupportedFeatureError(f"{_construct_name(node)} cannot be evaluated here")

    def _control_value(self, name: str, touched: set[str]) -> float:
        element = self.controls.get(name)
        if element is None:
            return 0.0 if name == "initial_time" else 1.0
        return self._initial_value(element.components[0].ast, touched)

    def _smooth(self, node: Any, env: dict[str, str], owner: str) -> ir.Expr:
        order = self._static_order(node, owner, "SMOOTH N")
        u = self.expr(node.input, env, owner)
        tau = self.expr(node.smooth_time, env, owner)
        init = self.expr(node.initial, env, owner)
        base = f"{owner}~smooth{next(self._counter)}"
        states = [f"{base}[{k}]" for k in range(order)]
        for k, state in enumerate(states):
            upstream = u if k == 0 else ir.Sym(states[k - 1])
            rate = ir.Op(
                "/", (ir.Op("*", (ir.Op("-", (upstream, ir.Sym(state))), ir.Num(order))), tau)
            )
            self.stocks[state] = ir.Stock(state, rate, init)
        return ir.Sym(states[-1])

    def _delay(self, node: Any, env: dict[str, str], owner: str) -> ir.Expr:
        """DELAY1/DELAY3/DELAY N as a chain of internal stocks, as PySD's ``Delay``/``DelayN``.

        Every stage starts at ``init*T`` and empties at ``stage/T``. For DELAY N each stage
        divides by the delay time of its own age: a shift register of past delay times,
        pushed once per step (the register is a set of discrete states).
        """
        is_n = isinstance(node, ae.DelayNStructure)
        order = self._static_order(node, owner, "DELAY N" if is_n else "DELAY")
        u = self.expr(node.input, env, owner)
        tau = self.expr(node.delay_time, env, owner)
        init = self.expr(node.initial, env, owner)
        base = f"{owner}~delay{next(self._counter)}"
        states = [f"{base}[{k}]" for k in range(order)]
        if is_n:
            register = [f"{base}~time[{k}]" for k in range(order)]
            pushed = [tau] + [ir.Sym(r) for r in register[:-1]]  # times after this step's push
            for symbol, value in zip(register, pushed, strict=True):
                self.discrete[symbol] = ir.DiscreteState(symbol, value, tau)
            output_time: ir.Expr = ir.Sym(register[0])
        else:
            pushed = [tau] * order
            output_time = tau
        # PySD lowers the order at initialization while order*TIME STEP > delay time
        effective: ir.Expr = ir.Num(order)
        if order > 1:
            order_symbol = f"{base}~order"
            self.initials[order_symbol] = ir.Call("delay_order", (ir.Num(order), tau, ir.TIME_STEP))
            effective = ir.Sym(order_symbol)
        for k, state in enumerate(states):
            inflow = u if k == 0 else ir.Op("/", (ir.Sym(states[k - 1]), pushed[k - 1]))
            outflow = ir.Op("/", (ir.Sym(state), pushed[k]))
            rate: ir.Expr = ir.Op("*", (effective, ir.Op("-", (inflow, outflow))))
            if k > 0:  # stages past the effective order stay still (branch-free: see gate)
                rate = ir.Call("gate", (ir.Op(">", (effective, ir.Num(k))), rate))
            self.stocks[state] = ir.Stock(state, rate, ir.Op("*", (init, tau)))
        output: ir.Expr = ir.Sym(states[0])
        if order > 1:
            output = ir.Call("select_stage", (effective, *(ir.Sym(x) for x in states)))
        return ir.Op("/", (output, output_time))

    def _trend(self, node: Any, env: dict[str, str], owner: str, forecast: bool) -> ir.Expr:
        u = self.expr(node.input, env, owner)
        tau = self.expr(node.average_time, env, owner)
        trend0 = self.expr(node.initial_trend, env, owner)
        state = f"{owner}~{'forecast' if forecast else 'trend'}{next(self._counter)}"
        s = ir.Sym(state)
        if forecast:
            initial = ir.Op("/", (u, ir.Op("+", (ir.Num(1.0), trend0))))
        else:
            initial = ir.Op("/", (u, ir.Op("+", (ir.Num(1.0), ir.Op("*", (trend0, tau))))))
        self.stocks[state] = ir.Stock(state, ir.Op("/", (ir.Op("-", (u, s)), tau)), initial)
        if forecast:
            horizon = self.expr(node.horizon, env, owner)
            ratio = ir.Call("zidz", (ir.Op("-", (u, s)), ir.Op("*", (tau, s))))
            return ir.Op("*", (u, ir.Op("+", (ir.Num(1.0), ir.Op("*", (ratio, horizon))))))
        return ir.Call("zidz", (ir.Op("-", (u, s)), ir.Op("*", (tau, ir.Call("abs", (s,))))))

    # ------------------------------------------------------------------ controls
    def control_expr(self, name: str, default: float | None) -> ir.Expr:
        element = self.controls.get(name)
        if element is None:
            if default is None:
                raise ModelStructureError(f"the model does not define {name.upper()}")
            return ir.Num(default)
        self._current = element.name
        return self.expr(element.components[0].ast, {}, name)


# ---------------------------------------------------------------------- logic

_LOGIC_OPS = {":and:": "and", ":or:": "or", "=": "=", "<>": "<>", "<": "<", "<=": "<=",
              ">": ">", ">=": ">="}
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
    result = groups[0]
    for op, group in zip(joins, groups[1:], strict=True):
        result = ir.Op(op, (result, group))
    return result


# ---------------------------------------------------------------------- ordering


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


def _init_expr(expr: ir.Expr) -> ir.Expr:
    """The expression as seen during initialization: ACTIVE INITIAL takes its 2nd argument."""
    if isinstance(expr, ir.Call):
        if expr.function == "active_initial":
            return _init_expr(expr.args[1])
        return ir.Call(expr.function, tuple(_init_expr(a) for a in expr.args))
    if isinstance(expr, ir.Op):
        return ir.Op(expr.op, tuple(_init_expr(a) for a in expr.args))
    if isinstance(expr, ir.LookupCall):
        return ir.LookupCall(expr.table, _init_expr(expr.arg))
    return expr


def _uses_time(expr: ir.Expr) -> bool:
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ir.Sym) and node.name == "time":
            return True
        if isinstance(node, ir.Call):
            if node.function in TIME_FUNCTIONS:
                return True
            stack.extend(node.args)
        elif isinstance(node, ir.Op):
            stack.extend(node.args)
        elif isinstance(node, ir.LookupCall):
            stack.append(node.arg)
    return False


def lower(abstract: Any, source_hash: str, model_name: str) -> ir.ModelIR:
    """Lower PySD's ``AbstractModel`` to a sorted, scalar ``ModelIR``."""
    main = abstract.sections[0]
    if len(abstract.sections) > 1:
        names = ", ".join(s.name for s in abstract.sections[1:])
        raise UnsupportedFeatureError(
            f"the model defines macros ({names}); gvcdyn does not support macros yet"
        )
    low = _Lowerer(main, model_name, source_hash)
    low.classify()
    low.lower_all()
    controls = ir.Controls(
        initial_time=low.control_expr("initial_time", 0.0),
        final_time=low.control_expr("final_time", None),
        time_step=low.control_expr("time_step", 1.0),
        saveper=low.control_expr("saveper", None) if "saveper" in low.controls else ir.TIME_STEP,
        time_units=low.time_units,
    )
    return _assemble(low, controls)


def _assemble(low: _Lowerer, controls: ir.Controls) -> ir.ModelIR:
    equations = dict(low.equations)
    final_time_symbol = None
    if _uses_time(controls.final_time) or (
        ir.symbols_in(controls.final_time)
        - set(p.symbol for p in low.parameters)
        - ir.CONTROL_SYMBOLS
        - set(low.fixed)
    ):
        final_time_symbol = "final_time~dynamic"
        equations[final_time_symbol] = controls.final_time

    params = {p.symbol for p in low.parameters}
    stocks = set(low.stocks) | set(low.discrete) | set(low.fixed_delays)
    initials = set(low.initials)
    known = params | stocks | initials | set(equations) | ir.CONTROL_SYMBOLS
    for owner, expr in itertools.chain(
        equations.items(),
        ((s.symbol, s.rate) for s in low.stocks.values()),
        ((d.symbol, d.input) for d in low.fixed_delays.values()),
    ):
        unknown = ir.symbols_in(expr) - known
        if unknown:
            raise ModelStructureError(f"'{owner}' refers to undefined {sorted(unknown)}")

    # dynamic/static split on the step-stage graph (stocks and INITIALs are sources)
    step_graph = {s: ir.symbols_in(e) & set(equations) for s, e in equations.items()}
    definition_order = itertools.chain(
        equations, low.stocks, low.discrete, low.fixed_delays, low.initials
    )
    rank = {symbol: i for i, symbol in enumerate(definition_order)}
    order = _sort(step_graph, "model equations", rank)
    static: set[str] = set()
    for symbol in order:
        expr = equations[symbol]
        deps = ir.symbols_in(expr)
        if (
            not _uses_time(expr)
            and not deps & stocks
            and deps <= params | initials | static | (ir.CONTROL_SYMBOLS - {"time", "final_time"})
        ):
            static.add(symbol)
    static_eqs = tuple(ir.Equation(s, equations[s]) for s in order if s in static)
    # what the rates need is computed every step; the rest only at saved times
    roots = [s.rate for s in low.stocks.values()]
    roots += [d.update for d in low.discrete.values()]
    roots += [f.input for f in low.fixed_delays.values()]
    if final_time_symbol is not None:
        roots.append(ir.Sym(final_time_symbol))
    for_rates: set[str] = set()
    stack = [name for root in roots for name in ir.symbols_in(root)]
    while stack:
        symbol = stack.pop()
        if symbol in for_rates or symbol not in equations or symbol in static:
            continue
        for_rates.add(symbol)
        stack.extend(ir.symbols_in(equations[symbol]))
    dynamic_eqs = tuple(ir.Equation(s, equations[s]) for s in order if s in for_rates)
    output_eqs = tuple(
        ir.Equation(s, equations[s]) for s in order if s not in static and s not in for_rates
    )

    # initialization: stocks' initial values, INITIAL() values, discrete states
    init_targets: dict[str, ir.Expr] = {}
    for stock in low.stocks.values():
        init_targets[stock.symbol] = _init_expr(stock.initial)
    for state in low.discrete.values():
        init_targets[state.symbol] = _init_expr(state.initial)
    for delay in low.fixed_delays.values():
        init_targets[delay.symbol] = _init_expr(delay.initial)
    for symbol, expr in low.initials.items():
        init_targets[symbol] = _init_expr(expr)
    init_exprs = {**{s: _init_expr(e) for s, e in equations.items()}, **init_targets}
    needed: set[str] = set()
    stack = list(init_targets)
    while stack:
        symbol = stack.pop()
        if symbol in needed or symbol not in init_exprs:
            continue
        needed.add(symbol)
        stack.extend(ir.symbols_in(init_exprs[symbol]))
    init_graph = {s: ir.symbols_in(init_exprs[s]) & needed for s in needed}
    init_order = _sort(init_graph, "initial values", rank)
    init_eqs = tuple(ir.Equation(s, init_exprs[s]) for s in init_order)

    return ir.ModelIR(
        name=low.model_name,
        source_hash=low.source_hash,
        controls=controls,
        parameters=tuple(low.parameters),
        stocks=tuple(low.stocks.values()),
        discrete_states=tuple(low.discrete.values()),
        fixed_delays=tuple(low.fixed_delays.values()),
        init_equations=init_eqs,
        initial_values=tuple(ir.Equation(s, e) for s, e in low.initials.items()),
        static_equations=static_eqs,
        dynamic_equations=dynamic_eqs,
        output_equations=output_eqs,
        lookups=tuple(low.lookups.values()),
        variables=_variables(low, static),
        final_time_symbol=final_time_symbol,
        structural=tuple(sorted(low.structural)),
    )


def _variables(low: _Lowerer, static: set[str]) -> tuple[ir.Variable, ...]:
    params = {p.symbol for p in low.parameters}
    result = []
    for var in low.vars.values():
        if var.kind == "lookup":
            continue
        constant_cells = all(c in params or c in static for c in var.cells)
        dims: list[str] = []
        for d in var.dims:  # a repeated dimension (x[dim,dim]) gets a distinct name
            name = d.name
            while name in dims:
                name += "_"
            dims.append(name)
        result.append(
            ir.Variable(
                name=var.name,
                kind="constant" if var.kind == "constant" else var.kind,
                cells=tuple(var.cells),
                undefined=tuple(var.undefined),
                dims=tuple(dims),
                coords=tuple(d.elements for d in var.dims),
                units=(var.element.units or "").strip(),
                doc=(var.element.documentation or "").strip(),
                time_varying=not constant_cells,
            )
        )
    return tuple(result)


# ---------------------------------------------------------------------- helpers


def _is_number(node: Any) -> bool:
    return isinstance(node, int | float | np.integer | np.floating | np.ndarray) and not isinstance(
        node, bool
    )


def _number_at(node: Any, position: tuple[int, ...]) -> float:
    """A number literal, or element ``position`` (a flat index) of an array literal."""
    if isinstance(node, np.ndarray):
        flat = node.reshape(-1)
        return float(flat[position[0]] if flat.size > 1 else flat[0])
    return float(node)


def _make_lookup(name: str, table: Any) -> ir.Lookup:
    xs = tuple(float(x) for x in table.x)
    ys = tuple(float(y) for y in table.y)
    if len(xs) != len(ys) or not xs:
        raise ModelStructureError(f"lookup '{name}' has {len(xs)} x values and {len(ys)} y values")
    if any(b < a for a, b in itertools.pairwise(xs)):
        raise ModelStructureError(f"lookup '{name}': x values must not decrease")
    if getattr(table, "type", "interpolate") != "interpolate":
        raise UnsupportedFeatureError(f"lookup '{name}' uses '{table.type}' (only interpolate)")
    return ir.Lookup(name, xs, ys)


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


def _construct_name(node: Any) -> str:
    names = {
        "DelayFixedStructure": "DELAY FIXED",
        "AllocateAvailableStructure": "ALLOCATE AVAILABLE",
        "AllocateByPriorityStructure": "ALLOCATE BY PRIORITY",
        "GetDataStructure": "GET DATA",
        "DataStructure": "a data variable",
    }
    return names.get(type(node).__name__, type(node).__name__)
