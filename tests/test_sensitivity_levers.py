"""Which parameters a study varies: the model's Levers view, or a ranges file."""

from __future__ import annotations

from pathlib import Path

import pytest

import gvcdyn
from gvcdyn.errors import GvcdynError, ModelFileNotFoundError, SensitivityDesignError
from gvcdyn.sensitivity.levers import choose_levers, read_ranges, view_names

MODELS = Path(__file__).parent / "models"
GVC = Path(__file__).parent.parent / "models" / "gvc_upgrading.mdl"


def test_view_names_reads_one_view_in_drawing_order():
    assert view_names(MODELS / "ishigami.mdl") == ["X1", "X2", "X3", "Ishigami"]
    assert view_names(MODELS / "ishigami.mdl", "inputs") == ["X1", "X2", "X3"]


def test_levers_view_keeps_constants_only():
    choice = choose_levers(gvcdyn.load(MODELS / "ishigami.mdl"))
    assert choice.names == ("X1", "X2", "X3")  # the auxiliary drawn there is left out
    assert "Levers" in choice.source


def test_gvc_model_levers_are_all_model_constants():
    model = gvcdyn.load(GVC)
    names = choose_levers(model).names
    assert {"Shock Size", "State Participation", "Initial Buyer Control"} <= set(names)
    # nothing in its Levers view is dropped but its timing lever (issue 19: not varied
    # by default); the choice says so
    assert set(view_names(GVC)) - set(names) == {"Shock Year"}
    assert choose_levers(model).timing_fixed == ("Shock Year",)


def test_quoted_names_with_commas(tmp_path):
    text = (MODELS / "ishigami.mdl").read_text()
    text = text.replace("10,3,X3,590", '10,3,"X3, third",590')
    path = tmp_path / "quoted.mdl"
    path.write_text(text)
    assert "X3, third" in view_names(path, "inputs")


def test_missing_view_and_missing_file_are_clear_errors(tmp_path):
    with pytest.raises(SensitivityDesignError, match="no view named 'Knobs'"):
        view_names(MODELS / "ishigami.mdl", "Knobs")
    with pytest.raises(ModelFileNotFoundError, match=r"nowhere\.mdl"):
        view_names(tmp_path / "nowhere.mdl")


def test_params_take_precedence_and_ranges_override(tmp_path):
    model = gvcdyn.load(MODELS / "ishigami.mdl")
    ranges = tmp_path / "r.toml"
    ranges.write_text('[ranges]\n"x2" = [0, 1]\n')
    assert choose_levers(model, ranges=ranges).names == ("X2",)
    choice = choose_levers(model, ["x1", "X2"], ranges)
    assert choice.names == ("X1", "X2") and choice.bounds == {"X2": (0.0, 1.0)}
    with pytest.raises(SensitivityDesignError, match="'X2', which is not varied"):
        choose_levers(model, ["X1"], ranges)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[ranges]\nX1 = [1, 0]\n", "low < high"),
        ("[ranges]\nX1 = [0, 'a']\n", "two numbers"),
        ("[ranges]\nX1 = 3\n", "two numbers"),
        ("parameters = 'X1'\n", "list of parameter names"),
        ("levers = ['X1']\n", "unknown key 'levers'"),
        ("ranges = [\n", "not valid TOML"),
    ],
)
def test_bad_ranges_files_name_the_file_and_the_fault(tmp_path, text, words):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(GvcdynError, match=words) as info:
        read_ranges(path)
    assert "bad.toml" in str(info.value)
