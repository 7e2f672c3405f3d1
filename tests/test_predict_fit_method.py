"""A fit is predicted and reality-checked at the integration method it ran at, not the
model's default of today: a settings file (``<stem>.settings.toml``) added beside the
model after the fit must not change what ``predict`` computes, and a fit from before fits
recorded their method (config without ``method``: Euler then) is read as Euler.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from toy_calibration import revised_toy_fit

from gvcdyn.calibrate.config import load_config
from gvcdyn.calibrate.fitfile import fit_integration
from gvcdyn.calibrate.predict import predict
from gvcdyn.calibrate.study import calibrate
from gvcdyn.io.results_io import write_netcdf

DATA = Path(__file__).parent / "data" / "calibration"


@pytest.fixture(scope="module")
def fit_path(tmp_path_factory) -> Path:
    """A toy fit whose config names no method (so it ran at the model's: Euler)."""
    folder = tmp_path_factory.mktemp("fit_method")
    for name in ("toy_cases.csv", "toy_levers.toml", "toy_upgrading.mdl"):
        shutil.copy(DATA / name, folder / name)
    text = (DATA / "toy_config.toml").read_text(encoding="utf-8")
    assert 'method = "euler"\n' in text
    (folder / "toy_config.toml").write_text(text.replace('method = "euler"\n', ""), "utf-8")
    config = replace(
        load_config(folder / "toy_config.toml"), seeds=(1,), popsize=5, maxiter=3, profile_points=3
    )
    assert config.method is None
    return write_netcdf(calibrate(config, command_line=["gvcdyn", "calibrate"]), folder / "fit.nc")


def test_predict_keeps_the_fits_method_after_a_settings_file_appears(fit_path):
    cases = fit_path.parent / "toy_cases.csv"
    before = predict(fit_path, cases, point=True).table
    settings = fit_path.parent / "toy_upgrading.settings.toml"
    settings.write_text('integration = "rk4"\n', encoding="utf-8")
    try:
        after = predict(fit_path, cases, point=True).table
    finally:
        settings.unlink()
    assert fit_integration(fit_path) == ("euler", None)
    columns = [c for c in before.columns if c.startswith("p") and not c.startswith("pred_")]
    assert columns and np.all(np.isfinite(before[columns].to_numpy()))
    # bitwise: the same Euler runs (before the fix: rk4's, e.g. 0.8193 -> 0.8225)
    np.testing.assert_array_equal(before[columns].to_numpy(), after[columns].to_numpy())


def test_a_fit_that_records_no_method_ran_at_euler(fit_path, tmp_path):
    ds = xr.load_dataset(fit_path)
    del ds.attrs["method"]  # as fits written before methods were recorded (108fbe6)
    old = write_netcdf(ds, tmp_path / "old_fit.nc")
    assert fit_integration(old) == ("euler", None)


def test_predicting_a_revised_fits_own_cases_maps_them_as_the_fit_did(tmp_path):
    """A fit made with case revisions, predicted on its own case file, maps the revised
    table (as the fit did); predicted on another file (here the revised table written out,
    which the revisions do not know), it maps that file as given, revising nothing twice."""
    import pandas as pd

    fit, revisions = revised_toy_fit(tmp_path)
    own = predict(fit, tmp_path / "toy_cases.csv", point=True)
    table = pd.read_csv(tmp_path / "toy_cases.csv", dtype=str, keep_default_na=False)
    table.loc[table["id"] == "TOY_00", "support"] = "high"
    table.to_csv(tmp_path / "revised_cases.csv", index=False)
    written = predict(fit, tmp_path / "revised_cases.csv", point=True)
    columns = [c for c in own.table.columns if c.startswith("p") and not c.startswith("pred_")]
    np.testing.assert_array_equal(own.table[columns].to_numpy(), written.table[columns].to_numpy())
    assert own.meta["case_revisions"] == str(revisions)
    assert written.meta["case_revisions"] == ""
    revisions.unlink()  # the fit carries its revisions' text: still mapped as the fit did
    again = predict(fit, tmp_path / "toy_cases.csv", point=True)
    np.testing.assert_array_equal(own.table[columns].to_numpy(), again.table[columns].to_numpy())
    as_coded = predict(
        fit_path_without_revisions(fit, tmp_path), tmp_path / "toy_cases.csv", point=True
    )
    assert not np.array_equal(
        own.table.loc[0, columns].to_numpy(float), as_coded.table.loc[0, columns].to_numpy(float)
    )


def fit_path_without_revisions(fit: Path, folder: Path) -> Path:
    """The same fit with its revisions forgotten: predicting its own cases maps them as coded."""
    ds = xr.load_dataset(fit)
    ds.attrs["case_revisions"] = ""
    return write_netcdf(ds, folder / "f_as_coded.nc")
