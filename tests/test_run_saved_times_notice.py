"""``gvcdyn run --time-step`` that does not divide SAVEPER, or overshoots FINAL TIME.

A value is saved where a step lands on SAVEPER's grid and the last step may end past
FINAL TIME (PySD's rule): ``--time-step 0.3`` under SAVEPER 1 saved every 3 time units
(0, 3, ..., 9 of a run to 10), and ``--time-step 100`` a single step to time 100, whose
values the summary called "final values at time 100" under FINAL TIME 10; without a
word either way. The run says so now, and how to get SAVEPER's grid; a step that
divides SAVEPER and the run's length runs as before, without it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from console import gvcdyn
from mdl_helpers import write_mdl

import gvcdyn as gd

MODEL = """
Stock = INTEG(inflow, 1)
	~	units
	~		|
inflow = 0.1 * Stock
	~	units/Month
	~		|
"""


@pytest.fixture
def mdl(tmp_path: Path) -> Path:
    return write_mdl(tmp_path, MODEL, final_time=10, time_step=0.25, saveper=1)


@pytest.mark.parametrize(
    ("step", "said"),
    [
        ("0.3", "TIME STEP 0.3 does not divide SAVEPER 1: values are saved at 0, 3, 6, 9 "),
        ("100", "TIME STEP 100 does not divide SAVEPER 1: values are saved at 0, 100 "),
    ],
    ids=["shorter", "longer than the run"],
)
def test_the_run_says_its_saved_times_are_not_saveper_s(mdl: Path, step: str, said: str) -> None:
    result = gvcdyn("run", mdl, "--time-step", step, "--integration", "euler", cwd=mdl.parent)
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warning) == 1 and said in warning[0], result.stderr
    assert "not every 1 from 0 to FINAL TIME 10" in warning[0]


def test_a_step_that_divides_saveper_runs_without_a_word(mdl: Path) -> None:
    result = gvcdyn("run", mdl, "--time-step", "0.5", cwd=mdl.parent)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr


def test_the_library_warns_alike(mdl: Path) -> None:
    with pytest.warns(UserWarning, match="does not divide SAVEPER 1"):
        ds = gd.what_if(mdl, time_step=0.3, method="euler")
    assert ds["time"].values.tolist() == pytest.approx([0, 3, 6, 9])
