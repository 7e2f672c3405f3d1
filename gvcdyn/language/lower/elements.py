"""Classify a model section's elements: controls, constants, stocks, auxiliaries, lookups.

Each element becomes a ``ModelVariable`` with its kind, its dimensions (the subscript
ranges its definitions span) and the symbols of its scalar cells. Also here: the small
readers of PySD literals (numbers, arrays, lookup tables) the other lowering steps share.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pysd.translators.structures import abstract_expressions as ae
from pysd.translators.structures.abstract_model import (
    AbstractComponent,
    AbstractControlElement,
    AbstractElement,
    AbstractLookup,
    AbstractUnchangeableConstant,
)

from gvcdyn.errors import ModelStructureError, UnsupportedFeatureError
from gvcdyn.language import functions, ir
from gvcdyn.language.subscripts import Range, SubscriptCatalog, name_key

CONTROL_NAMES = {
    "initial_time": "initial_time",
    "final_time": "final_time",
    "time_step": "time_step",
    "saveper": "saveper",
}

NOISE_SEED = functions.NOISE_SEED
_RANDOM_FUNCTIONS = frozenset(f.vensim for f in functions.FUNCTIONS.values() if f.draws_random)


@dataclass
class ModelVariable:
    """Working record of one model element while lowering."""

    name: str
    element: Any
    kind: str  # constant | stock | auxiliary | lookup
    dims: tuple[Range, ...] = ()
    cells: list[str] = field(default_factory=list)
    undefined: list[str] = field(default_factory=list)

    def cell_symbol(self, elements: tuple[str, ...]) -> str:
        if not self.dims:
            return self.name
        return f"{self.name}[{','.join(elements)}]"


@dataclass
class Classified:
    """The elements of a section, sorted out."""

    variables: dict[str, ModelVariable]  # by name_key
    controls: dict[str, Any]  # control name -> PySD element
    time_units: str


def classify(section: Any, catalog: SubscriptCatalog) -> Classified:
    """Kinds, dimensions and cells of every element; controls apart."""
    variables: dict[str, ModelVariable] = {}
    controls: dict[str, Any] = {}
    time_units = ""
    for element in section.elements:
        key = name_key(element.name)
        if isinstance(element, AbstractControlElement):
            control = CONTROL_NAMES.get(key)
            if control is None:
                raise ModelStructureError(f"unknown control variable '{element.name}'")
            controls[control] = element
            if control == "time_step":
                time_units = element.units or ""
            continue
        if key in variables:
            raise ModelStructureError(f"variable '{element.name}' is defined twice")
        if key in CONTROL_NAMES or key == "time":
            raise ModelStructureError(f"'{element.name}' clashes with a control variable")
        variables[key] = ModelVariable(element.name, element, _kind(element))
    draws_random = _calls_random(section.elements)
    if draws_random and name_key(NOISE_SEED) not in variables:
        variables[name_key(NOISE_SEED)] = ModelVariable(NOISE_SEED, _noise_seed(), "constant")
    for var in variables.values():
        var.dims = _dims(var, catalog)
        var.cells = [
            var.cell_symbol(combo) for combo in itertools.product(*(r.elements for r in var.dims))
        ]
    seed = variables.get(name_key(NOISE_SEED))
    if seed is not None and draws_random:
        _check_noise_seed(seed)
    return Classified(variables, controls, time_units)


def _noise_seed() -> AbstractElement:
    """NOISE SEED as a constant of a model that draws random numbers without defining it,
    so that the seed is a parameter like any other: set per run, swept for replicates,
    recorded in the results."""
    return AbstractElement(
        name=NOISE_SEED,
        components=[AbstractComponent(([], []), functions.NOISE_SEED_DEFAULT)],
        units="Dmnl",
        limits=(0.0, 2.0**31, 1.0),
        documentation=(
            "Seed of the random functions' stream (added by gvcdyn: the model draws random "
            "numbers and does not define NOISE SEED; the default is Vensim's). Runs with the "
            "same seed draw the same numbers; give each replicate its own seed."
        ),
    )


def _check_noise_seed(seed: ModelVariable) -> None:
    """A model's own NOISE SEED must be one number the kernel can seed a run with."""
    components = seed.element.components
    if (
        seed.kind != "constant"
        or seed.dims
        or any(isinstance(c, AbstractUnchangeableConstant) for c in components)
        or not all(is_number(c.ast) and np.size(c.ast) == 1 for c in components)
    ):
        raise ModelStructureError(
            f"'{seed.name}' seeds the model's random functions, so it must be a plain scalar "
            "constant (NOISE SEED = 1234); make it one, or remove it to use the default seed"
        )


def _calls_random(node: Any) -> bool:
    """Whether PySD's AST (or a list of elements) calls a RANDOM function gvcdyn draws."""
    if isinstance(node, ae.CallStructure):
        reference = getattr(node.function, "reference", "")
        if name_key(reference) in _RANDOM_FUNCTIONS:
            return True
        return _calls_random(node.arguments)
    if isinstance(node, AbstractElement):
        return any(_calls_random(c.ast) for c in node.components)
    if hasattr(node, "__dataclass_fields__"):
        return any(_calls_random(getattr(node, name)) for name in node.__dataclass_fields__)
    if isinstance(node, tuple | list):
        return any(_calls_random(item) for item in node)
    return False


def _kind(element: Any) -> str:
    components = element.components
    tables = [
        isinstance(c, AbstractLookup) or isinstance(c.ast, ae.GetLookupsStructure)
        for c in components
    ]
    if all(tables):
        return "lookup"
    if any(tables):
        raise ModelStructureError(f"'{element.name}' mixes lookup tables and other definitions")
    if any(isinstance(c.ast, ae.IntegStructure) for c in components):
        return "stock"
    # constants read from a file (GET XLS/DIRECT CONSTANTS) are constants too
    if all(is_number(c.ast) or isinstance(c.ast, ae.GetConstantsStructure) for c in components):
        return "constant"
    return "auxiliary"


def _dims(var: ModelVariable, catalog: SubscriptCatalog) -> tuple[Range, ...]:
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
            covered.extend(catalog.members(lhs[position]))
        dims.append(catalog.covering_range(covered, lhs_lists[0][position]))
    return tuple(dims)


def component_cells(
    catalog: SubscriptCatalog, var: ModelVariable, component: Any
) -> Iterator[tuple[tuple[str, ...], dict[str, str], tuple[int, ...]]]:
    """Yield ``(cell elements, subscript bindings, position in the component)``."""
    lhs, excepts = component.subscripts
    if not lhs:
        yield (), {}, ()
        return
    excluded: set[tuple[str, ...]] = set()
    for exception in excepts or []:
        for combo in itertools.product(*(catalog.members(s) for s in exception)):
            excluded.add(tuple(name_key(e) for e in combo))
    member_lists = [catalog.members(s) for s in lhs]
    for position in itertools.product(*(range(len(m)) for m in member_lists)):
        elements = tuple(m[i] for m, i in zip(member_lists, position, strict=True))
        if tuple(name_key(e) for e in elements) in excluded:
            continue
        env: dict[str, str] = {}
        for sub, dim, element in zip(lhs, var.dims, elements, strict=True):
            env[name_key(dim.name)] = element
            if catalog.is_range(sub):
                env[name_key(sub)] = element
        canonical = tuple(
            dim.elements[dim.index(e)] for dim, e in zip(var.dims, elements, strict=True)
        )
        yield canonical, env, position


def array_position(
    catalog: SubscriptCatalog, component: Any, position: tuple[int, ...], owner: str
) -> tuple[int, ...]:
    """Index into an array literal: only the range subscripts of the left side count."""
    lhs = component.subscripts[0]
    kept = tuple(i for sub, i in zip(lhs, position, strict=True) if catalog.is_range(sub))
    ast = component.ast
    if isinstance(ast, np.ndarray) and ast.size > 1:
        shape = tuple(len(catalog.members(sub)) for sub in lhs if catalog.is_range(sub))
        if int(np.prod(shape)) != ast.size:
            raise ModelStructureError(f"'{owner}': array of {ast.size} values for subscripts {lhs}")
        return (int(np.ravel_multi_index(kept, shape)),)
    return kept


def parameter(var: ModelVariable, symbol: str, value: float, column: int) -> ir.Parameter:
    """A constant cell as a run-time parameter, with the element's range, units and doc."""
    element = var.element
    limits = (*tuple(element.limits or ()), None, None, None)
    lo, hi, step = (None if v is None else float(v) for v in limits[:3])
    return ir.Parameter(
        name=symbol,
        symbol=symbol,
        column=column,
        default=value,
        minimum=lo,
        maximum=hi,
        step=step,
        units=(element.units or "").strip(),
        doc=(element.documentation or "").strip(),
        variable=var.name,
    )


def user_variables(variables: dict[str, ModelVariable]) -> tuple[ir.Variable, ...]:
    """The model's variables as the user knows them (lookups are not outputs).

    ``time_varying`` is left True: scheduling decides it.
    """
    result = []
    for var in variables.values():
        if var.kind == "lookup":
            continue
        dims: list[str] = []
        for d in var.dims:  # a repeated dimension (x[dim,dim]) gets a distinct name
            name = d.name
            while name in dims:
                name += "_"
            dims.append(name)
        result.append(
            ir.Variable(
                name=var.name,
                kind=var.kind,
                cells=tuple(var.cells),
                undefined=tuple(var.undefined),
                dims=tuple(dims),
                coords=tuple(d.elements for d in var.dims),
                units=(var.element.units or "").strip(),
                doc=(var.element.documentation or "").strip(),
            )
        )
    return tuple(result)


def is_number(node: Any) -> bool:
    return isinstance(node, int | float | np.integer | np.floating | np.ndarray) and not isinstance(
        node, bool
    )


def number_at(node: Any, position: tuple[int, ...]) -> float:
    """A number literal, or element ``position`` (a flat index) of an array literal."""
    if isinstance(node, np.ndarray):
        flat = node.reshape(-1)
        return float(flat[position[0]] if flat.size > 1 else flat[0])
    return float(node)


def make_lookup(name: str, table: Any) -> ir.Lookup:
    xs = tuple(float(x) for x in table.x)
    ys = tuple(float(y) for y in table.y)
    if len(xs) != len(ys) or not xs:
        raise ModelStructureError(f"lookup '{name}' has {len(xs)} x values and {len(ys)} y values")
    if any(b < a for a, b in itertools.pairwise(xs)):
        raise ModelStructureError(f"lookup '{name}': x values must not decrease")
    if getattr(table, "type", "interpolate") != "interpolate":
        raise UnsupportedFeatureError(f"lookup '{name}' uses '{table.type}' (only interpolate)")
    return ir.Lookup(name, xs, ys)


def construct_name(node: Any) -> str:
    """How Vensim writes the construct an AST node stands for, for error messages."""
    names = {
        "DelayFixedStructure": "DELAY FIXED",
        "AllocateByPriorityStructure": "ALLOCATE BY PRIORITY",
        "GetDataStructure": "GET DATA",
        "DataStructure": "a data variable",
    }
    return names.get(type(node).__name__, type(node).__name__)
