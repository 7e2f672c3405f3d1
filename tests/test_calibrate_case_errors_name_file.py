"""A bad outcome level or weight in the case table names the case file, as every other
bad cell of it does.

They named the case and column only, not the file, which a config with several case
tables (or a copy being edited) leaves to guess.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from console import gvcdyn

DATA = Path(__file__).parent / "data" / "calibration"


@pytest.mark.parametrize(
    ("column", "value", "said"),
    [
        ("skill_upg", "7", "value '7' is not one of the levels"),
        ("confidence", "sorta", "value 'sorta' has no weight in [weights]"),
    ],
)
def test_the_error_names_the_case_file(column, value, said, tmp_path) -> None:
    shutil.copytree(DATA, tmp_path, dirs_exist_ok=True)
    cases = tmp_path / "toy_cases.csv"
    frame = pd.read_csv(cases, dtype=str, keep_default_na=False)
    frame.loc[0, column] = value
    frame.to_csv(cases, index=False)
    done = gvcdyn("calibrate", tmp_path / "toy_config.toml", "--out", tmp_path / "fit.nc",
                  cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("error: ")]
    assert line.startswith(f"error: {cases}: case 'TOY_00', column '{column}'"), line
    assert said in line, line
