"""``gvcdyn calibrate --seed`` must be an integer >= 0, as the config's own seeds are.

A negative ``--seed`` was taken, every seed derived from it, and the first
differential-evolution start died in numpy with a traceback ("expected non-negative
integer") after the model and cases were read. It is refused in one line naming the
option, before any run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from console import gvcdyn

from gvcdyn.calibrate.config import load_config
from gvcdyn.errors import CalibrationConfigError

DATA = Path(__file__).parent / "data" / "calibration"


def test_a_negative_seed_is_refused_in_one_line(tmp_path) -> None:
    shutil.copytree(DATA, tmp_path, dirs_exist_ok=True)
    done = gvcdyn("calibrate", tmp_path / "toy_config.toml", "--seed", "-1", "--out",
                  tmp_path / "fit.nc", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    errors = [x for x in done.stderr.splitlines() if x.strip()]
    assert errors == ["error: --seed -1: give an integer >= 0 (every seed of the fit is derived "
                      "from it)"], done.stderr  # fmt: skip
    assert not (tmp_path / "fit.nc").exists()


def test_with_seed_refuses_a_negative_seed_and_derives_the_rest() -> None:
    config = load_config(DATA / "toy_config.toml")
    with pytest.raises(CalibrationConfigError, match="--seed -1"):
        config.with_seed(-1)
    seeded = config.with_seed(5)
    assert seeded.seeds == (5, 1005) and seeded.uncertainty_seed == 12 and seeded.cv_seed == 16
