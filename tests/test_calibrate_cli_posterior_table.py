"""What ``gvcdyn calibrate`` prints of a fit whose uncertainty is its posterior.

The shipped config computes no profiles and no bootstrap: its intervals are the
posterior's. The command printed the estimate with two empty interval columns
("95% profile", "95% bootstrap") and said nothing of the posterior, not even whether
the sampler converged. Now a column is printed only for intervals the fit holds, the
posterior's 95% interval is one, and the sampler's verdict follows the table.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from console import gvcdyn

DATA = Path(__file__).parent / "data" / "calibration"


def _config(folder: Path, posterior: bool) -> Path:
    """The toy calibration with one short start, no profiles, no bootstrap, and
    optionally a short posterior."""
    shutil.copytree(DATA, folder, dirs_exist_ok=True)
    config = folder / "toy_config.toml"
    text = config.read_text()
    for key, value in {"seeds": "[1]", "popsize": "5", "maxiter": "3",
                       "profile_points": "0", "bootstrap": "0"}.items():  # fmt: skip
        text, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
        assert n == 1, key
    if posterior:
        text += "\n[posterior]\nwalkers = 8\nsteps = 60\nburn = 20\nseed = 3\n"
    config.write_text(text)
    return config


@pytest.mark.parametrize("posterior", [True, False])
def test_only_the_intervals_the_fit_holds_are_printed(posterior, tmp_path) -> None:
    out = tmp_path / "fit.nc"
    done = gvcdyn("calibrate", _config(tmp_path, posterior), "--out", out, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    header = next(line for line in done.stdout.splitlines() if "parameter" in line)
    assert "estimate" in header and "profile" not in header and "bootstrap" not in header
    assert ("95% posterior" in header) == posterior, done.stdout
    verdicts = [line for line in done.stdout.splitlines() if line.startswith("posterior: ")]
    if not posterior:
        assert verdicts == [], done.stdout
        return
    assert len(verdicts) == 1, done.stdout
    ds = xr.open_dataset(out)
    converged = int(ds.attrs["posterior_converged"]) == 1
    assert ("NOT converged" in verdicts[0]) != converged, verdicts
    low, high = np.percentile(ds["posterior_draw"].values.reshape(-1, 2), [2.5, 97.5], axis=0)
    row = next(line for line in done.stdout.splitlines() if "Learning Rate" in line)
    assert f"[{low[0]:.3g}, {high[0]:.3g}]" in row, (row, low, high)
