"""A check no value can meet is refused as the file is read, not reported as a failure.

``in_range`` took ``[5, 1]`` and ``[nan, 100]``, and ``bound`` took ``min = 5, max = 1``
or ``above = 1, below = 1``: each check then failed at every run, read as the model
breaking a stated behaviour when the file was wrong.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import gvcdyn
from gvcdyn.checks import read_checks
from gvcdyn.errors import RealityCheckError

ISHIGAMI = Path(__file__).parent / "models" / "ishigami.mdl"
BOUND = '[[check]]\nname = "b"\nexpect = "bound"\noutcome = "Ishigami"\nat = 4\n'
IN_RANGE = '[[check]]\nname = "r"\nexpect = "in_range"\n'


@pytest.fixture(scope="module")
def model():
    return gvcdyn.load(ISHIGAMI)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (BOUND + "min = 5\nmax = 1\n", "min = 5 and max = 1 leave no value"),
        (BOUND + "above = 1\nbelow = 1\n", "above = 1 and below = 1 leave no value"),
        (BOUND + "min = 2\nbelow = 2\n", "min = 2 and below = 2 leave no value"),
        (IN_RANGE + "ranges = { Ishigami = [5, 1] }\n", "[5, 1] has lo > hi"),
        (IN_RANGE + "ranges = { Ishigami = [nan, 100] }\n", "not nan"),
    ],
    ids=["min-max", "above-below", "min-below", "in-range-reversed", "in-range-nan"],
)
def test_a_check_no_value_meets_is_refused(model, tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "checks.toml"
    path.write_text(text)
    with pytest.raises(RealityCheckError, match=r"checks\.toml: check '[br]'") as caught:
        read_checks(path, model)
    assert says in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        BOUND + "min = 0\nmax = 0\n",
        IN_RANGE + "ranges = { Ishigami = [-inf, inf] }\n",
        IN_RANGE + "ranges = { Ishigami = [0, 0] }\n",
    ],
    ids=["equal-inclusive", "infinite", "one-value"],
)
def test_bounds_a_value_can_meet_are_read(model, tmp_path: Path, text: str) -> None:
    path = tmp_path / "checks.toml"
    path.write_text(text)
    assert len(read_checks(path, model).checks) == 1
