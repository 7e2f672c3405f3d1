"""``gvcdyn sensitivity --ranges r.toml -o fit.nc`` where r.toml draws its levers from
``posterior = "fit.nc"`` is refused, as ``--fit fit.nc -o fit.nc`` is (677a78f).

The refusal of outputs over inputs knew the files on the command line, not the fit a
ranges file names: the study read the fit's posterior draws, then wrote its indices over
the fit, exit 0, the calibration lost.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from console import assert_one_line_error, gvcdyn
from mdl_helpers import write_mdl

MODEL = """
W = 0.5
    ~ Dmnl [0,1]
    ~ Estimated: drawn from the fit's posterior.
    |
X = 0.5
    ~ Dmnl [0,1]
    ~ A lever, uniform.
    |
Y = W + X
    ~ Dmnl
    ~ The output.
    |
"""


def _study(tmp_path: Path) -> tuple[Path, Path, bytes]:
    """A model, a fit with posterior draws of W, and a ranges file that names the fit."""
    model = write_mdl(tmp_path, MODEL, final_time=2)
    draws = np.random.default_rng(3).uniform(0.1, 0.9, size=(2, 5, 1))
    fit = xr.Dataset(
        {
            "estimate": (("parameter",), [0.5]),
            "posterior_draw": (("chain", "draw", "parameter"), draws),
        },
        coords={"parameter": ["W"]},
        attrs={"posterior_converged": 1},
    )
    fit.to_netcdf(tmp_path / "fit.nc")
    (tmp_path / "ranges.toml").write_text('parameters = ["X"]\nposterior = "fit.nc"\n')
    return model, tmp_path / "fit.nc", (tmp_path / "fit.nc").read_bytes()


def test_an_output_over_the_posterior_a_ranges_file_names_is_refused(tmp_path) -> None:
    model, fit, before = _study(tmp_path)
    given = ["sensitivity", model, "--vars", "Y", "--ranges", tmp_path / "ranges.toml"]
    done = gvcdyn(*given, "--n", "8", "-o", fit, cwd=tmp_path)
    assert_one_line_error(done, "fit.nc", "a file this command reads (the posterior of --ranges)")
    assert fit.read_bytes() == before
    # elsewhere the study runs on the fit's draws and writes its indices
    done = gvcdyn(*given, "--n", "8", "-o", tmp_path / "sens.nc", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "posterior draws" in done.stdout and (tmp_path / "sens.nc").is_file()
    assert fit.read_bytes() == before
