"""Errors carry their file, variable and hint as fields set where they are known; the
message (``args``) is never rewritten after the fact (issue 18), and ``str`` is the one
line the command line prints."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from mdl_helpers import write_mdl

import gvcdyn
from gvcdyn.cli.common import data_files
from gvcdyn.errors import (
    DataFileRequiredError,
    GvcdynError,
    ModelStructureError,
    ParameterValueError,
    ScenarioFileError,
    ScenarioFormatError,
    SimulationSettingsError,
)
from gvcdyn.io.scenario_files import read_scenario

#: two auxiliaries that read each other: scheduling refuses the loop, not knowing the file
LOOP = """
a = b + 1
\t~\t\t~\t\t|
b = a * 2
\t~\t\t~\t\t|
"""


def test_a_model_error_is_told_its_file_without_rewriting_its_message(tmp_path: Path) -> None:
    path = write_mdl(tmp_path, LOOP)
    with pytest.raises(ModelStructureError) as info:
        gvcdyn.load(path)
    error = info.value
    assert error.file == str(path)
    assert error.args == (error.message,)
    assert "loop" in error.message and str(path) not in error.message  # as raised
    assert str(error) == f"{path}: {error.message}"  # the one line names the file


def test_fields_make_the_one_line_and_survive_pickling() -> None:
    error = ParameterValueError("bad value", file="/m/model.mdl", variable="k", hint="fix it")
    assert str(error) == "/m/model.mdl: bad value; fix it"
    assert error.args == ("bad value",)
    again = pickle.loads(pickle.dumps(error))
    assert (str(again), again.file, again.variable, again.hint) == (
        str(error),
        "/m/model.mdl",
        "k",
        "fix it",
    )
    named = ParameterValueError("model.mdl: line 3 is wrong", file="/m/model.mdl")
    assert str(named) == "model.mdl: line 3 is wrong"  # the message names the file already
    assert GvcdynError("x").at(file="a.mdl").at(file="b.mdl").file == "a.mdl"  # first wins


def test_the_command_line_advises_its_option_for_a_data_file() -> None:
    """``--data FILE`` replaces the library's advice as the hint; the message is kept."""
    library = DataFileRequiredError("demand data")
    assert "gvcdyn.load(model, data_files=[...])" in str(library)
    with pytest.raises(DataFileRequiredError) as info, data_files([]):
        raise DataFileRequiredError("demand data")
    error = info.value
    assert error.args == library.args
    assert error.variable == "demand data"
    assert str(error).endswith("; pass that file with --data FILE")
    assert "gvcdyn.load" not in str(error)
    assert str(pickle.loads(pickle.dumps(library))) == str(library)


def test_a_horizon_error_names_the_parameters_in_a_new_error(tmp_path: Path) -> None:
    """The grid names the parameters a bad control reads in a new error of the same class,
    chained to the one the grid raised (whose message is left as it was)."""
    text = "horizon = 10\n\t~\tMonth\n\t~\t\t|\nx = INTEG(1, 0)\n\t~\tWidgets\n\t~\t\t|\n"
    path = write_mdl(tmp_path, text)
    path.write_text(path.read_text().replace("FINAL TIME  = 10.0", "FINAL TIME  = horizon"))
    model = gvcdyn.load(path)
    matrix = model.defaults()[None, :]
    matrix[0, model.parameter("horizon").column] = np.nan
    with pytest.raises(SimulationSettingsError) as info:
        model.grid(matrix)
    error = info.value
    assert "'horizon' = nan" in str(error)
    cause = error.__cause__
    assert isinstance(cause, SimulationSettingsError)
    assert "'horizon'" not in str(cause) and str(cause) in str(error)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('[parameters]\nx = "a"\n', "key 'x' must be a number, got 'a'"),
        ("[parameters]\nx = nan\n", "key 'x' must be a finite number, got nan"),
        ("description = 1\n[parameters]\n", "key 'description' must be a string"),
        ('description = "d"\n', "missing [parameters] table (lever name = value, one per line)"),
    ],
)
def test_a_scenario_file_error_carries_its_file_as_a_field(
    tmp_path: Path, text: str, said: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioFormatError) as info:
        read_scenario(path)
    error = info.value
    assert (error.file, error.message) == (str(path), said)  # the message as raised
    assert str(error) == f"{path}: {said}"  # the one line printed, as before


def test_a_scenario_file_error_from_the_toml_reader_is_told_its_file(tmp_path: Path) -> None:
    unknown = tmp_path / "extra.toml"
    unknown.write_text("[parameters]\n[other]\n")
    with pytest.raises(ScenarioFormatError) as info:
        read_scenario(unknown)
    assert info.value.file == str(unknown)
    assert str(info.value) == info.value.message  # it names the file already: said once
    assert str(info.value).startswith(f"{unknown}: unknown key 'other'")
    missing = tmp_path / "missing.toml"
    with pytest.raises(ScenarioFileError) as info:
        read_scenario(missing)
    assert info.value.file == str(missing)
    assert str(info.value) == f"scenario file not found: {missing}"
