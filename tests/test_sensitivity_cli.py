"""``gvcdyn sensitivity`` end to end: files written, errors as one line, Ctrl-C clean."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from console import gvcdyn

from gvcdyn.cli import common, run_cli

ISHIGAMI = str(Path(__file__).parent / "models" / "ishigami.mdl")
REPO = Path(__file__).resolve().parents[1]
GVC = REPO / "models" / "gvc_upgrading.mdl"
CAPTIVE = REPO / "models" / "scenarios" / "captive.toml"


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
        "sensitivity", ISHIGAMI, "--vars", "Ishigami", "--output", "Accumulated Ishigami",
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
        "sensitivity", ISHIGAMI, "--vars", "Ishigami", "--method", "morris", "--n", "20",
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
        (["--vars", "Nope"], "unknown variable 'Nope'"),
        (["--vars", "Ishigami", "--n", "100"], "power of two"),
        (["--vars", "Ishigami", "--params", "X1,Y"], "unknown parameter 'Y'"),
        (["--vars", "Ishigami", "--plot", "x.gif"], "cannot write a plot"),
        (["--vars", "Ishigami", "--at", "7"], "not a saved time"),
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
    argv = ["sensitivity", ISHIGAMI, "--vars", "Ishigami", "--n", "64", "--out", str(nc)]
    assert run_cli(argv) == 130
    assert "interrupted" in printed.err
    assert not nc.exists() and not list(tmp_path.iterdir())


def test_a_scenario_that_sets_varied_levers_is_refused_naming_them(tmp_path):
    """captive.toml sets 6 of the 18 Levers-view levers: the study would ignore them all."""
    done = gvcdyn("sensitivity", GVC, "--vars", "Functional Upgrading", "--n", "4",
                  "--scenario", CAPTIVE, "--out", tmp_path / "s.nc")  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    (line,) = lines
    assert line.startswith("error: scenario captive.toml sets 6 of the levers"), line
    for lever in ("Initial Buyer Control", "Buyer Challenge", "Buyer Support",
                  "Buyer Blocking Strength", "National Market Share", "Shock Size"):  # fmt: skip
        assert f"'{lever}'" in line, (lever, line)
    assert "--params" in line
    assert not list(tmp_path.iterdir())


def test_a_fit_that_sets_a_varied_lever_is_refused(tmp_path, capsys):
    fit = tmp_path / "fit.nc"
    coords = {"parameter": ["X3", "B"]}
    xr.Dataset({"estimate": ("parameter", [0.5, 0.2])}, coords=coords).to_netcdf(fit)
    argv = ["sensitivity", ISHIGAMI, "--vars", "Ishigami", "--params", "X1,X3", "--fit", str(fit)]
    assert run_cli(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: fit fit.nc sets 1 of the levers") and "'X3'" in err, err
    assert "'B'" not in err and "'X1'" not in err and "\n" not in err
    assert run_cli([*argv[:-3], "X1,X2", "--fit", str(fit), "--n", "8"]) == 0  # X3 not varied


def test_a_base_mapping_that_sets_a_varied_lever_is_refused_by_the_library():
    import gvcdyn
    from gvcdyn.errors import SensitivityDesignError
    from gvcdyn.sensitivity import study as sens

    model = gvcdyn.load(ISHIGAMI)
    with pytest.raises(SensitivityDesignError, match=r"the base values sets 1 .*'X2'"):
        sens.prepare(model, ["Ishigami"], params=["X1", "X2"], base={"x2": 1.0, "X3": 0.5})
    study = sens.prepare(model, ["Ishigami"], params=["X1", "X2"], base={"X3": 0.5})
    assert study.base_label == "values given"


def test_the_table_says_how_many_parameters_it_leaves_out():
    """17 levers (the Levers view's 18 less its timing lever, Shock Year: issue 19), 15
    rows: the note names the 2 others; with 15 or fewer, no note."""
    done = gvcdyn("sensitivity", GVC, "--vars", "Functional Upgrading", "--n", "4", "--seed", "1")
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 15, done.stdout
    assert "... and 2 more parameters ranked lower (--out writes them all)" in done.stdout
    few = gvcdyn("sensitivity", GVC, "--vars", "Functional Upgrading", "--n", "4", "--seed", "1",
                 "--params", "Shock Size,Buyer Support")  # fmt: skip
    assert few.returncode == 0, few.stderr
    assert "more parameter" not in few.stdout


def test_the_command_is_the_library_analyse_sized_by_executor_from_options(monkeypatch, printed):
    """``gvcdyn sensitivity`` runs ``gvcdyn.sensitivity.analyse``, and its executor is
    still chosen by the design's number of runs (a large one gets a local cluster)."""
    from gvcdyn.cli import sensitivity as command
    from gvcdyn.sensitivity import study

    calls, sized = [], []
    real_analyse, real_executor = study.analyse, command.executor_from_options

    def analyse(*args, **kwargs):
        calls.append(kwargs)
        return real_analyse(*args, **kwargs)

    def executor_from_options(workers, scheduler, *, n_runs):
        sized.append((workers, scheduler, n_runs))
        return real_executor(workers, scheduler, n_runs=n_runs)

    monkeypatch.setattr(study, "analyse", analyse)
    monkeypatch.setattr(command, "executor_from_options", executor_from_options)
    argv = ["sensitivity", ISHIGAMI, "--vars", "Ishigami", "--n", "8", "--workers", "0"]
    assert run_cli(argv) == 0
    assert len(calls) == 1 and calls[0]["method"] == "sobol"
    assert sized == [(0, None, 8 * (3 + 2))]  # N Saltelli blocks of D + 2 rows
    assert "Ishigami at time" in printed.out
