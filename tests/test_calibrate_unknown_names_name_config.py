"""A calibration config that misspells an [estimate] parameter or an [[outcome]] quantity.

The refusal said "unknown parameter 'Learning Rat'; did you mean ..." without naming the
config, while a bad bound, a bad key or a missing case file in the same config named it;
a user with several configs (calibration/ ships two dozen) could not tell which to edit.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from console import gvcdyn

DATA = Path(__file__).parent / "data" / "calibration"


@pytest.mark.parametrize(
    ("old", "new", "fragments"),
    [
        (
            '"Learning Rate" = { bounds',
            '"Learning Rat" = { bounds',
            ("unknown parameter 'Learning Rat'", "'Learning Rate'"),
        ),
        (
            'quantity = "Skill Index"',
            'quantity = "Skill Indx"',
            ("unknown variable 'Skill Indx'", "'Skill Index'"),
        ),
    ],
    ids=["estimate", "outcome"],
)
def test_a_misspelled_name_in_a_config_names_the_config(
    tmp_path: Path, old: str, new: str, fragments: tuple[str, ...]
) -> None:
    shutil.copytree(DATA, tmp_path, dirs_exist_ok=True)
    config = tmp_path / "toy_config.toml"
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new))
    done = gvcdyn("calibrate", config, "--out", tmp_path / "fit.nc", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    errors = [x for x in done.stderr.splitlines() if x.startswith("error: ")]
    assert len(errors) == 1, done.stderr  # after the progress line of the loading step
    (line,) = errors
    for fragment in (str(config), *fragments):
        assert fragment in line, (fragment, line)
    assert not (tmp_path / "fit.nc").exists()
