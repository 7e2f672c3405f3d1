"""Vensim's array functions as scalar IR, once lowering has unrolled their subscripts.

Lowering turns ``VECTOR SELECT(sel[d!], expr[d!], missing, action, error)`` into one
``(selection, expression)`` pair of scalar expressions per element of the ``!`` ranges
(their cartesian product, as PySD's xarray broadcasting does), and
``INVERT MATRIX(m[..., r, c], n)`` into the n x n cells of one matrix. The functions here
build the result from those pieces, following ``pysd/py_backend/functions.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

from gvcdyn import ir
from gvcdyn.errors import UnsupportedFeatureError


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
