"""A reality-check file whose lever table sets one lever twice, under two spellings a
model reads as one name ("Learning Rate" and "learning rate"), is refused naming both.

``resolve_parameters`` keyed the resolved values by the lever's name, so the last
spelling won without a word: a check judged at Learning Rate = 0.9 where its file's
first line says 0.1 ('gvcdyn reality-check' exit 0 or 1 by the wrong run).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from console import assert_one_line_error, gvcdyn

import gvcdyn as library
from gvcdyn.errors import ParameterValueError
from gvcdyn.whatif.scenarios import resolve_parameters

MODEL = Path(__file__).parent / "data" / "calibration" / "toy_upgrading.mdl"

CHECKS = """
[settings]
slow = {{ {slow} }}

[[check]]
name = "slow learning keeps skill low"
conditions.a = {{ use = ["slow"] }}
expect = "compare"
left = 'a["Skill Index"] @ 5'
op = ">"
right = '-1'
"""


def test_resolve_parameters_refuses_two_spellings_of_one_lever() -> None:
    model = library.load(MODEL)
    with pytest.raises(ParameterValueError, match=r"'Learning Rate' is given twice"):
        resolve_parameters(model, {"Learning Rate": 0.1, "learning_rate": 0.9}, "f.toml")
    assert set(resolve_parameters(model, {"learning rate": 0.1}, "f.toml")) == {"Learning Rate"}


def test_the_command_refuses_a_check_file_that_sets_a_lever_twice(tmp_path) -> None:
    path = tmp_path / "twice.checks.toml"
    path.write_text(CHECKS.format(slow='"Learning Rate" = 0.1, "learning rate" = 0.9'))
    done = gvcdyn("reality-check", MODEL, path, cwd=tmp_path)
    assert_one_line_error(done, "'Learning Rate' is given twice", "'learning rate'")
    path.write_text(CHECKS.format(slow='"Learning Rate" = 0.1'))
    done = gvcdyn("reality-check", MODEL, path, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
