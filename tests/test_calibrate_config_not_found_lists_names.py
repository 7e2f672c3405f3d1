"""An unknown calibration config name lists what a model's name takes, not every config.

The message listed each of the two dozen shipped configs as "gvc_upgrading_v3
(calibration/config_v3_race.toml)" in one line of about 1,600 characters, as if each were
taken by its model's name; a model's name takes one config (the one 'gvcdyn models' lists
first), the others are taken by file name.
"""

from __future__ import annotations

from pathlib import Path

from console import assert_one_line_error, gvcdyn


def test_the_error_lists_each_model_with_the_config_its_name_takes(tmp_path: Path) -> None:
    line = assert_one_line_error(
        gvcdyn("calibrate", "gvc_upgradin", cwd=tmp_path),
        "calibration config not found: gvc_upgradin",
        "gvc_upgrading (calibration/config.toml)",
        "gvc_upgrading_v3 (calibration/config_v3.toml)",
        "file name of a shipped config",
        "'gvcdyn models' lists them",
    )
    assert "config_v3_race" not in line, line
    assert len(line) < 400, len(line)
