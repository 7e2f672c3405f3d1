"""RK4 computes what depends on time alone once per distinct time (issue 21).

RK4's second and third stages are at the same time, and its fourth stage at the next
step's first time, so a shock's onset, a growth factor EXP(g * Time), a STEP, RAMP,
PULSE or a lookup of Time need not be recomputed there. The kernel that shares them
must compute exactly what the kernel computing them at every stage computes: results
are compared bitwise over many parameter rows, and the Euler kernel's source must not
change at all.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from mdl_helpers import write_mdl

import gvcdyn
from gvcdyn.backend import codegen
from gvcdyn.model import Model

EQUATIONS = """
x = INTEG(growth * x * (1 - onset) - x * STEP(0.3, 4.3) + pulse in, 1)
	~	Units
	~		|
y = INTEG(demand - y / tau, 0)
	~	Units
	~		|
onset = IF THEN ELSE(Time >= shock year, 1 - EXP((shock year - Time) / onset time), 0)
	~	Dmnl
	~		|
demand = base * EXP(g * Time) * x ^ elasticity + profile(Time) * MAX(0, 1 - y)
	~	Units/Month
	~		|
pulse in = PULSE(2.1, 0.7) + RAMP(0.5, 3, 6) * onset
	~	Units/Month
	~		|
profile(
	[(0,0)-(10,1)],(0,0),(5,1),(10,0.5))
	~	Dmnl
	~		|
shock year = 3.3
	~	Month [0, 9]
	~		|
onset time = 0.2
	~	Month [0.05, 3]
	~		|
growth = 0.05
	~	1/Month [-0.2, 0.2]
	~		|
g = 0.03
	~	1/Month [-0.1, 0.1]
	~		|
base = 2
	~	Units/Month [0.5, 4]
	~		|
elasticity = 0.7
	~	Dmnl [0.1, 2]
	~		|
tau = 1.5
	~	Month [0.3, 5]
	~		|
"""


def _variant(model: Model, shared: bool, monkeypatch: pytest.MonkeyPatch) -> Model:
    """``model`` with its RK4 kernel sharing time-only values, or not."""
    with monkeypatch.context() as patch:
        patch.setattr(codegen, "SHARE_TIME_VALUES", shared)
        source = codegen.generate(model.ir, split=False)
    variant = Model.__new__(Model)
    variant.__setstate__({"ir": model.ir, "path": model.path, "source": source})
    return variant


def _function(source: str, name: str) -> str:
    start = source.index(f"def {name}(")
    end = source.find("\n@njit", start)
    return source[start : end if end >= 0 else len(source)]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Model:
    path = write_mdl(
        tmp_path_factory.mktemp("rk4_time_values"), EQUATIONS, final_time=10.0, time_step=0.25
    )
    return gvcdyn.load(path)


def test_time_only_values_are_computed_twice_per_step(
    model: Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    every_stage = _variant(model, False, monkeypatch).source
    shared = _variant(model, True, monkeypatch).source
    # the onset's and the growth factor's EXP: at step 0, in stages 2 and 4 (was: at the
    # step's start and in stages 2, 3 and 4)
    assert _function(every_stage, "batch_rk4").count("np.exp(") == 2 * 4
    assert _function(shared, "batch_rk4").count("np.exp(") == 2 * 3
    assert re.search(r"tt_0 = \(.*np\.exp\(\(g \* time_s\)\)", _function(shared, "batch_rk4"))
    assert _function(shared, "batch_euler") == _function(every_stage, "batch_euler")


@pytest.mark.parametrize("time_step", [0.25, 0.125, 0.1])
def test_shared_values_give_bitwise_equal_runs(
    model: Model, monkeypatch: pytest.MonkeyPatch, time_step: float
) -> None:
    rng = np.random.default_rng(21)
    table = model.parameter_table().set_index("name")
    params = {
        name: rng.uniform(table.loc[name, "min"], table.loc[name, "max"], 64)
        for name in ("shock year", "onset time", "growth", "g", "base", "elasticity", "tau")
    }
    every_stage = _variant(model, False, monkeypatch)
    shared = _variant(model, True, monkeypatch)
    a = every_stage.run(params, method="rk4", time_step=time_step)
    b = shared.run(params, method="rk4", time_step=time_step)
    for name in ("x", "y", "onset", "demand", "pulse in"):
        assert np.isfinite(a[name].values).all()
        assert np.array_equal(a[name].values.view(np.uint64), b[name].values.view(np.uint64))


RATE_ONLY = """
z = INTEG(IF THEN ELSE(Time >= start, EXP(Time / 5), 0), 0)
	~	Units
	~		|
start = 2.3
	~	Month [0, 8]
	~		|
"""


def test_a_time_only_rate_without_auxiliaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the unreached-rows test: with no dynamic equation, the shared rate was
    computed at step 0 only (two empty tuples are the same object)."""
    model = gvcdyn.load(write_mdl(tmp_path, RATE_ONLY, final_time=10.0, time_step=0.25))
    starts = {"start": np.linspace(0.0, 8.0, 17)}
    a = _variant(model, False, monkeypatch).run(starts, method="rk4")
    b = _variant(model, True, monkeypatch).run(starts, method="rk4")
    assert np.array_equal(a["z"].values.view(np.uint64), b["z"].values.view(np.uint64))
    assert a["z"].values[:, -1].min() > 0
