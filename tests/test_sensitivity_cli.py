"""``gvcdyn sensitivity`` end to end: files written, errors as one line, Ctrl-C clean."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from gvcdyn.cli import common, run_cli

ISHIGAMI = str(Path(__file__).parent / "models" / "ishigami.mdl")


class _Captured:
    """What the command printed on its two rich consoles (bound to streams at import)."""

    def __init__(self, monkeypatch):
        self._out, self._err = io.StringIO(), io.StringIO()
        monkeypatch.setattr(common.out, "file", self._out)
        monkeypatch.setattr(common.err, "file", self._err)

    @property
    def out(self) -> str:
        return self._out.getvalue()

    @property
    def err(self) -> str:
        return self._err.getvalue()


@pytest.fixture
def printed(monkeypatch, capsys):
    captured = _Captured(monkeypatch)
    yield captured


def test_sobol_writes_netcdf_and_plot(tmp_path, printed, monkeypatch):
    nc, png = tmp_path / "out" / "s.nc", tmp_path / "out" / "s.png"
    argv = [
        "sensitivity", ISHIGAMI, "-o", "Ishigami", "--output", "Accumulated Ishigami",
        "--at", "2,4", "--n", "256", "--second-order", "--seed", "7",
        "--out", str(nc), "--plot", str(png),
    ]  # fmt: skip
    monkeypatch.setattr(sys, "argv", ["/somewhere/bin/gvcdyn", *argv])
    assert run_cli(argv) == 0
    assert "Ishigami at time 4" in printed.out and "X2" in printed.out
    ds = xr.load_dataset(nc)
    assert set(ds.data_vars) == {"S1", "S1_conf", "ST", "ST_conf", "S2", "S2_conf"}
    np.testing.assert_array_equal(ds.time.values, [2.0, 4.0])
    assert ds.attrs["seed"] == 7 and ds.attrs["n_runs"] == 256 * 8
    assert ds.attrs["command_line"].startswith("gvcdyn sensitivity ")
    assert "--second-order" in ds.attrs["command_line"]
    assert png.stat().st_size > 10_000


def test_morris_with_params_and_scenario(tmp_path, printed):
    scenario = tmp_path / "b.toml"
    scenario.write_text('description = "b"\n[parameters]\n"X3" = 1.0\n')
    nc = tmp_path / "m.nc"
    argv = [
        "sensitivity", ISHIGAMI, "-o", "Ishigami", "--method", "morris", "--n", "20",
        "--params", "X1, X2", "--scenario", str(scenario), "--seed", "1", "--out", str(nc),
    ]  # fmt: skip
    assert run_cli(argv) == 0
    ds = xr.load_dataset(nc)
    assert list(ds.parameter.values) == ["X1", "X2"]
    assert ds.attrs["base"] == "scenario b.toml" and ds.attrs["method"] == "morris"
    assert "mu_star" in printed.out


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["-o", "Nope"], "unknown variable 'Nope'"),
        (["-o", "Ishigami", "--n", "100"], "power of two"),
        (["-o", "Ishigami", "--params", "X1,Y"], "unknown parameter 'Y'"),
        (["-o", "Ishigami", "--plot", "x.gif"], "cannot write a plot"),
        (["-o", "Ishigami", "--at", "7"], "not a saved time"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(extra, words, capsys):
    assert run_cli(["sensitivity", ISHIGAMI, *extra]) == 2
    err = capsys.readouterr().err.strip()  # main's error line is a plain print
    assert err.startswith("error:") and words in err and "\n" not in err


def test_ctrl_c_stops_cleanly_and_writes_nothing(tmp_path, monkeypatch, printed):
    from gvcdyn.sensitivity import study

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(study, "run_design", interrupted)
    nc = tmp_path / "s.nc"
    argv = ["sensitivity", ISHIGAMI, "-o", "Ishigami", "--n", "64", "--out", str(nc)]
    assert run_cli(argv) == 130
    assert "interrupted" in printed.err
    assert not nc.exists() and not list(tmp_path.iterdir())
