"""A scenario file that sets one lever twice, under two spellings Vensim reads as one name
("Shock Size" and "shock size", "Shock_Size", "Shock  Size"), is refused naming both.

TOML keeps both keys (they differ as text), and the what-if and the sensitivity base
resolved each to the lever and kept the last: ``gvcdyn run -s`` ran Shock Size = 0.9 from
a file whose first line says 0.1, exit 0. ``--set`` given twice and a --params table of
reality-check were refused already; the scenario file is now too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from console import assert_one_line_error, gvcdyn

from gvcdyn.errors import ScenarioFormatError
from gvcdyn.io.scenario_files import read_scenario

MODEL = Path(__file__).parent / "data" / "calibration" / "toy_upgrading.mdl"


@pytest.mark.parametrize("second", ["learning rate", "Learning_Rate", "Learning  Rate "])
def test_one_lever_under_two_spellings_is_refused(tmp_path, second) -> None:
    path = tmp_path / "twice.toml"
    path.write_text(f'[parameters]\n"Learning Rate" = 0.1\n"{second}" = 0.9\n')
    with pytest.raises(ScenarioFormatError, match=r"'Learning Rate'.*twice") as caught:
        read_scenario(path)
    assert repr(second) in str(caught.value) and str(path) in str(caught.value)


def test_distinct_levers_are_read_as_given(tmp_path) -> None:
    path = tmp_path / "two.toml"
    path.write_text('[parameters]\n"Learning Rate" = 0.1\n"Innovation Rate" = 0.9\n')
    assert dict(read_scenario(path).parameters) == {"Learning Rate": 0.1, "Innovation Rate": 0.9}


@pytest.mark.parametrize(
    "command",
    [["run"], ["sensitivity", "--vars", "Skill Index", "--params", "Innovation Rate", "--n", "4"]],
)
def test_the_commands_refuse_it_in_one_line(tmp_path, command) -> None:
    path = tmp_path / "twice.toml"
    path.write_text('[parameters]\n"Learning Rate" = 0.1\n"learning rate" = 0.9\n')
    done = gvcdyn(command[0], MODEL, "-s", path, *command[1:], cwd=tmp_path)
    assert_one_line_error(done, "twice.toml", "'Learning Rate'", "twice")
