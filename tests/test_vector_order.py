"""VECTOR SORT ORDER, VECTOR RANK and VECTOR REORDER, against PySD and numpy.

PySD sorts along the last axis of the vector (``np.argsort``; reversed for a direction
<= 0) and reorders with the offsets it gets; a model written here uses each function on
one-, two- and three-dimensional vectors whose order changes over time, and every column
must equal PySD's. The runtime helpers are also checked against numpy directly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mdl_helpers import write_mdl
from pysd_parity import assert_runs_match_pysd

import gvcdyn
from gvcdyn import runtime as rt
from gvcdyn.errors import UnsupportedFeatureError
from gvcdyn.io.reference import dataset_columns

pysd = pytest.importorskip("pysd")

EQUATIONS = """
company: (company1-company5) -> scompany
    ~ ~ |
scompany: (sort1-sort5) -> company
    ~ ~ |
Region: A, B, C
    ~ ~ |
product: X, Y
    ~ ~ |
base[company] = 3, 7, 1, 9, 5
    ~ $/year ~ |
growth[company] = 0.5, -0.4, 1.2, -1, 0.1
    ~ $/year/Month ~ |
revenue[company] = base[company] + growth[company] * Time
    ~ $/year ~ paths that cross, so the order changes over time |
regional factor[Region] = 1, -1, 0.5
    ~ dmnl ~ |
revenue2A[company, Region] = revenue[company] * regional factor[Region] + Region
    ~ $/year ~ |
revenue2B[Region, company] = revenue2A[company, Region]
    ~ $/year ~ |
revenue3[Region, product, company] = revenue2B[Region, company] * (3 * product - 4)
    ~ $/year ~ |
direction = 1
    ~ dmnl ~ |
SORT ORDER[scompany] = VECTOR SORT ORDER(revenue[company], direction)
    ~ dmnl ~ |
SORT ORDER neg[scompany] = VECTOR SORT ORDER(revenue[company], 0)
    ~ dmnl ~ |
sorted revenue[scompany] = VECTOR REORDER(revenue[company], SORT ORDER[scompany])
    ~ $/year ~ |
sorted revenue neg[scompany] = VECTOR REORDER(revenue[company], SORT ORDER neg[scompany])
    ~ $/year ~ |
median revenue = sorted revenue[sort3]
    ~ $/year ~ |
revenue RANK[company] = VECTOR RANK(revenue[company], direction)
    ~ dmnl ~ |
revenue RANK neg[company] = VECTOR RANK(revenue[company], 0)
    ~ dmnl ~ |
SORT ORDER2A[scompany, Region] = VECTOR SORT ORDER(revenue2A[company, Region], 1)
    ~ dmnl ~ sorted along the last subscript, Region |
sorted2A[scompany, Region] = VECTOR REORDER(revenue2A[company, Region], \\
    SORT ORDER2A[scompany, Region])
    ~ $/year ~ |
RANK2A[company, Region] = VECTOR RANK(revenue2A[company, Region], 0)
    ~ dmnl ~ |
SORT ORDER2B[Region, scompany] = VECTOR SORT ORDER(revenue2B[Region, company], 0)
    ~ dmnl ~ |
sorted2B[Region, scompany] = VECTOR REORDER(revenue2B[Region, company], \\
    SORT ORDER2B[Region, scompany])
    ~ $/year ~ |
RANK2B[Region, scompany] = VECTOR RANK(revenue2B[Region, company], 1)
    ~ dmnl ~ |
SORT ORDER3[Region, product, scompany] = VECTOR SORT ORDER(revenue3[Region, product, company], 1)
    ~ dmnl ~ |
sorted3[Region, product, scompany] = VECTOR REORDER(revenue3[Region, product, company], \\
    SORT ORDER3[Region, product, scompany])
    ~ $/year ~ |
RANK3[Region, product, scompany] = VECTOR RANK(revenue3[Region, product, company], 0)
    ~ dmnl ~ |
"""


def test_ordering_functions_match_pysd(tmp_path: Path) -> None:
    path = write_mdl(tmp_path, EQUATIONS, final_time=14)
    ds = gvcdyn.load(path).run({"direction": np.array([1.0, -1.0])})
    assert_runs_match_pysd(ds, path, [{"direction": d} for d in (1.0, -1.0)], rtol=1e-12)
    assert len(dataset_columns(ds)[1]) == 290
    # the order really changes over the run, so a frozen order would fail above
    order = ds["SORT ORDER"].values[0]
    assert not np.array_equal(order[0], order[-1])


def test_ordering_of_an_expression_is_refused_by_name(tmp_path: Path) -> None:
    equations = """
    company: c1, c2
        ~ ~ |
    x[company] = 1, 2
        ~ ~ |
    order[company] = VECTOR SORT ORDER(x[company] * 2, 1)
        ~ ~ |
    """
    path = write_mdl(tmp_path, equations)
    with pytest.raises(UnsupportedFeatureError, match=r"'order\[c1\]'.*VECTOR SORT ORDER"):
        gvcdyn.load(path)


vectors = st.lists(st.sampled_from([-2.0, 0.0, 0.5, 1.0, 3.0]), min_size=1, max_size=8)


def _check_helpers(values: list[float], direction: float, compiled: bool) -> None:
    array = np.array(values)
    # PySD calls DataArray.argsort (numpy's default sort): equal for distinct values; ties
    # are ordered by position in gvcdyn (numpy's default sort is not stable on every CPU)
    order = np.argsort(array, kind="stable")
    if direction <= 0:
        order = np.flip(order)
    rank = np.argsort(order) + 1
    vector = tuple(values)
    sort_order, vector_rank, vector_reorder = (
        f if compiled else f.py_func
        for f in (rt.vector_sort_order, rt.vector_rank, rt.vector_reorder)
    )
    for i in range(len(values)):
        assert sort_order(float(i), direction, vector) == order[i]
        assert vector_rank(float(i), direction, vector) == rank[i]
        assert vector_reorder(float(order[i]), vector) == array[order[i]]
    assert np.isnan(vector_reorder(float(len(values)), vector))


@settings(deadline=None)
@given(values=vectors, direction=st.sampled_from([1.0, 0.0, -1.0]))
def test_helpers_agree_with_numpy(values: list[float], direction: float) -> None:
    """The helpers' source (numba compiles exactly this) equals PySD's numpy formulas;
    few distinct values, so ties are frequent."""
    _check_helpers(values, direction, compiled=False)


@pytest.mark.parametrize("direction", [1.0, 0.0])
@pytest.mark.parametrize(
    "values", [[3.0, 1.0, 2.0, 1.0, 5.0], [1.0, 1.0, 1.0, 0.0, 1.0], [-2.0, 4.0, 4.0, -2.0, 0.5]]
)
def test_compiled_helpers_agree_with_numpy(values: list[float], direction: float) -> None:
    """The compiled helpers (numba's mergesort) break ties as numpy's stable sort."""
    _check_helpers(values, direction, compiled=True)
