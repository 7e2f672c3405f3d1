"""Lower PySD's abstract model to gvcdyn's IR.

1. ``elements``: classify every element (constant, stock, auxiliary, lookup) and fix its
   dimensions and cells;
2. here: expand each component into scalar cells, lowering its AST per cell
   (``expressions``) with the subscripts bound to that cell's elements; stateful builtins
   become internal stocks (``stateful``);
3. ``gvcdyn.language.schedule``: sort the equations into initialization, static, dynamic and
   output blocks (IR -> IR, no PySD).

Anything not supported raises ``UnsupportedFeatureError`` naming the variable and the
function; an undefined name or an algebraic loop raises ``ModelStructureError``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pysd.translators.structures import abstract_expressions as ae
from pysd.translators.structures.abstract_model import AbstractUnchangeableConstant

from gvcdyn.errors import ModelStructureError, UnsupportedFeatureError
from gvcdyn.language import ir
from gvcdyn.language.frontend import declared_integration
from gvcdyn.language.lower.elements import (
    ModelVariable,
    array_position,
    classify,
    component_cells,
    is_number,
    make_lookup,
    number_at,
    parameter,
    user_variables,
)
from gvcdyn.language.lower.expressions import ExpressionLowerer
from gvcdyn.language.lower.external import ExternalData, is_external
from gvcdyn.language.lower.macros import expand_macros, is_instance_name
from gvcdyn.language.schedule import ModelParts, schedule
from gvcdyn.language.subscripts import SubscriptCatalog

__all__ = ["lower"]


def lower(
    abstract: Any,
    source_hash: str,
    model_name: str,
    data_files: Sequence[str | Path] = (),
) -> ir.ModelIR:
    """Lower PySD's ``AbstractModel`` to a sorted, scalar ``ModelIR``.

    Files the model reads (GET XLS/DIRECT ...) are found relative to the model's folder;
    ``data_files`` are other runs' outputs that data variables without an equation read.
    """
    main = expand_macros(abstract)  # each macro call becomes elements of its own
    external = ExternalData(
        Path(abstract.original_path).resolve().parent, tuple(Path(f) for f in data_files)
    )
    catalog = SubscriptCatalog(external.resolve_ranges(main.subscripts))
    classified = classify(main, catalog)
    parts = ModelParts()
    low = ExpressionLowerer(catalog, classified.variables, classified.controls, parts)
    low.source_path = Path(abstract.original_path)
    for var in classified.variables.values():
        _lower_variable(low, var, external)

    def control(name: str, default: float | None) -> ir.Expr:
        element = classified.controls.get(name)
        if element is None:
            if default is None:  # named as Vensim spells it (FINAL TIME), not as PySD does
                vensim = name.replace("_", " ").upper()
                raise ModelStructureError(
                    f"the model does not define {vensim}; add its equation to the .mdl, "
                    f"e.g. '{vensim} = 100 ~ Month ~ |'"
                )
            return ir.Num(default)
        low.current = element.name
        return low.expr(element.components[0].ast, {}, name)

    controls = ir.Controls(
        initial_time=control("initial_time", 0.0),
        final_time=control("final_time", None),
        time_step=control("time_step", 1.0),
        saveper=control("saveper", None) if "saveper" in classified.controls else ir.TIME_STEP,
        time_units=classified.time_units,
        integration=_declared_integration(Path(abstract.original_path)),
    )
    _check_lookup_calls(low)
    model_ir = schedule(
        parts,
        controls,
        user_variables(
            {k: v for k, v in classified.variables.items() if not is_instance_name(v.name)}
        ),
        name=model_name,
        source_hash=source_hash,
    )
    return dataclasses.replace(model_ir, data_files=external.provenance())


def _declared_integration(path: Path) -> str:
    """The integration method ``path`` declares in its settings (Euler if unreadable)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "euler"
    return declared_integration(text)


def _check_lookup_calls(low: ExpressionLowerer) -> None:
    """Refuse a call of a subscripted lookup at an element it has no table for.

    Vensim lets a lookup be defined for some elements only (``lookup1dim[B](...)``), and
    an equation may still call it for every element (``y[dim1] = lookup1dim[dim1](Time)``).
    There is nothing to interpolate in for ``A``. PySD 3.14 builds the table for ``B``
    alone and the call silently returns ``y`` over ``B`` only, dropping ``y[A]``; gvcdyn
    keeps every cell of ``y``, so it refuses the model here, naming the lookup, the
    elements without a table and the equations that call them.
    """
    missing: dict[str, tuple[ModelVariable, dict[str, list[str]]]] = {}
    for table, lookup, owner in low.lookup_calls:
        if table not in low.parts.lookups:
            callers = missing.setdefault(lookup.name, (lookup, {}))[1]
            callers.setdefault(table, []).append(owner)
    if not missing:
        return
    lookup, callers = next(iter(missing.values()))
    defined = [c for c in lookup.cells if c in low.parts.lookups]
    calls = "; ".join(f"{', '.join(sorted(set(o)))} calls {t}" for t, o in callers.items())
    raise ModelStructureError(
        f"lookup '{lookup.name}' has no table for {', '.join(callers)} "
        f"(it is defined for {', '.join(defined) or 'no element'} only): {calls}; "
        "define the lookup for every element it is called with"
    )


def _lower_variable(low: ExpressionLowerer, var: ModelVariable, external: ExternalData) -> None:
    """All cells of one variable; the cells no definition covers are NaN, not outputs."""
    low.current = var.name
    defined: set[str] = set()
    for component in var.element.components:
        for elements, env, position in component_cells(low.catalog, var, component):
            symbol = var.cell_symbol(elements)
            if symbol in defined:
                raise ModelStructureError(f"'{symbol}' is defined by more than one equation")
            defined.add(symbol)
            if is_external(component.ast):
                external.lower_cell(low.parts, low.catalog, var, component, symbol, position)
                continue
            _lower_cell(low, var, component, symbol, env, position)
    var.undefined = [c for c in var.cells if c not in defined]
    for cell in var.undefined:
        low.parts.equations[cell] = ir.Num(float("nan"))


def _lower_cell(
    low: ExpressionLowerer,
    var: ModelVariable,
    component: Any,
    symbol: str,
    env: dict[str, str],
    position: tuple[int, ...],
) -> None:
    parts = low.parts
    ast = component.ast
    if var.kind == "lookup":
        if not isinstance(ast, ae.LookupsStructure):
            raise UnsupportedFeatureError(
                f"lookup '{symbol}' is not a plain table ({type(ast).__name__})"
            )
        parts.lookups[symbol] = make_lookup(symbol, ast)
        return
    if var.kind == "constant" or (is_number(ast) and var.kind != "stock"):
        value = number_at(ast, array_position(low.catalog, component, position, var.name))
        if isinstance(component, AbstractUnchangeableConstant):
            parts.fixed[symbol] = value
            parts.equations[symbol] = ir.Num(value)
            return
        parts.parameters.append(parameter(var, symbol, value, len(parts.parameters)))
        return
    if isinstance(ast, ae.IntegStructure):
        parts.stocks[symbol] = ir.Stock(
            symbol, low.expr(ast.flow, env, symbol), low.expr(ast.initial, env, symbol)
        )
        return
    if var.kind == "stock":
        raise ModelStructureError(f"'{symbol}' mixes INTEG and non-INTEG definitions")
    parts.equations[symbol] = low.expr(ast, env, symbol)
