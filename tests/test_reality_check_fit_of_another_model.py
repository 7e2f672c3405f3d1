"""``reality-check --params fit.nc`` says when the fit was made for another model version,
and ``--posterior`` with a file that is no fit says so.

The estimates are applied by name, so a fit of gvc_upgrading_v3 ran silently on
gvc_upgrading (its margins labelled "base fit.nc" as if the fit were this model's); a
sensitivity study's base already said "(made for another model version)". And
``--posterior`` with a netCDF file that is no fit (a sensitivity study's indices) advised
adding a [posterior] table to "its calibration config".
"""

from __future__ import annotations

from pathlib import Path

import pytest
import xarray as xr

import gvcdyn
from gvcdyn.checks import reality_check
from gvcdyn.errors import RealityCheckError

ISHIGAMI = Path(__file__).parent / "models" / "ishigami.mdl"
CHECKS = '[[check]]\nname = "a"\nexpect = "bound"\noutcome = "Ishigami"\nat = 4\nmin = -100\n'


@pytest.fixture(scope="module")
def model():
    return gvcdyn.load(ISHIGAMI)


def _fit(tmp_path: Path, sha: str) -> Path:
    path = tmp_path / "fit.nc"
    xr.Dataset(
        {"estimate": ("parameter", [1.0])},
        coords={"parameter": ["X1"]},
        attrs={"model_sha256": sha},
    ).to_netcdf(path)
    return path


@pytest.mark.parametrize("same", [True, False], ids=["this-model", "another-model"])
def test_the_base_says_when_the_fit_is_another_models(model, tmp_path: Path, same: bool) -> None:
    checks = tmp_path / "checks.toml"
    checks.write_text(CHECKS)
    fit = _fit(tmp_path, model.ir.source_hash if same else "0" * 64)
    base = reality_check(model, checks, params=fit).attrs["base"]
    assert base.startswith(str(fit))
    assert ("made for another model version" in base) is not same


def test_posterior_draws_of_a_file_that_is_no_fit(model, tmp_path: Path) -> None:
    checks = tmp_path / "checks.toml"
    checks.write_text(CHECKS)
    indices = tmp_path / "indices.nc"
    xr.Dataset({"ST": ("parameter", [0.5])}, coords={"parameter": ["X1"]}).to_netcdf(indices)
    with pytest.raises(RealityCheckError, match="is not a calibration fit") as caught:
        reality_check(model, checks, params=indices, posterior=3)
    assert "its calibration config" not in str(caught.value)
