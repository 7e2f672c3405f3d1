"""``gvcdyn calibrate --posterior`` with a config that has no ``[posterior]`` table.

The option defaulted to True, so asking for it explicitly could not be told from not
asking: the fit ran for its minutes and came back without draws, and without a word. It
is now refused before the fit, naming the config and what to do; leaving it out (or
``--no-posterior``) fits as before."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from console import assert_one_line_error, gvcdyn

DATA = Path(__file__).parent / "data" / "calibration"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The toy config (no [posterior] table) with the smallest search."""
    shutil.copytree(DATA, tmp_path, dirs_exist_ok=True)
    path = tmp_path / "toy_config.toml"
    text = path.read_text(encoding="utf-8")
    for old, new in {"seeds = [1, 2]": "seeds = [1]", "maxiter = 15": "maxiter = 2",
                     "profile_points = 9": "profile_points = 0",
                     "bootstrap = 20": "bootstrap = 0"}.items():  # fmt: skip
        assert old in text, old
        text = text.replace(old, new)
    assert "[posterior]" not in text
    path.write_text(text, encoding="utf-8")
    return path


def test_posterior_asked_of_a_config_without_the_table_is_refused(config, tmp_path) -> None:
    out = tmp_path / "fit.nc"
    done = gvcdyn("calibrate", config, "--posterior", "--out", out, cwd=tmp_path)
    assert_one_line_error(done, "--posterior", str(config), "no [posterior] table")
    assert not out.exists() and not list(tmp_path.glob("fit.nc.*.job"))


@pytest.mark.parametrize("flag", [[], ["--no-posterior"]], ids=["default", "no-posterior"])
def test_without_the_option_the_config_fits_as_before(config, tmp_path, flag) -> None:
    out = tmp_path / "fit.nc"
    done = gvcdyn("calibrate", config, *flag, "--out", out, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert out.is_file() and "posterior" not in done.stdout
