"""A calibration whose cases observe an outcome nowhere (every cell blank, or every case
that codes it weighted 0) is refused before the fit, naming the outcome and the file.

It ran: the objective was 0 for every candidate (nothing to fit), differential
evolution returned its first population's best, and ``gvcdyn calibrate`` wrote that as
the estimate with exit 0 (Fisher rank 0/2 the only hint); predict then gave the
cutpoints' prior as probabilities for new cases.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from console import gvcdyn

from gvcdyn.calibrate.config import load_config
from gvcdyn.calibrate.problem import CalibrationProblem
from gvcdyn.errors import CaseDataError

DATA = Path(__file__).parent / "data" / "calibration"


def _copy(tmp_path: Path, **columns: str) -> Path:
    """The toy calibration in ``tmp_path``, with each of ``columns`` set to one value."""
    shutil.copytree(DATA, tmp_path, dirs_exist_ok=True)
    cases = tmp_path / "toy_cases.csv"
    frame = pd.read_csv(cases, dtype=str, keep_default_na=False)
    for column, value in columns.items():
        frame[column] = value
    frame.to_csv(cases, index=False)
    return tmp_path / "toy_config.toml"


@pytest.mark.parametrize(
    ("columns", "said"),
    [
        ({"outcome_class": ""}, "outcome 'outcome_class' is observed in none of the 40 cases"),
        ({"skill_upg": "", "outcome_class": ""}, "outcome 'skill_upg' is observed in none"),
    ],
)
def test_an_outcome_no_case_observes_is_refused(tmp_path, columns, said) -> None:
    config = load_config(_copy(tmp_path, **columns))
    with pytest.raises(CaseDataError, match=said) as caught:
        CalibrationProblem.from_config(config)
    assert str(tmp_path / "toy_cases.csv") in str(caught.value)


def test_every_case_weighted_zero_is_refused(tmp_path) -> None:
    config = load_config(_copy(tmp_path, confidence="low"))
    config.weight_values["low"] = 0.0
    with pytest.raises(CaseDataError, match="weight > 0") as caught:
        CalibrationProblem.from_config(config)
    assert "'skill_upg'" in str(caught.value)


def test_some_blank_cells_are_still_fitted(tmp_path) -> None:
    """A blank cell is a case that did not code the outcome: the others are fitted."""
    path = _copy(tmp_path)
    cases = tmp_path / "toy_cases.csv"
    frame = pd.read_csv(cases, dtype=str, keep_default_na=False)
    frame.loc[1:, "outcome_class"] = ""
    frame.to_csv(cases, index=False)
    problem = CalibrationProblem.from_config(load_config(path))
    assert (problem.levels[:, 1] >= 0).sum() == 1


def test_the_command_exits_2_and_writes_no_fit(tmp_path) -> None:
    config = _copy(tmp_path, outcome_class="")
    done = gvcdyn("calibrate", config, "--out", tmp_path / "fit.nc", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("error: ")]
    assert "outcome 'outcome_class' is observed in none" in line, line
    assert not (tmp_path / "fit.nc").exists()
