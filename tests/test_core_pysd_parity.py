"""Differential test: gvcdyn against PySD on random parameter sets (Euler, rtol 1e-9).

For each model, parameter sets are drawn as defaults x U(0.5, 1.5) from a seeded RNG.
gvcdyn runs all sets in one batch; PySD (on a copy of the model in a temporary folder,
since ``read_vensim`` writes a ``.py`` next to the ``.mdl``) runs them one at a time,
with every varied constant passed on every run. Every variable both report is compared
at every saved time.
"""

from __future__ import annotations

import shutil
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from conftest import BENCH_MODEL, sd_test_models_dir
from mdl_helpers import write_mdl

import gvcdyn
from gvcdyn.io.reference import dataset_columns, normalize_name

pysd = pytest.importorskip("pysd")

RTOL = 1e-9
ATOL_SCALE = 1e-12
N_RUNS = 3
BENCH = BENCH_MODEL

# A lookup-driven model: named and inline tables whose arguments leave the x range, so
# the end-value rule is exercised, and whose arguments depend on the varied parameters.
LOOKUP_MODEL = """
demand table(
	[(0,0)-(4,2)],(0,0.2),(1,0.5),(2,1),(3,1.6),(4,1.8))
	~	Dmnl
	~	Demand multiplier by relative price.
	|
price = INTEG(price change, initial price)
	~	Dollars
	~		|
initial price = 1.5
	~	Dollars
	~		|
reference price = 1
	~	Dollars
	~		|
price change = (cost * markup - price) / adjustment time
	~	Dollars/Month
	~		|
cost = 2 + RAMP(cost growth, 5, 30)
	~	Dollars
	~		|
cost growth = 0.1
	~	Dollars/Month
	~		|
markup = 1.2
	~	Dmnl
	~		|
adjustment time = 3
	~	Month
	~		|
demand = base demand * demand table(price / reference price)
	~	Widgets/Month
	~		|
base demand = 100
	~	Widgets/Month
	~		|
elasticity = WITH LOOKUP(price - reference price, ((-1,2),(0,1),(1,0.6),(2,0.5)))
	~	Dmnl
	~		|
sales = INTEG(demand * elasticity, 0)
	~	Widgets
	~		|
"""


def _suite_model(folder: str, file: str) -> Path:
    return sd_test_models_dir() / folder / file


CASES: dict[str, Path | None] = {
    "SIR": _suite_model("SIR", "SIR.mdl"),
    "teacup": _suite_model("teacup", "teacup.mdl"),
    "smooth": _suite_model("smooth", "test_smooth.mdl"),
    "delays": _suite_model("delays", "test_delays.mdl"),
    "lookups_funcnames": _suite_model("lookups_funcnames", "test_lookups_funcnames.mdl"),
    "subscript_1d_arrays": _suite_model("subscript_1d_arrays", "test_subscript_1d_arrays.mdl"),
    "subscripted_smooth": _suite_model("subscripted_smooth", "test_subscripted_smooth.mdl"),
    "lookup_driven": None,  # written by the test
    "gvc_like": BENCH,
}
SLOW = {"gvc_like", "subscripted_smooth"}  # ~10 s each on a cold kernel cache


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _copy_model(name: str, tmp_path: Path) -> Path:
    """The model in a private folder (never run PySD on the shared tree)."""
    source = CASES[name]
    if source is None:
        return write_mdl(tmp_path, LOOKUP_MODEL, final_time=40, time_step=0.25, name=name)
    if not source.is_file():
        pytest.skip(f"model not found: {source}")
    target = tmp_path / source.name
    shutil.copyfile(source, target)
    return target


def _draw(model: gvcdyn.Model, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """defaults x U(0.5, 1.5) for every non-structural parameter, clipped to its range."""
    params: dict[str, np.ndarray] = {}
    for p in model.parameters:
        if p.variable in model.ir.structural:
            continue
        values = p.default * rng.uniform(0.5, 1.5, N_RUNS)
        if p.default == 0:
            values = rng.uniform(-1.0, 1.0, N_RUNS)
        lo = -np.inf if p.minimum is None else p.minimum
        hi = np.inf if p.maximum is None else p.maximum
        params[p.name] = np.clip(values, lo, hi)
    return params


def _pysd_params(ds: xr.Dataset, model: gvcdyn.Model, run: int) -> dict[str, object]:
    """Run ``run``'s constants in PySD's form: floats, or DataArrays for subscripted ones."""
    out: dict[str, object] = {}
    for var in {p.variable for p in model.parameters if p.variable not in model.ir.structural}:
        value = ds[var].isel(run=run, drop=True)
        out[var] = float(value) if value.ndim == 0 else value.copy(deep=True)
    return out


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in CASES],
)
def test_random_parameter_sets_match_pysd(name: str, tmp_path: Path) -> None:
    """Every shared variable at every time agrees with PySD to rtol 1e-9, per run."""
    path = _copy_model(name, tmp_path)
    model = gvcdyn.load(path)
    rng = np.random.default_rng(zlib.crc32(name.encode()))  # stable seed per model
    params = _draw(model, rng)
    assert params, f"{name}: no parameters to vary"
    ds = model.run(params, method="euler")
    assert ds["status"].values.tolist() == [0] * N_RUNS

    pysd_model = pysd.read_vensim(str(path))
    checked = 0
    for run in range(N_RUNS):
        given = _pysd_params(ds, model, run)
        ref = pysd_model.run(params=given)
        time, ours = dataset_columns(ds, run=run)
        np.testing.assert_array_equal(time, ref.index.to_numpy(dtype=float))
        theirs = {normalize_name(str(c)): c for c in ref.columns}
        missing = [c for c in ours if normalize_name(c) not in theirs]
        assert not missing, f"{name}: gvcdyn columns PySD does not report: {missing}"
        for column, values in ours.items():
            expected = ref[theirs[normalize_name(column)]].to_numpy(dtype=float)
            # values that cancel to ~0 (a sum of +/- lookup values) differ by rounding
            # only: an absolute floor of 1e-12 times the column's magnitude
            floor = ATOL_SCALE * float(np.nanmax(np.abs(expected), initial=0.0))
            np.testing.assert_allclose(
                values,
                expected,
                rtol=RTOL,
                atol=floor,
                err_msg=f"{name} run {run} column {column!r} params {given}",
            )
            checked += 1
    # the parameter sets are really different, so the comparison is not of one run thrice
    varied = [p for p in params.values() if np.ptp(p) > 0]
    assert varied
    assert checked >= N_RUNS
