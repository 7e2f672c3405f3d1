"""Numerics of the compiled core, each checked against a value known without gvcdyn.

- Convergence order on ODEs with closed-form solutions (exponential decay, harmonic
  oscillator): halving TIME STEP divides the final-time error by ~2 (Euler), ~16 (RK4).
- Batches: N runs in one batch equal N single runs bit for bit; a run that produces a
  NaN/inf gets a non-zero status and leaves the other runs of its batch untouched.
- The save grid of pysd-frontend.md §4.
- Vensim's tricky operator and builtin semantics (pysd-frontend.md §4), hand-computed.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from mdl_helpers import write_mdl

import gvcdyn
from gvcdyn import status as st

DECAY = """
k = 1
	~	1/Month [0,10]
	~	Decay rate.
	|
x = INTEG(-k * x, x0)
	~	Widgets
	~	Decaying stock: x(t) = x0 exp(-k t).
	|
x0 = 1
	~	Widgets
	~	Initial value.
	|
"""

OSCILLATOR = """
omega = 2
	~	1/Month
	~	Angular frequency.
	|
x = INTEG(v, 1)
	~	Meters
	~	Position: cos(omega t).
	|
v = INTEG(-omega^2 * x, 0)
	~	Meters/Month
	~	Velocity: -omega sin(omega t).
	|
"""

# Two stocks, flows depending on both and on several parameters: a small SIR.
SIR = """
beta = 0.3
	~	1/Month [0,5]
	~	Contact rate.
	|
gamma = 0.2
	~	1/Month [0,5]
	~	Recovery rate.
	|
population = 1000
	~	People [1,?]
	~	Total population.
	|
S = INTEG(-infection, population - 1)
	~	People
	~	Susceptible.
	|
I = INTEG(infection - recovery, 1)
	~	People
	~	Infectious.
	|
infection = beta * S * I / population
	~	People/Month
	~		|
recovery = gamma * I
	~	People/Month
	~		|
"""

# d = 0 divides by zero in a stock's flow (status 2, the run stops);
# e = 0 divides by zero in an auxiliary no stock depends on (status 1, the run goes on).
FRAGILE = """
d = 1
	~	Month
	~	Divisor in the flow.
	|
e = 1
	~	Dmnl
	~	Divisor in a reported ratio.
	|
flow = 1 / d
	~	Widgets/Month
	~		|
ratio = stock / e
	~	Widgets
	~		|
stock = INTEG(flow, 0)
	~	Widgets
	~		|
"""


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, gvcdyn.Model]:
    """The small models of this module, each loaded (and compiled) once."""
    root = tmp_path_factory.mktemp("numerics")
    return {
        "decay": gvcdyn.load(write_mdl(root, DECAY, final_time=2, time_step=0.125, name="decay")),
        "osc": gvcdyn.load(write_mdl(root, OSCILLATOR, final_time=3, time_step=0.125, name="osc")),
        "sir": gvcdyn.load(write_mdl(root, SIR, final_time=30, time_step=0.25, name="sir")),
        "fragile": gvcdyn.load(
            write_mdl(root, FRAGILE, final_time=5, time_step=0.5, name="fragile")
        ),
    }


def _final(ds: xr.Dataset, name: str, final_time: float) -> float:
    assert float(ds["time"][-1]) == final_time
    return float(ds[name].isel(run=0, time=-1))


def _decay_error(model: gvcdyn.Model, method: str, dt: float) -> float:
    ds = model.run(method=method, time_step=dt)
    return abs(_final(ds, "x", 2.0) - math.exp(-2.0))


def _oscillator_error(model: gvcdyn.Model, method: str, dt: float) -> float:
    ds = model.run(method=method, time_step=dt)
    x, v = _final(ds, "x", 3.0), _final(ds, "v", 3.0)
    return math.hypot(x - math.cos(6.0), v + 2.0 * math.sin(6.0))


def _ratios(errors: list[float]) -> list[float]:
    return [a / b for a, b in itertools.pairwise(errors)]


# ---------------------------------------------------------------------- convergence order


@pytest.mark.parametrize(
    ("method", "steps", "low", "high"),
    [("euler", [1 / 32, 1 / 64, 1 / 128], 1.8, 2.2), ("rk4", [1 / 8, 1 / 16, 1 / 32], 14, 18)],
)
def test_decay_convergence_order(
    models: dict[str, gvcdyn.Model], method: str, steps: list[float], low: float, high: float
) -> None:
    """x' = -k x: halving the step divides the error at t=2 by ~2 (Euler) or ~16 (RK4)."""
    errors = [_decay_error(models["decay"], method, dt) for dt in steps]
    assert errors[0] > 1e-12  # not trivially exact
    for ratio in _ratios(errors):
        assert low < ratio < high, (method, errors)


@pytest.mark.parametrize(
    ("method", "steps", "low", "high"),
    [("euler", [1 / 64, 1 / 128, 1 / 256], 1.8, 2.2), ("rk4", [1 / 16, 1 / 32, 1 / 64], 14, 18)],
)
def test_oscillator_convergence_order(
    models: dict[str, gvcdyn.Model], method: str, steps: list[float], low: float, high: float
) -> None:
    """x'' = -omega^2 x as two stocks: same orders, on a coupled system."""
    errors = [_oscillator_error(models["osc"], method, dt) for dt in steps]
    for ratio in _ratios(errors):
        assert low < ratio < high, (method, errors)


def test_fitted_orders(models: dict[str, gvcdyn.Model]) -> None:
    """The slope of log(error) over log(dt) is ~1 for Euler and ~4 for RK4."""
    steps = np.array([1 / 16, 1 / 32, 1 / 64, 1 / 128])
    for method, expected in (("euler", 1.0), ("rk4", 4.0)):
        errors = np.array([_decay_error(models["decay"], method, dt) for dt in steps])
        slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
        assert abs(slope - expected) < 0.1, (method, slope)


def test_euler_is_the_explicit_update(models: dict[str, gvcdyn.Model]) -> None:
    """Euler on decay is exactly x_{n+1} = x_n (1 - k dt), as Vensim updates it."""
    ds = models["decay"].run({"k": 0.5}, time_step=0.125)
    expected = (1 - 0.5 * 0.125) ** np.arange(17)
    np.testing.assert_allclose(ds["x"].isel(run=0).values, expected, rtol=1e-14)
    assert ds["time"].values.tolist() == [0.125 * i for i in range(17)]


# ---------------------------------------------------------------------- batches


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_batch_equals_single_runs(models: dict[str, gvcdyn.Model], method: str) -> None:
    """Every run of a batch of N is bit-identical to running its parameters alone."""
    rng = np.random.default_rng(20261123)
    n = 7
    params = {
        "beta": rng.uniform(0.1, 1.0, n),
        "gamma": rng.uniform(0.05, 0.5, n),
        "population": rng.uniform(500, 5000, n),
    }
    batch = models["sir"].run(params, method=method)
    assert batch.sizes["run"] == n
    assert (batch["status"].values == 0).all()
    for r in range(n):
        single = models["sir"].run({k: float(v[r]) for k, v in params.items()}, method=method)
        for name in ("S", "I", "infection", "recovery"):
            np.testing.assert_array_equal(
                batch[name].isel(run=r).values, single[name].isel(run=0).values, err_msg=name
            )
    # and the runs really differ from each other
    assert not np.array_equal(batch["I"].isel(run=0).values, batch["I"].isel(run=1).values)


def test_dataframe_and_dict_params_agree(models: dict[str, gvcdyn.Model]) -> None:
    """A DataFrame of runs gives the same results as the equivalent dict of arrays."""
    import pandas as pd

    params = {"beta": np.array([0.2, 0.4]), "gamma": np.array([0.1, 0.3])}
    a = models["sir"].run(params)
    b = models["sir"].run(pd.DataFrame(params))
    np.testing.assert_array_equal(a["I"].values, b["I"].values)


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_nonfinite_stock_stops_only_its_run(models: dict[str, gvcdyn.Model], method: str) -> None:
    """d = 0 makes a stock infinite: that run gets status 2 and NaN after t0; the others
    are bit-identical to running them alone."""
    model = models["fragile"]
    d = np.array([1.0, 0.0, 2.0])
    batch = model.run({"d": d}, method=method)
    assert batch["status"].values.tolist() == [st.OK, st.NONFINITE_STATE, st.OK]
    bad = batch["stock"].isel(run=1).values
    assert bad[0] == 0.0
    assert np.isnan(bad[1:]).all()
    for r in (0, 2):
        alone = model.run({"d": float(d[r])}, method=method)
        assert int(alone["status"][0]) == st.OK
        for name in ("stock", "flow", "ratio"):
            np.testing.assert_array_equal(
                batch[name].isel(run=r).values, alone[name].isel(run=0).values, err_msg=name
            )
    np.testing.assert_allclose(batch["stock"].isel(run=0).values[-1], 5.0, rtol=1e-12)


def test_nonfinite_output_flags_run_and_continues(models: dict[str, gvcdyn.Model]) -> None:
    """e = 0 makes a reported ratio infinite/NaN: status 1, the run goes on (stock exact)."""
    model = models["fragile"]
    batch = model.run({"e": np.array([1.0, 0.0])})
    assert batch["status"].values.tolist() == [st.OK, st.NONFINITE_OUTPUT]
    np.testing.assert_array_equal(
        batch["stock"].isel(run=1).values, batch["stock"].isel(run=0).values
    )
    ratio = batch["ratio"].isel(run=1).values
    assert not np.isfinite(ratio).any()  # 0/0 = nan at t0, then +inf
    assert model.status_message(st.NONFINITE_OUTPUT) != model.status_message(st.OK)


def test_large_finite_values_are_not_flagged(tmp_path: Path) -> None:
    """Two finite stocks near the float maximum are still finite: status must stay 0.

    (Their sum overflows to inf, so a finiteness check on a sum would misreport them.)
    """
    path = write_mdl(
        tmp_path,
        """
a = INTEG(0, 1e308)
	~	Widgets
	~		|
b = INTEG(0, 1e308)
	~	Widgets
	~		|
""",
        final_time=2,
        time_step=1,
        name="huge",
    )
    ds = gvcdyn.load(path).run()
    assert int(ds["status"][0]) == st.OK
    np.testing.assert_array_equal(ds["a"].isel(run=0).values, [1e308, 1e308, 1e308])
    np.testing.assert_array_equal(ds["b"].isel(run=0).values, [1e308, 1e308, 1e308])


# ---------------------------------------------------------------------- save grid

SAVE_MODEL = """
x = INTEG(1, 0)
	~	Widgets
	~	Equal to Time.
	|
"""


def test_saveper_not_multiple_of_step(tmp_path: Path) -> None:
    """TIME STEP=1, SAVEPER=1.5, FINAL TIME=10 saves 0,3,6,9 (10 is not on the grid)."""
    path = write_mdl(tmp_path, SAVE_MODEL, final_time=10, time_step=1, saveper=1.5)
    ds = gvcdyn.load(path).run()
    assert ds["time"].values.tolist() == [0.0, 3.0, 6.0, 9.0]
    assert ds["x"].isel(run=0).values.tolist() == [0.0, 3.0, 6.0, 9.0]


def test_saveper_equal_to_step_is_inclusive(tmp_path: Path) -> None:
    """SAVEPER = TIME STEP saves every step from INITIAL TIME to FINAL TIME inclusive."""
    path = write_mdl(tmp_path, SAVE_MODEL, final_time=3, time_step=0.25, initial_time=1)
    model = gvcdyn.load(path)
    ds = model.run()
    expected = [1 + 0.25 * i for i in range(9)]
    assert ds["time"].values.tolist() == expected
    assert ds["x"].isel(run=0).values.tolist() == [t - 1 for t in expected]
    # overriding the step keeps SAVEPER = TIME STEP
    assert model.run(time_step=0.5)["time"].values.tolist() == [1, 1.5, 2, 2.5, 3]
    # an explicit saveper thins the output to the same values at those times
    thinned = model.run(saveper=1.0)
    assert thinned["time"].values.tolist() == [1.0, 2.0, 3.0]
    assert thinned["x"].isel(run=0).values.tolist() == [0.0, 1.0, 2.0]


# ---------------------------------------------------------------------- semantics

SEMANTICS = """
base = 3
	~	Dmnl
	~		|
neg literal power = -2^2
	~	Dmnl
	~		|
neg var power = -base^2
	~	Dmnl
	~		|
power chain = 2^3^2
	~	Dmnl
	~		|
mod neg dividend = MODULO(-7, 3)
	~	Dmnl
	~		|
mod neg divisor = MODULO(7, -3)
	~	Dmnl
	~		|
mod plain = MODULO(7, 3)
	~	Dmnl
	~		|
int neg = INTEGER(-2.5)
	~	Dmnl
	~		|
int pos = INTEGER(2.7)
	~	Dmnl
	~		|
zidz zero = ZIDZ(1, 0)
	~	Dmnl
	~		|
zidz tiny = ZIDZ(1, 1e-07)
	~	Dmnl
	~		|
zidz plain = ZIDZ(3, 2)
	~	Dmnl
	~		|
xidz zero = XIDZ(1, 0, 7)
	~	Dmnl
	~		|
xidz plain = XIDZ(3, 2, 7)
	~	Dmnl
	~		|
pulse out = PULSE(2, 1)
	~	Dmnl
	~		|
pulse train out = PULSE TRAIN(1, 1, 3, 8)
	~	Dmnl
	~		|
step out = STEP(5, 3.2)
	~	Dmnl
	~		|
ramp out = RAMP(2, 1, 4)
	~	Dmnl
	~		|
tbl(
	(0,0),(1,10),(2,5))
	~	Dmnl
	~		|
table below = tbl(-5)
	~	Dmnl
	~		|
table above = tbl(7)
	~	Dmnl
	~		|
table mid = tbl(1.5)
	~	Dmnl
	~		|
table of time = tbl(Time - 1)
	~	Dmnl
	~		|
inline of time = WITH LOOKUP(Time, ((2,1),(4,3)))
	~	Dmnl
	~		|
"""


@pytest.fixture(scope="module")
def semantics(tmp_path_factory: pytest.TempPathFactory) -> xr.Dataset:
    """One run of the semantics model, dt = 0.5, t = 0..10."""
    root = tmp_path_factory.mktemp("semantics")
    path = write_mdl(root, SEMANTICS, final_time=10, time_step=0.5, name="semantics")
    return gvcdyn.load(path).run()


def _value(ds: xr.Dataset, name: str) -> float:
    values = np.unique(ds[name].isel(run=0).values)
    assert values.size == 1, (name, values)  # constant over time
    return float(values[0])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("neg literal power", -4.0),
        ("neg var power", -9.0),
        ("power chain", 512.0),
        ("mod neg dividend", -1.0),
        ("mod neg divisor", 0.0),
        ("mod plain", 1.0),
        ("int neg", -2.0),
        ("int pos", 2.0),
        ("zidz zero", 0.0),
        ("zidz tiny", 0.0),
        ("zidz plain", 1.5),
        ("xidz zero", 7.0),
        ("xidz plain", 1.5),
        ("table below", 0.0),
        ("table above", 5.0),
        ("table mid", 7.5),
    ],
)
def test_constant_semantics(semantics: xr.Dataset, name: str, expected: float) -> None:
    """Operators and builtins give Vensim's (PySD's) hand-computed value."""
    assert _value(semantics, name) == expected


def _series(ds: xr.Dataset, name: str) -> dict[float, float]:
    return dict(zip(ds["time"].values.tolist(), ds[name].isel(run=0).values.tolist(), strict=True))


def test_time_grid_of_semantics_model(semantics: xr.Dataset) -> None:
    """The semantics model saves every half step from 0 to 10."""
    assert semantics["time"].values.tolist() == [0.5 * i for i in range(21)]


def test_pulse_timing(semantics: xr.Dataset) -> None:
    """PULSE(2, 1) with dt=0.5 is 1 at t=2 and 2.5 only."""
    on = [t for t, v in _series(semantics, "pulse out").items() if v == 1.0]
    assert on == [2.0, 2.5]
    assert set(_series(semantics, "pulse out").values()) == {0.0, 1.0}


def test_pulse_train_timing(semantics: xr.Dataset) -> None:
    """PULSE TRAIN(1, 1, 3, 8) with dt=0.5 is 1 at t=1, 1.5, 4, 4.5, 7, 7.5 only."""
    on = [t for t, v in _series(semantics, "pulse train out").items() if v == 1.0]
    assert on == [1.0, 1.5, 4.0, 4.5, 7.0, 7.5]
    assert set(_series(semantics, "pulse train out").values()) == {0.0, 1.0}


def test_step_half_step_rule(semantics: xr.Dataset) -> None:
    """STEP(5, 3.2) switches at t=3, since t + dt/2 = 3.25 > 3.2."""
    series = _series(semantics, "step out")
    assert all(v == 0.0 for t, v in series.items() if t < 3)
    assert all(v == 5.0 for t, v in series.items() if t >= 3)


def test_ramp_timing(semantics: xr.Dataset) -> None:
    """RAMP(2, 1, 4) is 0 until t=1, 2(t-1) up to t=4, then holds 6."""
    series = _series(semantics, "ramp out")
    expected = {t: 0.0 if t <= 1 else 2 * (min(t, 4.0) - 1) for t in series}
    assert series == expected


def test_lookups_hold_end_values_over_time(semantics: xr.Dataset) -> None:
    """Named and inline lookups interpolate inside and hold end values outside their x range."""
    table = _series(semantics, "table of time")
    assert table[0.0] == 0.0 and table[0.5] == 0.0 and table[1.0] == 0.0
    assert table[1.5] == 5.0 and table[2.0] == 10.0 and table[2.5] == 7.5
    assert all(table[t] == 5.0 for t in table if t >= 3)
    inline = _series(semantics, "inline of time")
    expected = {t: 1.0 if t <= 2 else 3.0 if t >= 4 else 1.0 + (t - 2) for t in inline}
    assert inline == expected


def test_vector_select_and_invert_matrix(tmp_path: Path) -> None:
    """VECTOR SELECT (weighted sum, missing value) and INVERT MATRIX against hand values."""
    path = write_mdl(
        tmp_path,
        """
Dim: a1, a2, a3
	~	~	|
Row: r1, r2
	~	~	|
Col: c1, c2
	~	~	|
sel[Dim] = 1, 0, 2
	~	Dmnl
	~		|
none[Dim] = 0, 0, 0
	~	Dmnl
	~		|
vals[Dim] = 3, 4, 5
	~	Dmnl
	~		|
weighted sum = VECTOR SELECT(sel[Dim!], vals[Dim!], -1, 0, 0)
	~	Dmnl
	~		|
plain max = VECTOR SELECT(sel[Dim!], vals[Dim!], -1, 9, 0)
	~	Dmnl
	~		|
nothing = VECTOR SELECT(none[Dim!], vals[Dim!], -1, 0, 0)
	~	Dmnl
	~		|
m[Row, Col] = 4, 7; 2, 6;
	~	Dmnl
	~		|
mi[Row, Col] = INVERT MATRIX(m[Row, Col], 2)
	~	Dmnl
	~		|
""",
        final_time=1,
        name="vectors",
    )
    ds = gvcdyn.load(path).run().isel(run=0)  # all constant: no time dimension
    assert float(ds["weighted sum"]) == 1 * 3 + 2 * 5
    assert float(ds["plain max"]) == 5
    assert float(ds["nothing"]) == -1
    inverse = ds["mi"].values
    np.testing.assert_allclose(inverse, np.linalg.inv([[4, 7], [2, 6]]), rtol=1e-12)


def test_logic_precedence_and_nan_in_min_max(tmp_path: Path) -> None:
    """:AND: binds before :OR: in a flat chain (as PySD evaluates it); MIN/MAX pass NaN on
    like numpy's minimum/maximum instead of hiding it."""
    path = write_mdl(
        tmp_path,
        """
a = 1
	~	Dmnl
	~		|
b = 1
	~	Dmnl
	~		|
c = 0
	~	Dmnl
	~		|
or and = IF THEN ELSE(a :OR: b :AND: c, 1, 0)
	~	Dmnl
	~		|
and or = IF THEN ELSE(c :AND: a :OR: b, 1, 0)
	~	Dmnl
	~		|
not and = IF THEN ELSE(:NOT: c :AND: a, 1, 0)
	~	Dmnl
	~		|
nan min = MIN(1, SQRT(-1))
	~	Dmnl
	~		|
""",
        final_time=1,
        name="logic",
    )
    ds = gvcdyn.load(path).run().isel(run=0)
    assert float(ds["or and"]) == 1.0
    assert float(ds["and or"]) == 1.0
    assert float(ds["not and"]) == 1.0
    assert math.isnan(float(ds["nan min"]))
