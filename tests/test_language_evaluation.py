"""Values computed before the run use the kernel's semantics and fail with clear errors.

Two things are evaluated in Python, by ``gvcdyn.language.interpret``: the simulation controls, and
the order of SMOOTH N / DELAY N (it fixes the number of internal stocks). Both must read
an expression the way the kernel does (``-2^2`` is -4, ``2^3^2`` is 512), and a numeric
edge case (``x^0.5`` with ``x < 0``) is a NaN that gets a named error, not a traceback.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mdl_helpers import write_mdl

import gvcdyn
from gvcdyn.errors import GvcdynError, ModelStructureError, SimulationSettingsError

SMOOTHS = """
input = 1 + STEP(1, 2)
	~	Dmnl
	~		|
by order = SMOOTH N(input, 2, 0, order)
	~	Dmnl
	~		|
order = INTEGER(-a^2 + a^3^2 / 128 + 3)
	~	Dmnl
	~	-(2^2) + 2^(3^2)/128 + 3 = -4 + 4 + 3 = 3, as the kernel reads it.
	|
a = 2
	~	Dmnl [0,10]
	~		|
third order = SMOOTH3I(input, 2, 0)
	~	Dmnl
	~		|
"""


def test_order_is_read_like_the_kernel(tmp_path: Path) -> None:
    """The order expression is evaluated with the kernel's precedence: SMOOTH N of order 3
    equals SMOOTH3I at every saved time (another reading of ``^`` gives another order)."""
    model = gvcdyn.load(write_mdl(tmp_path, SMOOTHS, final_time=8, time_step=0.25))
    ds = model.run().isel(run=0)
    np.testing.assert_array_equal(ds["by order"].values, ds["third order"].values)
    assert float(np.ravel(ds["order"].values)[0]) == 3.0
    assert model.ir.structural == ("a",)  # the order's constants cannot vary per run


NEGATIVE_ROOT_ORDER = """
x = -4
	~	Dmnl
	~		|
y = SMOOTH N(1, 2, 0, x^0.5)
	~	Dmnl
	~		|
"""


def test_nan_order_is_a_named_error(tmp_path: Path) -> None:
    with pytest.raises(ModelStructureError, match="order of SMOOTH N evaluates to nan"):
        gvcdyn.load(write_mdl(tmp_path, NEGATIVE_ROOT_ORDER))


NEGATIVE_ROOT_CONTROL = """{UTF-8}
x = -4
	~	Dmnl [-10,10]
	~		|
y = INTEG(1, 0)
	~	Dmnl
	~		|
FINAL TIME = 10 + x^0.5
	~	Month
	~		|
INITIAL TIME = 0
	~	Month
	~		|
SAVEPER = 1
	~	Month
	~		|
TIME STEP = 1
	~	Month
	~		|
"""


def test_nan_control_is_a_named_error(tmp_path: Path) -> None:
    """FINAL TIME = 10 + (-4)^0.5 is NaN (as the kernel would compute it): a settings error
    naming FINAL TIME, where Python's ``**`` used to give a complex number and a TypeError."""
    path = tmp_path / "control.mdl"
    path.write_text(NEGATIVE_ROOT_CONTROL, encoding="utf-8")
    model = gvcdyn.load(path)
    with pytest.raises(SimulationSettingsError, match="FINAL TIME must be a finite number"):
        model.run()
    ds = model.run({"x": 4.0})  # 10 + 2
    assert float(ds["time"].values[-1]) == 12.0
    assert issubclass(SimulationSettingsError, GvcdynError)
