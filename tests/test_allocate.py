"""ALLOCATE BY PRIORITY with PySD's semantics (``pysd/py_backend/allocation.py``).

A model written here allocates a supply that grows over time among targets of unequal,
equal and widely spaced priorities, in one and two dimensions; every column must equal
PySD's. The runtime helper is also checked against PySD's one-dimensional algorithm on
random requests, priorities, widths and supplies.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from mdl_helpers import write_mdl
from pysd_parity import assert_runs_match_pysd

import gvcdyn
from gvcdyn import runtime as rt
from gvcdyn.errors import ModelStructureError

pysd = pytest.importorskip("pysd")
allocation = pytest.importorskip("pysd.py_backend.allocation")

EQUATIONS = """
branch: north, south, east, west
    ~ ~ |
region: coast, inland
    ~ ~ |
request[branch] = 3, 6, 2.5, 2
    ~ units ~ |
priority[branch] = 10, 9, 7, 2
    ~ dmnl ~ |
width = 3
    ~ dmnl [0.5, 10] ~ |
supply = 1.25 * Time
    ~ units ~ from nothing to more than all requests |
shipments[branch] = ALLOCATE BY PRIORITY(request[branch], priority[branch], \\
    ELMCOUNT(branch), width, supply)
    ~ units ~ |
regional request[region, branch] = request[branch] * region
    ~ units ~ |
regional priority[region, branch] = priority[branch] * (3 - region) + Time / 4
    ~ dmnl ~ |
regional supply[region] = supply * region / 2
    ~ units ~ |
regional shipments[region, branch] = ALLOCATE BY PRIORITY(regional request[region, branch], \\
    regional priority[region, branch], ELMCOUNT(branch), width, regional supply[region])
    ~ units ~ |
total shipped = SUM(shipments[branch!])
    ~ units ~ |
"""


def test_allocation_matches_pysd(tmp_path: Path) -> None:
    path = write_mdl(tmp_path, EQUATIONS, final_time=12, time_step=0.5)
    widths = np.array([3.0, 0.5, 10.0])
    ds = gvcdyn.load(path).run({"width": widths})
    runs = [{"width": float(w)} for w in widths]
    assert_runs_match_pysd(ds, path, runs, rtol=1e-9, atol=1e-12)
    # scarce supply is shared (total = supply), ample supply fills every request
    shipped = ds["total shipped"].values[0]
    supply = 1.25 * ds["time"].values
    np.testing.assert_allclose(shipped, np.minimum(supply, 13.5), rtol=1e-12)


def test_an_allocation_outside_a_per_target_equation_is_named(tmp_path: Path) -> None:
    """Each cell of an allocation is one target's share: an equation over another range
    has no target, which the error says rather than allocating to nobody."""
    text = EQUATIONS + (
        "misplaced[region] = ALLOCATE BY PRIORITY(request[branch], priority[branch], "
        "ELMCOUNT(branch), width, supply)\n    ~ units ~ |\n"
    )
    with pytest.raises(ModelStructureError, match=r"'misplaced\[coast\]'.*ALLOCATE BY PRIORITY"):
        gvcdyn.load(write_mdl(tmp_path, text, final_time=1))


requests = st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.5, 4.0]), min_size=1, max_size=6).filter(
    lambda r: sum(r) > 0
)


@settings(deadline=None, max_examples=300)
@given(
    request=requests,
    priorities=st.lists(st.sampled_from([0.0, 1.0, 2.0, 5.0, 9.0]), min_size=6, max_size=6),
    width=st.sampled_from([0.25, 1.0, 3.0, 50.0]),
    share=st.floats(0.0, 1.2),
)
def test_helper_matches_pysd_algorithm(
    request: list[float], priorities: list[float], width: float, share: float
) -> None:
    """The helper's source (numba compiles exactly this) against PySD's 1-D algorithm."""
    priority = priorities[: len(request)]
    supply = share * sum(request)
    expected = allocation._allocate_by_priority_1d(
        np.array(request), np.array(priority), width, supply
    )
    got = [
        rt.allocate_by_priority.py_func(float(i), width, supply, tuple(request), tuple(priority))
        for i in range(len(request))
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("width", "supply", "requests"),
    [(0.0, 1.0, (1.0, 2.0)), (1.0, -1.0, (1.0, 2.0)), (1.0, 1.0, (-1.0, 2.0))],
)
def test_inputs_pysd_refuses_give_nan(
    width: float, supply: float, requests: tuple[float, ...]
) -> None:
    """PySD raises for these; a kernel cannot, so the allocation is NaN (and a stock fed
    by it stops the run with a non-finite status)."""
    assert np.isnan(rt.allocate_by_priority(0.0, width, supply, requests, (1.0, 2.0)))
    with pytest.raises(ValueError):
        allocation.allocate_by_priority(
            xr.DataArray(list(requests)), xr.DataArray([1.0, 2.0]), width, supply
        )
