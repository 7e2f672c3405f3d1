"""A one-function kernel saving only state cells runs its ``_states`` variant (issue 21).

``simulate_<method>_states`` stores the stocks, controls and constants at the start of a
saved step instead of every cell after the step's equations (``codegen.state_cells``
says why); ``batch_<method>`` (``rt.SavedCellsBatch``) runs it when every selected cell
is one of those. What it saves must be bitwise what the kernel that stores every cell
saves, for every run: ones that end normally, one whose stock overflows (stopped early,
the rows after it NaN), one with an infinite constant (a non-finite output) and one
with an infinite initial stock (saved, then stopped after the first step). The
``_states`` kernel checks the stocks at saved rows only (``codegen._checks_at_saved_rows``),
so that the runs that stop between saved rows, or have no step at all, are the test.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
from mdl_helpers import write_mdl

import gvcdyn
from gvcdyn.backend import codegen
from gvcdyn.backend.compiler import load_kernel_module
from gvcdyn.backend.kernel import Kernel
from gvcdyn.status import NONFINITE_OUTPUT, NONFINITE_STATE, OK

EQUATIONS = """
x = INTEG(growth - decay, 1)
	~	Units
	~		|
y = INTEG(x * rate, y0)
	~	Units
	~		|
growth = g * x * effect(x / cap) + EXP(-Time / 5)
	~	Units/Month
	~		|
decay = x ^ power / 10
	~	Units/Month
	~		|
report = x + y
	~	Units
	~	TAG	|
effect(
	[(0,0)-(4,2)],(0,1.5),(1,1),(2,0.6),(4,0.2))
	~	Dmnl
	~		|
g = 0.3
	~	1/Month
	~		|
cap = 10
	~	Units
	~		|
rate = 0.1
	~	1/Month
	~		|
power = 1.5
	~	Dmnl
	~		|
y0 = 0
	~	Units
	~		|
"""


@pytest.fixture
def model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> gvcdyn.Model:
    """A model no other test loaded: its kernels are compiled (and run) here only."""
    monkeypatch.setenv("GVCDYN_CACHE_DIR", str(tmp_path / "cache"))
    equations = EQUATIONS.replace("TAG", uuid.uuid4().hex)
    return gvcdyn.load(write_mdl(tmp_path, equations, 12.0, 0.25, 1.0))


def _matrix(model: gvcdyn.Model) -> np.ndarray:
    rng = np.random.default_rng(21)
    matrix = np.tile(model.defaults(), (40, 1))
    for name, low, high in (("g", 0.05, 2.0), ("cap", 2.0, 20.0), ("power", 0.5, 2.5)):
        matrix[:, model.parameter(name).column] = rng.uniform(low, high, len(matrix))
    matrix[0, model.parameter("g").column] = 1e9  # x overflows: the run stops early
    matrix[0, model.parameter("power").column] = 0.5
    matrix[1, model.parameter("cap").column] = np.inf  # a non-finite saved value only
    matrix[2, model.parameter("y0").column] = np.inf  # a stock infinite from the start
    return matrix


def _columns(model: gvcdyn.Model, states: bool) -> np.ndarray:
    cells = model.cells()
    chosen = ["x", "y", "g", "cap"] if states else ["x", "report", "growth", "cap"]
    return np.array([cells.index(c) for c in chosen], dtype=np.int64)


@pytest.mark.parametrize("method", codegen.METHODS)
@pytest.mark.parametrize("states", [True, False], ids=["state cells", "with others"])
@pytest.mark.parametrize("final_time", [12.0, 0.0], ids=["steps", "no step"])
def test_saved_values_equal_those_of_the_kernel_storing_every_cell(
    model: gvcdyn.Model,
    method: str,
    states: bool,
    final_time: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    matrix = _matrix(model)
    grid = model.grid(matrix[:1], final_time=final_time)
    columns = _columns(model, states)
    source = codegen.generate(model.ir, split=False)
    assert f"def batch_{method}_states(" in source
    values, status = Kernel(source, method).run(matrix, grid, columns)
    batch = getattr(load_kernel_module(source), f"batch_{method}")
    ran, idle = (batch.states, batch.every) if states else (batch.every, batch.states)
    assert len(ran.signatures) == 1 and not idle.signatures  # the variant chosen ran

    monkeypatch.setattr(codegen, "STATES_KERNELS", False)
    plain = codegen.generate(model.ir, split=False)
    assert "_states" not in plain
    expected, expected_status = Kernel(plain, method).run(matrix, grid, columns)
    assert np.array_equal(values.view(np.uint64), expected.view(np.uint64))
    assert np.array_equal(status, expected_status)
    if final_time == 0.0:  # one saved row, no step: no stock is checked
        assert values.shape[1] == 1
        assert list(status[:3]) == [OK, NONFINITE_OUTPUT, NONFINITE_OUTPUT]
    else:
        assert status[0] == NONFINITE_STATE and np.isnan(values[0, -1]).all()
        assert status[1] == NONFINITE_OUTPUT
        assert status[2] == NONFINITE_STATE and np.isinf(values[2, 0, 1])
        assert np.isnan(values[2, 1:]).all()
    assert (status[3:] == OK).all()


def test_no_states_kernel_for_a_model_that_draws(tmp_path: Path) -> None:
    """Computing fewer equations would take fewer draws, and so change later ones."""
    drawn = EQUATIONS.replace("EXP(-Time / 5)", "RANDOM UNIFORM(0, 1, 0)")
    ir = gvcdyn.load(write_mdl(tmp_path, drawn, 12.0, 0.25, 1.0)).ir
    assert codegen.state_cells(ir) is None
    assert "_states" not in codegen.generate(ir, split=False)


def test_stats_count_both_kernels(model: gvcdyn.Model) -> None:
    """``stats`` (cache hits and misses, read by tests and tools) sees a run of either."""
    matrix = _matrix(model)[2:4]
    model.simulate(matrix, columns=_columns(model, states=True), checked=True)
    stats = model.kernel("euler").stats
    assert sum(stats.cache_hits.values()) + sum(stats.cache_misses.values()) == 1
