"""A folder given where a command reads a file is named as a folder, not "not found".

The folder exists, so "scenario file not found: runs" (or "--data runs: file not found",
"fit file not found", ...) sent the user looking for a missing file; each reader now says
"... is a folder, not a file". A missing file is still "not found".
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from console import assert_one_line_error, gvcdyn

DATA = Path(__file__).parent / "data" / "calibration"


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["run", "toy.mdl", "-s", "d.toml"], "scenario file d.toml is a folder, not a file"),
        (["run", "toy.mdl", "--data", "d.csv"], "--data d.csv: a folder, not a file"),
        (["sensitivity", "toy.mdl", "--vars", "Skill Index", "--ranges", "d.toml"],
         "ranges file d.toml is a folder, not a file"),
        (["sensitivity", "toy.mdl", "--vars", "Skill Index", "--fit", "d.nc"],
         "fit file d.nc is a folder, not a file"),
        (["reality-check", "toy.mdl", "d.toml"], "reality-check file d.toml is a folder"),
        (["reality-check", "toy.mdl", "c.toml", "--params", "d.nc"],
         "parameter file d.nc is a folder, not a file"),
        (["predict", "--fit", "d.nc", "--cases", "toy_cases.csv"],
         "fit file d.nc is a folder, not a file"),
        (["calibrate", "d.toml"], "calibration config d.toml is a folder, not a file"),
        (["report", "d.nc"], "d.nc: is a folder, not a file"),
    ],
)  # fmt: skip
def test_a_folder_for_a_file_is_named_a_folder(tmp_path, arguments, said) -> None:
    shutil.copy(DATA / "toy_upgrading.mdl", tmp_path / "toy.mdl")
    shutil.copy(DATA / "toy_cases.csv", tmp_path)
    (tmp_path / "c.toml").write_text(
        '[[check]]\nname = "n"\nconditions.a = {}\nexpect = "compare"\n'
        "left = 'a[\"Skill Index\"] @ 5'\nop = \">\"\nright = '-1'\n"
    )
    for folder in ("d.toml", "d.csv", "d.nc"):
        (tmp_path / folder).mkdir()
    done = gvcdyn(*arguments, cwd=tmp_path)
    line = assert_one_line_error(done, said)
    assert "not found" not in line


def test_a_missing_file_is_still_not_found(tmp_path) -> None:
    shutil.copy(DATA / "toy_upgrading.mdl", tmp_path / "toy.mdl")
    done = gvcdyn("run", "toy.mdl", "--data", "gone.csv", cwd=tmp_path)
    assert_one_line_error(done, "--data gone.csv: file not found")
