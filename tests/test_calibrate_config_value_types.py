"""A calibration config's values of the wrong type are refused in one line naming the
config, the table and the value, before the fit.

Each was taken before: ``loo = "false"`` ran leave-one-out (Python's truth of a
string), ``tol = inf`` stopped every search at once, a weight ``"x"`` or ``values =
"high"`` ended in a traceback, a weight ``true`` counted as 1, ``outcomes = "outcome_class"``
was read letter by letter ("outcome 'o' is not an [[outcome]] column"), and a quantity
given as a list was looked up as the variable ''."""

from __future__ import annotations

import pytest
from toy_calibration import DATA

from gvcdyn.calibrate.config import load_config
from gvcdyn.errors import CalibrationConfigError

WEIGHTS = "values = { high = 1.0, medium = 1.0, low = 0.5 }"


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("loo = false", 'loo = "false"', "[crossval]: loo must be true or false, got 'false'"),
        ("tol = 1e-3", "tol = inf", "[fit]: tol must be a finite number >= 0, got inf"),
        (WEIGHTS, 'values = { high = "x" }', "[weights]: values must be numbers >= 0, got high"),
        (WEIGHTS, "values = { high = true }", "[weights]: values must be numbers >= 0, got high"),
        (WEIGHTS, 'values = "high"', "[weights]: values must be a table of level = weight"),
        ("seed = 11", 'seed = 11\noutcomes = "outcome_class"', "outcomes must be a list of"),
        ('quantity = "Skill Index"', 'quantity = ["Skill Index"]', "quantity must be a name"),
        ('column = "skill_upg"', 'column = ""', "column must be a name in quotes"),
    ],
    ids=[
        "loo-string",
        "tol-inf",
        "weight-string",
        "weight-bool",
        "weights-string",
        "cv-outcomes-string",
        "quantity-list",
        "column-empty",
    ],
)
def test_a_value_of_the_wrong_type_is_refused(tmp_path, old, new, words) -> None:
    text = (DATA / "toy_config.toml").read_text(encoding="utf-8")
    assert old in text, old
    config = tmp_path / "config.toml"
    config.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CalibrationConfigError) as err:
        load_config(config)
    message = str(err.value)
    assert str(config) in message and words in message, message
    assert "\n" not in message


def test_the_shipped_values_still_read(tmp_path) -> None:
    config = load_config(DATA / "toy_config.toml")
    assert config.cv_loo is False and config.tol == 1e-3
    assert config.weight_values == {"high": 1.0, "medium": 1.0, "low": 0.5}
