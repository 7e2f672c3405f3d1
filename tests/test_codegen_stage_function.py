"""Runge-Kutta stages call one generated function instead of repeating the equations
(issue 21: a cold build of the GVC model at rk23 compiled its equations four times).

The stage function must compute exactly what the inline stages computed: runs are
compared bitwise with the inline kernel (``codegen.STAGE_FUNCTIONS = False``) over many
parameter rows, on a model with what a stage reads from elsewhere: a stock no equation
reads (its value is not passed), a constant auxiliary and an INITIAL value (the run's
constants), a lookup, STEP and PULSE (time and TIME STEP), and a kink (MAX). RK4 keeps
its stages inline (with the calls its runs were 15-20% slower).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mdl_helpers import write_mdl

import gvcdyn
from gvcdyn.backend import adaptive, codegen
from gvcdyn.backend.compiler import load_kernel_module
from gvcdyn.backend.kernel import Kernel
from gvcdyn.model import Model

EQUATIONS = """
stock = INTEG(inflow - outflow, 10)
	~	Units
	~		|
gone = INTEG(outflow, 0)
	~	Units
	~		|
inflow = base * effect(stock / start) + STEP(bump, 3) + PULSE(2, 1.5)
	~	Units/Month
	~		|
outflow = MAX(0, stock - floor) / tau
	~	Units/Month
	~		|
start = INITIAL(stock)
	~	Units
	~		|
floor = base * tau / 2
	~	Units
	~		|
effect(
	[(0,0)-(4,2)],(0,1.5),(1,1),(2,0.6),(4,0.2))
	~	Dmnl
	~		|
base = 2
	~	Units/Month [0.5, 4]
	~		|
bump = 0.5
	~	Units/Month [0, 2]
	~		|
tau = 1.5
	~	Month [0.3, 5]
	~		|
"""
# method: (stage function calls, inline evaluations of an equation in the module)
METHODS = {"rk23": (4, 4), "rk45:1e-6": (7, 7)}


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Model:
    path = write_mdl(tmp_path_factory.mktemp("stage_function"), EQUATIONS, 12.0, 0.25, 0.5)
    return gvcdyn.load(path)


def _source(model: Model, method: str, stage_functions: bool, patch: pytest.MonkeyPatch) -> str:
    with patch.context() as inside:
        inside.setattr(codegen, "STAGE_FUNCTIONS", stage_functions)
        return adaptive.generate(model.ir, method)


@pytest.mark.parametrize("method", METHODS)
def test_each_equation_is_generated_once(
    model: Model, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls, evaluations = METHODS[method]
    source = _source(model, method, True, monkeypatch)
    name = method.partition(":")[0]
    for local in ("inflow", "outflow"):
        assert source.count(f"\n    {local} = ") == 1  # in the stage function
    assert source.count(f"_stage_{name}(_kp, ") == 1 + calls  # its def, its calls
    inline = _source(model, method, False, monkeypatch)
    assert "_stage_" not in inline
    assert inline.count(" inflow = ") == evaluations


def test_rk4_keeps_its_stages_inline(model: Model) -> None:
    """Euler's and RK4's module calls no stage function: 1 + 4 evaluations inline, in
    the kernels and in their variants that save state cells only."""
    source = codegen.generate(model.ir, split=False)
    assert "_stage_" not in source
    assert "def batch_rk4_states(" in source
    assert source.count(" inflow = ") == 2 * (1 + 4)


@pytest.mark.parametrize("method", METHODS)
def test_stage_function_gives_bitwise_equal_runs(
    model: Model, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(21)
    matrix = np.tile(model.defaults(), (64, 1))
    for name in ("base", "bump", "tau"):
        p = model.parameter(name)
        matrix[:, p.column] = rng.uniform(p.minimum, p.maximum, len(matrix))
    grid = model.grid(matrix[:1])
    columns = np.arange(len(model.cells()), dtype=np.int64)
    runs = []
    for stage_functions in (False, True):
        kernel = Kernel(_source(model, method, stage_functions, monkeypatch), method)
        runs.append(kernel.run(matrix, grid, columns))
    (inline, inline_status), (called, called_status) = runs
    assert np.isfinite(inline).all() and (inline_status == 0).all()
    assert np.array_equal(inline.view(np.uint64), called.view(np.uint64))
    assert np.array_equal(inline_status, called_status)


def test_the_stage_function_is_compiled_once(
    model: Model, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Its calls pass the same types: a flag argument passed as True and False made
    numba compile it three times (once per literal, once for a boolean)."""
    monkeypatch.setenv("GVCDYN_CACHE_DIR", str(tmp_path))  # compiled here, not loaded
    method = "rk23:2e-5"  # a kernel no other test loads into this process
    source = _source(model, method, True, monkeypatch)
    row = model.defaults()[None, :]
    Kernel(source, method).run(row, model.grid(row), np.arange(3, dtype=np.int64))
    assert len(load_kernel_module(source)._stage_rk23.signatures) == 1
