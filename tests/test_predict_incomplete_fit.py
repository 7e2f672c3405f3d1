"""``gvcdyn predict`` with a fit file that lacks a part every fit records (an edited or
damaged file): refused in one line naming the file and the part, instead of a KeyError
traceback ('model_path', 'model_sha256', "No variable named 'cutpoint'", and
'predictive_cutpoint' beside posterior draws). A study that rebuilds only the fit's
problem (``fitfile.read_fit``) still reads a fit without cutpoints."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from console import assert_one_line_error, gvcdyn
from toy_calibration import DATA, quick_toy_config

from gvcdyn.calibrate.config import PosteriorSettings
from gvcdyn.calibrate.fitfile import missing_fit_parts
from gvcdyn.calibrate.predict import predict
from gvcdyn.errors import CalibrationConfigError
from gvcdyn.io.results_io import write_netcdf


@pytest.fixture(scope="module")
def fit(tmp_path_factory) -> xr.Dataset:
    """A quick toy fit with a short posterior (its predictive draws and cutpoints)."""
    from gvcdyn.calibrate.study import calibrate

    config = quick_toy_config(maxiter=2, posterior=PosteriorSettings(steps=6, walkers=4))
    return calibrate(config, command_line=["gvcdyn", "calibrate", "toy"])


def _without(ds: xr.Dataset, part: str) -> xr.Dataset:
    if part in ds.attrs:
        ds = ds.copy()
        ds.attrs = {k: v for k, v in ds.attrs.items() if k != part}
        return ds
    return ds.drop_vars(part)


@pytest.mark.parametrize(
    "part", ["model_path", "model_sha256", "cutpoint", "predictive_cutpoint", "parameter"]
)
def test_a_fit_without_a_part_is_refused_naming_it(fit, tmp_path, part) -> None:
    path = write_netcdf(_without(fit, part), tmp_path / "fit.nc")
    with pytest.raises(CalibrationConfigError, match=rf"fit file .*fit\.nc lacks {part} "):
        predict(path, DATA / "toy_cases.csv")


def test_a_whole_fit_lacks_nothing(fit) -> None:
    assert missing_fit_parts(fit) == []
    assert "predictive_estimate" in fit and np.all(np.isfinite(fit["cutpoint"].values[0, :1]))


def test_predict_says_it_in_one_line(fit, tmp_path) -> None:
    path = write_netcdf(_without(fit, "cutpoint"), tmp_path / "fit.nc")
    out = tmp_path / "p.csv"
    done = gvcdyn("predict", "--fit", path, "--cases", DATA / "toy_cases.csv", "-o", out)
    assert_one_line_error(done, str(path), "lacks cutpoint", "refit")
    assert not out.exists()
