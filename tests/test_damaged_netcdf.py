"""A results file whose bytes were overwritten (a disk fault, a bad copy) opens, but its
data or attributes cannot be read: netCDF4 raises RuntimeError ("NetCDF: HDF error") or
AttributeError ("NetCDF: Can't open HDF5 attribute"), which ``gvcdyn report`` and
``gvcdyn predict`` printed as a traceback. Both now refuse it in one line naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from console import assert_one_line_error, gvcdyn

from gvcdyn.io.results_io import read_netcdf, write_netcdf
from gvcdyn.reports.build import open_input


def _damaged(path: Path) -> Path:
    """A netCDF file whose one compressed variable has 64 bytes overwritten mid-file: its
    header opens, reading its data fails with netCDF4's RuntimeError."""
    values = np.random.default_rng(0).random(20_000)
    write_netcdf(xr.Dataset({"estimate": ("i", values)}), path)
    raw = bytearray(path.read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + 64] = bytes(b ^ 0x5A for b in raw[middle : middle + 64])
    path.write_bytes(bytes(raw))
    with pytest.raises(RuntimeError, match="NetCDF: HDF error"):  # the premise
        xr.load_dataset(path)
    return path


@pytest.mark.parametrize("command", ["report", "predict"])
def test_a_damaged_netcdf_is_refused_in_one_line(tmp_path, command):
    source = _damaged(tmp_path / "fit.nc")
    if command == "report":
        args = ["report", source]
    else:
        cases = tmp_path / "cases.csv"
        cases.write_text("id\nA\n", encoding="utf-8")
        args = ["predict", "--fit", source, "--cases", cases, "-o", tmp_path / "p.csv"]
    assert_one_line_error(gvcdyn(*args), str(source.name), "netCDF")
    assert not list(tmp_path.glob("*_report.md")) and not (tmp_path / "p.csv").exists()


def test_an_unreadable_attribute_is_refused_by_both_readers(tmp_path, monkeypatch):
    """netCDF4's AttributeError for a damaged attribute (seen on a fit with bytes
    overwritten near its header; not reproducible by a fixed offset across HDF5 versions,
    so raised here as netCDF4 raises it)."""
    source = write_netcdf(xr.Dataset({"x": ("i", np.arange(3.0))}), tmp_path / "a.nc")

    def damaged(path, **_):
        raise AttributeError("NetCDF: Can't open HDF5 attribute")

    monkeypatch.setattr(xr, "load_dataset", damaged)

    class Bad(Exception):
        pass

    with pytest.raises(Bad, match="is not a readable netCDF file: NetCDF: Can't open HDF5"):
        read_netcdf(source, "fit file", Bad)
    with pytest.raises(Exception, match="is not a netCDF file gvcdyn can read") as err:
        open_input(source)
    assert isinstance(err.value.__cause__, AttributeError)


def test_an_attribute_error_of_a_bug_is_not_called_a_damaged_file(tmp_path, monkeypatch):
    """Only netCDF's own errors mean a damaged file: another AttributeError is a bug and
    keeps its traceback rather than blaming the user's file."""
    source = write_netcdf(xr.Dataset({"x": ("i", np.arange(3.0))}), tmp_path / "a.nc")

    def buggy(path, **_):
        raise AttributeError("'NoneType' object has no attribute 'shape'")

    monkeypatch.setattr(xr, "load_dataset", buggy)
    with pytest.raises(AttributeError, match="NoneType"):
        read_netcdf(source, "fit file", ValueError)
    with pytest.raises(AttributeError, match="NoneType"):
        open_input(source)
