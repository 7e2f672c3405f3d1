"""Property tests of the kernel's building blocks against independent references."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gvcdyn import runtime
from gvcdyn.backend.timegrid import make_grid

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@st.composite
def tables(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(min_value=1, max_value=12))
    xs = np.array(sorted(draw(st.lists(finite, min_size=n, max_size=n, unique=True))))
    ys = np.array(draw(st.lists(finite, min_size=n, max_size=n)))
    return xs, ys


def _exact_interp(x: float, xs: np.ndarray, ys: np.ndarray) -> float:
    """Linear interpolation holding the end values, in exact rational arithmetic."""
    if x <= xs[0]:
        return float(ys[0])
    if x >= xs[-1]:
        return float(ys[-1])
    i = int(np.searchsorted(xs, x, side="right"))  # xs[i - 1] <= x < xs[i]
    x0, x1, y0, y1 = (Fraction(float(v)) for v in (xs[i - 1], xs[i], ys[i - 1], ys[i]))
    return float(y0 + (y1 - y0) * (Fraction(x) - x0) / (x1 - x0))


@settings(max_examples=300, deadline=None)
@given(tables(), finite)
# x points 20 and 7 subnormal steps (5e-324) apart: np.interp's slope overflows to inf
@example((np.array([0.0, 5e-324 * 20]), np.array([0.0, 1.0])), 5e-324 * 19)
@example((np.array([-1.0, 0.0, 5e-324 * 7]), np.array([3.0, -1e6, 1e6])), 5e-324 * 3)
def test_lookup_matches_numpy_interp(table: tuple[np.ndarray, np.ndarray], x: float) -> None:
    """The compiled lookup is linear interpolation holding the end values (np.interp).

    The reference is exact rational interpolation, and np.interp wherever it is finite.
    np.interp computes the slope first, which overflows to inf when two x points are
    closer than about 1e-308 (subnormal spacing: hypothesis draws such tables) although
    every value on the segment lies between its two y values; the lookup multiplies
    before it divides and stays finite, so np.interp is not the reference there.
    """
    xs, ys = table
    got = runtime.lookup(x, xs, ys)
    assert np.isclose(got, _exact_interp(x, xs, ys), rtol=1e-12, atol=1e-9)
    expected = np.interp(x, xs, ys)
    if np.isfinite(expected):
        assert np.isclose(got, expected, rtol=1e-12, atol=1e-9)
    else:  # only the slope's overflow makes np.interp infinite on a finite table
        assert np.min(np.abs(np.diff(xs))) < 1e-300


@settings(max_examples=200, deadline=None)
@given(
    st.floats(min_value=-100, max_value=100),
    st.floats(min_value=0.01, max_value=50),
    st.sampled_from([0.03125, 0.0625, 0.125, 0.25, 0.5, 1.0]),
    st.integers(min_value=1, max_value=8),
)
def test_save_grid_follows_pysd_rule(t0: float, span: float, dt: float, every: int) -> None:
    """Steps cover [t0, final] as PySD's loop does; saved times lie on the SAVEPER grid,
    start at t0, are evenly spaced, and never pass the final time by a step or more."""
    saveper = dt * every
    grid = make_grid(t0, t0 + span, dt, saveper)
    times = t0 + dt * np.arange(grid.n_steps + 1)
    assert times[-1] < t0 + span + dt * (1 - 1e-5) + 1e-9
    assert grid.save_times[0] == t0
    spacing = np.diff(grid.save_times)
    assert np.allclose(spacing, saveper, rtol=1e-9, atol=1e-9)
    assert (grid.save_rows >= 0).sum() == len(grid.save_times)


@settings(max_examples=200, deadline=None)
@given(finite, st.floats(min_value=-50, max_value=50, allow_nan=False))
def test_modulo_and_quantum_as_pysd(x: float, m: float) -> None:
    """MODULO(x, m) = x - QUANTUM(x, m); QUANTUM truncates toward zero; m < 1e-6 gives 0."""
    q = runtime.quantum(x, m)
    if m < 1e-6:
        assert q == x and runtime.modulo(x, m) == 0.0
    else:
        assert q == m * np.trunc(x / m)
        assert runtime.modulo(x, m) == x - q


def test_a_grid_starting_at_minus_zero_is_not_the_cached_one_of_plus_zero() -> None:
    """0.0 == -0.0, so a cache keyed on the controls' values alone handed a run that
    starts at -0.0 the grid of one at 0.0 (TIME ^ -1 then gave inf for -inf)."""
    first = make_grid(0.0, 0.0, 0.25, 0.25)
    second = make_grid(-0.0, -0.0, 0.25, 0.25)
    assert np.copysign(1.0, first.initial_time) == 1.0
    assert np.copysign(1.0, second.initial_time) == -1.0
    assert np.copysign(1.0, second.save_times[0]) == -1.0
    assert make_grid(0.0, 0.0, 0.25, 0.25) is first  # still cached
