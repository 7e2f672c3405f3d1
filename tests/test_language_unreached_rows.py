"""The kernel writes every cell of its output: NaN in the saved rows a run never reaches.

A run stops early when a stock becomes non-finite, or when a FINAL TIME that depends on
time ends it before the grid's last row. The caller allocates the output without filling
it, so the kernel itself must write those rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mdl_helpers import write_mdl

import gvcdyn

OVERFLOW = """
x = INTEG(IF THEN ELSE(Time >= blow up time, 1e308 * 10, 0), 1)
	~	Widgets
	~	Constant until the flow becomes infinite at the blow-up time.
	|
blow up time = 4
	~	Month [0,20]
	~		|
"""

DYNAMIC_FINAL_TIME = """{UTF-8}
y = INTEG(1, 0)
	~	Widgets
	~		|
FINAL TIME = IF THEN ELSE(Time >= 3, 3, 10)
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


# last time reached: Euler's step from t=4 reads the infinite flow at t=4; RK4's step
# from t=3 already reads it in its last stage (at t=4)
@pytest.mark.parametrize(("method", "last_reached"), [("euler", 4.0), ("rk4", 3.0)])
def test_overflowing_stock_leaves_nan_rows(tmp_path: Path, method: str, last_reached: float):
    model = gvcdyn.load(write_mdl(tmp_path, OVERFLOW, final_time=10, name="overflow"))
    # two runs: blow-up at t=4, and never (after the final time)
    matrix = np.array([[4.0], [20.0]])
    raw = model.simulate(matrix, method=method)
    times = raw.grid.save_times
    x = raw.values[:, :, raw.columns.index("x")]
    assert raw.status[0] != 0 and raw.status[1] == 0
    assert np.all(x[0, times <= last_reached] == 1.0)
    assert np.all(np.isnan(x[0, times > last_reached]))  # rows the first run never reached
    assert np.all(x[1] == 1.0)


def test_dynamic_final_time_leaves_nan_rows(tmp_path: Path) -> None:
    path = tmp_path / "dynamic_final.mdl"
    path.write_text(DYNAMIC_FINAL_TIME, encoding="utf-8")
    model = gvcdyn.load(path)
    raw = model.simulate(model.parameter_matrix())
    times = raw.grid.save_times
    assert times.tolist() == [float(t) for t in range(11)]  # the grid runs to 10
    y = raw.values[0, :, raw.columns.index("y")]
    assert y[times <= 3].tolist() == [0.0, 1.0, 2.0, 3.0]  # y = t
    assert np.all(np.isnan(y[times > 3]))  # the run ended at t = 3


def test_kernel_overwrites_every_cell(tmp_path: Path) -> None:
    """The batch function itself writes NaN over whatever the output array held."""
    model = gvcdyn.load(write_mdl(tmp_path, OVERFLOW, final_time=10, name="overflow"))
    matrix = np.array([[4.0], [20.0]])
    grid = model.grid(matrix)
    columns = np.arange(len(model.simulate(matrix).columns), dtype=np.int64)
    out = np.full((2, len(grid.save_times), len(columns)), 7.0)  # a sentinel, not NaN
    status = np.zeros(2, dtype=np.int64)
    gvcdyn.backend.kernel.Kernel(model.source, "euler").run_into(out, status, matrix, grid, columns)
    assert not np.any(out == 7.0)
    assert np.all(np.isnan(out[0, grid.save_times > 4]))
