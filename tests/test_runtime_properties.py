"""Property tests of the kernel's building blocks against independent references."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gvcdyn import runtime
from gvcdyn.timegrid import make_grid

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@st.composite
def tables(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(min_value=1, max_value=12))
    xs = np.array(sorted(draw(st.lists(finite, min_size=n, max_size=n, unique=True))))
    ys = np.array(draw(st.lists(finite, min_size=n, max_size=n)))
    return xs, ys


@settings(max_examples=300, deadline=None)
@given(tables(), finite)
def test_lookup_matches_numpy_interp(table: tuple[np.ndarray, np.ndarray], x: float) -> None:
    """The compiled lookup is linear interpolation holding the end values (np.interp)."""
    xs, ys = table
    expected = np.interp(x, xs, ys)
    assert np.isclose(runtime.lookup(x, xs, ys), expected, rtol=1e-12, atol=1e-9)


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
