"""Vensim's array functions as scalar IR, once lowering has unrolled their subscripts.

Lowering turns ``VECTOR SELECT(sel[d!], expr[d!], missing, action, error)`` into one
``(selection, expression)`` pair of scalar expressions per element of the ``!`` ranges
(their cartesian product, as PySD's xarray broadcasting does), and
``INVERT MATRIX(m[..., r, c], n)`` into the n x n cells of one matrix. The functions here
build the result from those pieces, following ``pysd/py_backend/functions.py``.

VECTOR SORT ORDER, VECTOR RANK and VECTOR REORDER work along the last subscript of their
vector argument (PySD sorts along the array's last axis): ``ordering_call`` lowers the
vector once per element of that range and gives the runtime helper the current cell's
position along it (or, for REORDER, the offset read from the order vector at this cell).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pysd.translators.structures import abstract_expressions as ae

from gvcdyn.errors import ModelStructureError, UnsupportedFeatureError
from gvcdyn.language import ir
from gvcdyn.language.subscripts import name_key

if TYPE_CHECKING:
    from gvcdyn.language.lower.expressions import ExpressionLowerer

# Vensim's vector ordering functions (PySD reference name -> Vensim name)
ORDERING = {
    "vector_sort_order": "VECTOR SORT ORDER",
    "vector_rank": "VECTOR RANK",
    "vector_reorder": "VECTOR REORDER",
}


def vector_select(
    pairs: Sequence[tuple[ir.Expr, ir.Expr]],
    missing: ir.Expr,
    action: ir.Expr,
    error_action: ir.Expr,
    owner: str,
) -> ir.Expr:
    """VECTOR SELECT over unrolled (selection, expression) pairs (``rt.vector_select``).

    Actions 0-4 combine ``selection * expression`` (sum, product, min, max, mean), 5 the
    product of ``expression ^ selection``, 6-10 the plain expression (sum, product, min,
    max, mean), always over the elements whose selection is non-zero; ``missing`` when
    there are none. The action may be computed (it is read at every evaluation).
    """
    if not (isinstance(error_action, ir.Num) and error_action.value == 0):
        raise UnsupportedFeatureError(
            f"'{owner}': VECTOR SELECT with an error action other than 0 is not supported "
            "(the kernel cannot stop a run with an error); use 0"
        )
    if isinstance(action, ir.Num) and action.value not in range(11):
        raise UnsupportedFeatureError(
            f"'{owner}': VECTOR SELECT numerical action {action.value:g} is not one of 0-10"
        )
    n = len(pairs)
    return ir.Call(
        "vector_select",
        (action, missing, ir.Num(float(n)), *(s for s, _ in pairs), *(e for _, e in pairs)),
    )


def invert_matrix_entry(cells: Sequence[ir.Expr], row: int, column: int) -> ir.Expr:
    """Entry (row, column) of the inverse of the n x n matrix given by ``cells`` (row-major)."""
    return ir.Call("inverse_entry", (ir.Num(float(row)), ir.Num(float(column)), *cells))


def ordering_call(
    low: ExpressionLowerer, key: str, arguments: Sequence[Any], env: dict[str, str], owner: str
) -> ir.Expr:
    """One cell of VECTOR SORT ORDER / VECTOR RANK (vector, direction) or VECTOR REORDER
    (vector, order), as PySD's ``vector_sort_order``, ``vector_rank``, ``vector_reorder``.

    SORT ORDER gives 0-based offsets (ascending for direction > 0, else descending), RANK
    1-based places, REORDER the vector's element at the offset the order vector holds.
    """
    name = ORDERING[key]
    if len(arguments) != 2:
        raise ModelStructureError(f"'{owner}': {name} takes 2 arguments, got {len(arguments)}")
    vector, other = arguments
    values, here = _along_last_subscript(low, name, vector, env, owner)
    second = low.expr(other, env, owner)
    if key == "vector_reorder":
        return ir.Call("vector_reorder", (second, *values))
    if here is None:
        raise ModelStructureError(
            f"'{owner}': {name} of '{vector.reference}' must be in an equation subscripted "
            "by (a range mapped to) the vector's last subscript"
        )
    return ir.Call(key, (ir.Num(float(here)), second, *values))


def _along_last_subscript(
    low: ExpressionLowerer, name: str, vector: Any, env: dict[str, str], owner: str
) -> tuple[list[ir.Expr], int | None]:
    """The vector's cells along its last subscript and the current cell's position there
    (None when the current cell does not lie on the vector)."""
    subscripts = getattr(getattr(vector, "subscripts", None), "subscripts", None)
    if (
        not isinstance(vector, ae.ReferenceStructure)
        or not subscripts
        or not low.catalog.is_range(subscripts[-1])
    ):
        raise UnsupportedFeatureError(
            f"'{owner}': {name} needs a variable subscripted by a range last, "
            "as in x[region, company]"
        )
    last = subscripts[-1]
    values = [
        low.expr(vector, {**env, name_key(last): element}, owner)
        for element in low.catalog.range(last).elements
    ]
    try:
        here = low.expr(vector, env, owner)
    except ModelStructureError:
        return values, None
    return values, values.index(here) if here in values else None


def _requests(
    low: ExpressionLowerer, name: str, request: Any, env: dict[str, str], owner: str
) -> tuple[list[ir.Expr], int]:
    """An allocation's requests along their last subscript and the current target's place
    among them: the equation must be one cell per target."""
    requests, here = _along_last_subscript(low, name, request, env, owner)
    if here is None:
        raise ModelStructureError(
            f"'{owner}': {name} of '{request.reference}' must be in an equation "
            "subscripted by (a range mapped to) the request's last subscript"
        )
    return requests, here


def allocate_by_priority(
    low: ExpressionLowerer, node: Any, env: dict[str, str], owner: str
) -> ir.Expr:
    """One cell of ALLOCATE BY PRIORITY(request, priority, size, width, supply).

    As PySD: the targets are the elements of the request's last subscript; priority is
    read at the same elements, width and supply at the current cell; ``size`` is not used.
    """
    name = "ALLOCATE BY PRIORITY"
    requests, here = _requests(low, name, node.request, env, owner)
    last = node.request.subscripts.subscripts[-1]
    priorities = [
        low.expr(node.priority, {**env, name_key(last): element}, owner)
        for element in low.catalog.range(last).elements
    ]
    width = low.expr(node.width, env, owner)
    supply = low.expr(node.supply, env, owner)
    count = ir.Num(float(len(requests)))
    return ir.Call(
        "allocate_by_priority",
        (ir.Num(float(here)), width, supply, count, *requests, *priorities),
    )


def allocate_available(
    low: ExpressionLowerer, node: Any, env: dict[str, str], owner: str
) -> ir.Expr:
    """One cell of ALLOCATE AVAILABLE(request, pp, avail), as PySD's ``allocate_available``.

    The targets are the elements of the request's last subscript; ``pp`` is read at the
    same elements, its last subscript spanning the profile (ptype, ppriority, pwidth,
    pextra) whatever element the equation names there (Vensim writes the first one, PySD
    takes the variable's whole last range); ``avail`` is read at the current cell. The
    profile type is a value like any other (a constant is a parameter a run may set), so
    one other than 1-4 gives NaN when the supply is short (``rt.allocate_available``).
    """
    name = "ALLOCATE AVAILABLE"
    requests, here = _requests(low, name, node.request, env, owner)
    last = node.request.subscripts.subscripts[-1]
    targets = low.catalog.range(last).elements
    pp = node.pp
    pp_var = low.vars.get(name_key(getattr(pp, "reference", "")))
    if not isinstance(pp, ae.ReferenceStructure) or pp_var is None or len(pp_var.dims) < 2:
        raise UnsupportedFeatureError(
            f"'{owner}': {name} needs a priority-profile variable subscripted by the "
            "targets and the profile last, as in pp[branch, pprofile]"
        )
    profile = pp_var.dims[-1].elements
    if len(profile) < 3:
        raise ModelStructureError(
            f"'{owner}': the priority profile '{pp_var.name}' has {len(profile)} elements "
            "along its last subscript; it needs ptype, ppriority, pwidth (and pextra)"
        )
    leading = tuple(pp.subscripts.subscripts[:-1])
    columns = []
    for field in profile[:3]:
        cell = replace(pp, subscripts=ae.SubscriptsReferenceStructure((*leading, field)))
        columns.append([low.expr(cell, {**env, name_key(last): t}, owner) for t in targets])
    avail = low.expr(node.avail, env, owner)
    count = ir.Num(float(len(requests)))
    return ir.Call(
        "allocate_available",
        (ir.Num(float(here)), avail, count, *requests, *(c for col in columns for c in col)),
    )
