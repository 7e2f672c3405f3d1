"""ALLOCATE AVAILABLE with PySD's semantics (``pysd/py_backend/allocation.py``).

Models written here share a supply that grows from nothing to more than all requests
among targets with every priority profile PySD implements (1 rectangular, 2 triangular,
3 normal, 4 exponential), several priorities and widths, a target that requests nothing,
in one and two dimensions; every column must equal PySD's. PySD solves for the common
priority level with ``least_squares`` (tolerance ~1e-8 on the level), gvcdyn with a
bracketing solver to adjacent floats, hence the comparison tolerance. The helper is
checked against PySD's one-dimensional algorithm where PySD's answer solves its own
equation: its solver can stall on a nearly flat stretch (an exponential tail far from
the other targets) and return takes that do not add up to the supply; there gvcdyn's
answer does.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from mdl_helpers import write_mdl
from pysd_parity import assert_runs_match_pysd
from test_codegen_split import _variant

import gvcdyn
from gvcdyn import runtime as rt

pysd = pytest.importorskip("pysd")
allocation = pytest.importorskip("pysd.py_backend.allocation")

EQUATIONS = """
branch: north, south, east, west, spare
    ~ ~ |
region: coast, inland
    ~ ~ |
pprofile: ptype, ppriority, pwidth, pextra
    ~ ~ |
request[branch] = 3, 6, 2.5, 2, 0
    ~ units ~ the last target requests nothing |
priority[branch] = 10, 9, 7, 2, 8
    ~ dmnl ~ |
profile type = 1
    ~ dmnl [1, 4] ~ |
width = 3
    ~ dmnl [0.5, 10] ~ |
pp[branch, ptype] = profile type ~~|
pp[branch, ppriority] = priority[branch] ~~|
pp[branch, pwidth] = width * (1 + 0.1 * branch) ~~|
pp[branch, pextra] = 0
    ~ dmnl ~ widths differ between the targets |
supply = 1.25 * Time
    ~ units ~ from nothing to more than all requests |
shipments[branch] = ALLOCATE AVAILABLE(request[branch], pp[branch, ptype], supply)
    ~ units ~ |
regional request[region, branch] = request[branch] * region
    ~ units ~ |
regional pp[region, branch, ptype] = profile type ~~|
regional pp[region, branch, ppriority] = priority[branch] * (3 - region) + Time / 4 ~~|
regional pp[region, branch, pwidth] = width * region ~~|
regional pp[region, branch, pextra] = 0
    ~ dmnl ~ |
regional supply[region] = supply * region / 2
    ~ units ~ |
regional shipments[region, branch] = ALLOCATE AVAILABLE(regional request[region, branch], \\
    regional pp[region, branch, ptype], regional supply[region])
    ~ units ~ |
total shipped = SUM(shipments[branch!])
    ~ units ~ |
"""
TOTAL_REQUEST = 13.5
# profile type -> widths; PySD's solver stalls for normal profiles of width 0.5 here
SETTINGS = {
    1.0: [3.0, 0.5, 10.0],
    2.0: [3.0, 0.5, 10.0],
    3.0: [1.0, 2.0, 5.0],
    4.0: [0.5, 1.0, 2.0],
}
RUNS = [(ptype, width) for ptype, widths in SETTINGS.items() for width in widths]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_mdl(tmp_path_factory.mktemp("allocate"), EQUATIONS, final_time=12, time_step=0.5)


@pytest.fixture(scope="module")
def model(model_path: Path) -> gvcdyn.Model:
    return gvcdyn.load(model_path)


def _params() -> dict[str, np.ndarray]:
    return {
        "profile type": np.array([p for p, _ in RUNS]),
        "width": np.array([w for _, w in RUNS]),
    }


def test_allocation_matches_pysd(model_path: Path, model: gvcdyn.Model) -> None:
    ds = model.run(_params())
    runs = [{"profile type": p, "width": w} for p, w in RUNS]
    assert_runs_match_pysd(ds, model_path, runs, rtol=1e-5, atol=1e-6)
    # below, at and above the total request: the takes add up to min(supply, total)
    supply = 1.25 * ds["time"].values
    assert supply[0] == 0 and supply[-1] > TOTAL_REQUEST
    np.testing.assert_allclose(
        ds["total shipped"].values,
        np.broadcast_to(np.minimum(supply, TOTAL_REQUEST), (12, 25)),
        rtol=1e-12,
        atol=1e-12,
    )
    shipments = ds["shipments"].values  # (run, time, branch)
    assert np.all(shipments[:, :, 4] == 0)  # nothing requested, nothing given
    # scarce supply goes to the highest priority first, in every profile
    scarce = supply < TOTAL_REQUEST
    assert np.all(shipments[:, scarce, 0] >= shipments[:, scarce, 2] * 3 / 2.5 - 1e-12)


def test_split_kernel_is_bitwise_equal(model: gvcdyn.Model) -> None:
    whole, split = _variant(model, False), _variant(model, True)
    assert "rt.allocate_available(" in split.source
    expected, got = whole.run(_params()), split.run(_params())
    for name in expected.data_vars:
        np.testing.assert_array_equal(got[name].values, expected[name].values, err_msg=name)


requests = st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.5, 4.0]), min_size=1, max_size=5).filter(
    lambda r: sum(r) > 0
)
profiles = st.sampled_from([1.0, 2.0, 3.0, 4.0])


@settings(deadline=None, max_examples=200)
@given(
    request=requests,
    ptypes=st.lists(profiles, min_size=5, max_size=5),
    priorities=st.lists(st.sampled_from([0.0, 1.0, 2.0, 5.0, 9.0]), min_size=5, max_size=5),
    widths=st.lists(st.sampled_from([0.25, 1.0, 3.0, 50.0]), min_size=5, max_size=5),
    share=st.floats(0.0, 1.2),
)
def test_helper_matches_pysd_algorithm(
    request: list[float],
    ptypes: list[float],
    priorities: list[float],
    widths: list[float],
    share: float,
) -> None:
    """The helper's source (numba compiles exactly this) against PySD's 1-D algorithm."""
    n = len(request)
    ptype, priority, width = ptypes[:n], priorities[:n], widths[:n]
    avail = share * sum(request)
    pp = np.column_stack([ptype, priority, width, np.zeros(n)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = np.asarray(
            allocation._allocate_available_1d(np.array(request), pp, avail), dtype=float
        )
    # compare where PySD's least_squares solved its own equation (see the module doc)
    assume(abs(expected.sum() - min(avail, sum(request))) <= 1e-6 * sum(request))
    got = [
        rt.allocate_available.py_func(
            float(i), avail, tuple(request), tuple(ptype), tuple(priority), tuple(width)
        )
        for i in range(n)
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * sum(request))


@settings(deadline=None, max_examples=60)
@given(
    request=requests,
    ptype=profiles,
    priorities=st.lists(st.floats(-20.0, 20.0), min_size=5, max_size=5),
    widths=st.lists(st.floats(0.1, 30.0), min_size=5, max_size=5),
    share=st.floats(0.0, 1.5),
)
def test_allocation_properties(
    request: list[float], ptype: float, priorities: list[float], widths: list[float], share: float
) -> None:
    """Takes add up to min(avail, total request), each within [0, its request]; with one
    profile and one width, a higher priority never gets a smaller share of its request."""
    n = len(request)
    width = [widths[0]] * n
    priority = priorities[:n]
    avail = share * sum(request)
    got = np.array(
        [
            rt.allocate_available(
                float(i), avail, tuple(request), (ptype,) * n, tuple(priority), tuple(width)
            )
            for i in range(n)
        ]
    )
    total = min(avail, sum(request))
    assert abs(got.sum() - total) <= 1e-9 * sum(request)
    assert np.all(got >= 0) and np.all(got <= np.array(request))
    shares = [(p, g / r) for p, g, r in zip(priority, got, request, strict=True) if r > 0]
    for p_high, s_high in shares:
        for p_low, s_low in shares:
            if p_high > p_low:
                assert s_high >= s_low - 1e-12


@pytest.mark.parametrize(
    ("avail", "requests", "ptypes", "widths"),
    [
        (1.0, (-1.0, 2.0), (1.0, 1.0), (1.0, 1.0)),  # negative request
        (-1.0, (1.0, 2.0), (1.0, 1.0), (1.0, 1.0)),  # negative supply
        (1.0, (1.0, 2.0), (1.0, 1.0), (0.0, 1.0)),  # pwidth <= 0
        (1.0, (1.0, 2.0), (0.0, 1.0), (1.0, 1.0)),  # fixed quantity
        (1.0, (1.0, 2.0), (1.0, 5.0), (1.0, 1.0)),  # constant elasticity
        (1.0, (1.0, 2.0), (1.0, 7.0), (1.0, 1.0)),  # no such profile
    ],
)
def test_inputs_pysd_refuses_give_nan(
    avail: float,
    requests: tuple[float, ...],
    ptypes: tuple[float, ...],
    widths: tuple[float, ...],
) -> None:
    """PySD raises for these; a kernel cannot, so the allocation is NaN (and a stock fed
    by it stops the run with a non-finite status)."""
    assert np.isnan(rt.allocate_available(0.0, avail, requests, ptypes, (1.0, 2.0), widths))
    pp = np.column_stack([ptypes, (1.0, 2.0), widths, (0.0, 0.0)])
    with pytest.raises((ValueError, NotImplementedError)):
        allocation.allocate_available(xr.DataArray(list(requests)), xr.DataArray(pp), avail)


def test_ample_or_no_supply_needs_no_valid_profile() -> None:
    """As PySD: a supply covering every request, or none, is handed out before the
    profiles are looked at."""
    assert rt.allocate_available(1.0, 5.0, (1.0, 2.0), (0.0, 9.0), (1.0, 2.0), (0.0, 0.0)) == 2.0
    assert rt.allocate_available(1.0, 0.0, (1.0, 2.0), (0.0, 9.0), (1.0, 2.0), (0.0, 0.0)) == 0.0


@pytest.mark.parametrize("ptype", ["0", "5", "7"])
def test_unsupported_profile_stops_the_run(tmp_path: Path, ptype: str) -> None:
    """Profile types PySD does not implement (0 fixed quantity, 5 constant elasticity)
    or that do not exist: NaN (the profile is a parameter, so it is not checked at load
    time), and the stock fed by it ends the run with a non-zero status."""
    equations = f"""
    target: a, b
        ~ ~ |
    pprofile: ptype, ppriority, pwidth, pextra
        ~ ~ |
    request[target] = 1, 2 ~~|
    pp[target, pprofile] = {ptype}, 1, 1, 0; 1, 2, 1, 0; ~~|
    shipped[target] = ALLOCATE AVAILABLE(request[target], pp[target, ptype], 1) ~~|
    received = INTEG(SUM(shipped[target!]), 0) ~~|
    """
    model = gvcdyn.load(write_mdl(tmp_path, equations))
    ds = model.run({"pp[a,ptype]": np.array([1.0, float(ptype)])}, allow_out_of_range=True)
    assert list(ds["status"].values[:1]) == [0] and ds["status"].values[1] != 0
    assert np.isnan(ds["shipped"].values[1, 0]).all()
    assert np.isfinite(ds["shipped"].values[0]).all()


def test_computed_unsupported_profile_stops_the_run(tmp_path: Path) -> None:
    """A profile type computed in the model cannot be checked at load time: NaN, and the
    stock fed by it ends the run with a non-zero status."""
    equations = """
    target: a, b
        ~ ~ |
    pprofile: ptype, ppriority, pwidth, pextra
        ~ ~ |
    kind = 1 ~ dmnl ~|
    request[target] = 1, 2 ~~|
    pp[target, ptype] = kind ~~|
    pp[target, ppriority] = target ~~|
    pp[target, pwidth] = 1 ~~|
    pp[target, pextra] = 0 ~~|
    shipped[target] = ALLOCATE AVAILABLE(request[target], pp[target, ptype], 1) ~~|
    received = INTEG(SUM(shipped[target!]), 0) ~~|
    """
    model = gvcdyn.load(write_mdl(tmp_path, equations))
    ds = model.run({"kind": np.array([1.0, 0.0, 5.0])})
    status = ds["status"].values
    assert status[0] == 0 and status[1] != 0 and status[2] != 0
    assert np.isnan(ds["shipped"].values[1:, -1]).all()
