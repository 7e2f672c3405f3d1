"""A check's time that another ``time_step`` leaves off the saved grid names the check.

The file is read against the model's own saved times; ``--time-step`` can move them
(ishigami at 0.3 saves 0 and 3), and the first check evaluated after all the runs then
failed with "time 4 ... is not a saved time", naming neither the file nor the check.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import gvcdyn
from gvcdyn.checks import reality_check
from gvcdyn.errors import RealityCheckError

ISHIGAMI = Path(__file__).parent / "models" / "ishigami.mdl"
CHECKS = (
    '[[check]]\nname = "early"\nexpect = "sign"\noutcome = "Ishigami"\nat = 0\n'
    'sign = "negative"\ntolerance = 1\n'
    '[[check]]\nname = "late"\nexpect = "sign"\noutcome = "Accumulated Ishigami"\nat = 4\n'
    'sign = "positive"\n'
)


def test_the_check_whose_time_is_gone_is_named_before_the_runs(tmp_path: Path) -> None:
    model = gvcdyn.load(ISHIGAMI)
    path = tmp_path / "checks.toml"
    path.write_text(CHECKS)
    with pytest.raises(RealityCheckError) as caught:
        reality_check(model, path, time_step=0.3)
    assert str(caught.value).startswith(f"{path}: check 'late': time 4 ")


def test_a_time_step_that_keeps_the_times_runs(tmp_path: Path) -> None:
    path = tmp_path / "checks.toml"
    path.write_text(CHECKS)
    ds = reality_check(gvcdyn.load(ISHIGAMI), path, time_step=0.25)
    assert list(ds.check.values) == ["early", "late"]
