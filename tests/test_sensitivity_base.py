"""What a study holds fixed: model defaults, a scenario file, a calibration fit's estimates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import gvcdyn
from gvcdyn.errors import GvcdynError
from gvcdyn.sensitivity import study as sens
from gvcdyn.sensitivity.fits import fit_draws, fit_estimates

ISHIGAMI = Path(__file__).parent / "models" / "ishigami.mdl"


@pytest.fixture(scope="module")
def model():
    return gvcdyn.load(ISHIGAMI)


def _fit(path: Path, with_draws: bool = True, model_sha256: str | None = None) -> Path:
    """A fit file laid out as ``gvcdyn calibrate`` writes it (estimate, bootstrap_estimate)."""
    data = {"estimate": ("parameter", np.array([0.5, 2.0]))}
    if with_draws:
        draws = np.array([[0.4, 1.5], [np.nan, 1.0], [0.6, 2.5]])
        data["bootstrap_estimate"] = (("replicate", "parameter"), draws)
    attrs = {"model_sha256": model_sha256} if model_sha256 else {}
    xr.Dataset(data, coords={"parameter": ["X3", "X2"]}, attrs=attrs).to_netcdf(path)
    return path


def test_fit_estimates_and_draws(tmp_path):
    path = _fit(tmp_path / "fit.nc")
    assert fit_estimates(path) == {"X3": 0.5, "X2": 2.0}
    assert fit_draws(path) == [{"X3": 0.4, "X2": 1.5}, {"X3": 0.6, "X2": 2.5}]  # NaN row out
    assert fit_draws(path, limit=1) == [{"X3": 0.4, "X2": 1.5}]
    assert fit_draws(_fit(tmp_path / "plain.nc", with_draws=False)) == []


def test_fit_overrides_scenario_which_overrides_defaults(model, tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text('description = "s"\n[parameters]\nx3 = 1.0\nX2 = -1.0\nB = 0.2\n')
    fit = _fit(tmp_path / "fit.nc")
    base, label = sens.base_of(model, scenario, fit)
    assert base == {"X3": 0.5, "X2": 2.0, "B": 0.2}
    assert label == "scenario s.toml, fit fit.nc"
    assert sens.base_of(model) == (None, "model defaults")


def test_a_fit_for_another_model_version_is_labelled(model, tmp_path):
    same = _fit(tmp_path / "same.nc", model_sha256=model.ir.source_hash)
    other = _fit(tmp_path / "other.nc", model_sha256="0" * 64)
    assert sens.base_of(model, None, same)[1] == "fit same.nc"
    assert sens.base_of(model, None, other)[1] == "fit other.nc (made for another model version)"


def test_the_base_reaches_the_runs(model, tmp_path):
    """X1 varied, X2 and X3 fixed by the fit: only X1 matters, and X3's value shows in Y."""
    base, label = sens.base_of(model, None, _fit(tmp_path / "fit.nc"))
    study = sens.prepare(model, ["Ishigami"], params=["X1"], base=base, base_label=label)
    Y, _ = study.evaluator(np.array([[1.0]]))
    expected = np.sin(1.0) + 7 * np.sin(2.0) ** 2 + 0.1 * 0.5**4 * np.sin(1.0)
    np.testing.assert_allclose(Y[0, 0], expected, rtol=1e-12)
    ds = sens.sobol(study, 64, seed=1)
    assert ds.attrs["base"] == label
    assert abs(float(ds.S1.squeeze()) - 1.0) <= float(ds.S1_conf.squeeze())  # all variance


@pytest.mark.parametrize(
    ("content", "words"),
    [(None, "fit file not found"), (b"not netcdf", "not a readable netCDF")],
)
def test_bad_fit_files_are_clear_errors(tmp_path, content, words):
    path = tmp_path / "fit.nc"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(GvcdynError, match=words):
        fit_estimates(path)


def test_fit_without_estimates_is_a_clear_error(tmp_path):
    path = tmp_path / "other.nc"
    xr.Dataset({"x": ("y", [1.0])}).to_netcdf(path)
    with pytest.raises(GvcdynError, match="no variable 'estimate'"):
        fit_estimates(path)
