"""A calibration config whose [estimate] bounds leave a parameter's documented range.

The refusal came from the parameter space and told the user to "pass
allow_out_of_range=True", which a config file cannot do; it must name the config and
say what can be done there: narrow the bounds, or widen the range in the model.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from console import gvcdyn

DATA = Path(__file__).parent / "data" / "calibration"


def test_bounds_outside_the_documented_range_name_the_config_and_the_remedy(tmp_path) -> None:
    shutil.copytree(DATA, tmp_path, dirs_exist_ok=True)
    config = tmp_path / "toy_config.toml"
    text = config.read_text()
    old = '"Learning Rate" = { bounds = [0.02, 1.0] }'
    assert old in text
    config.write_text(text.replace(old, '"Learning Rate" = { bounds = [0.02, 5.0] }'))
    done = gvcdyn("calibrate", config, "--out", tmp_path / "fit.nc", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    errors = [x for x in done.stderr.splitlines() if x.startswith("error: ")]
    assert len(errors) == 1, done.stderr  # after the progress line of the loading step
    (line,) = errors
    for fragment in (str(config), "[estimate]", "'Learning Rate'", "[0.02, 5]", "[0.02, 1]"):
        assert fragment in line, (fragment, line)
    assert "allow_out_of_range" not in line, line
    assert "narrow" in line and ".mdl" in line, line
    assert not (tmp_path / "fit.nc").exists()
