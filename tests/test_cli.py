"""The what-if workflow end to end: the real ``gvcdyn`` console script, plus its library.

Command tests call the installed script through ``subprocess`` (what a modeler types),
so they also prove the entry point, the exit codes and that errors are one line with no
traceback. Each call pays Python + numba import (and a kernel load when it simulates),
so expensive outputs are produced once per module by fixtures and shared. The library
tests (scenario parsing, batching, the netCDF round trip, atomic writes, plotting) run
in-process and take milliseconds once the model is loaded.
"""

from __future__ import annotations

import json
import subprocess
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from conftest import sd_test_models_dir
from console import assert_one_line_error, gvcdyn

from gvcdyn.errors import GvcdynError, ParameterValueError, UnknownParameterError
from gvcdyn.whatif.scenarios import (
    Scenario,
    ScenarioFileError,
    ScenarioFormatError,
    SpecSyntaxError,
    build_batch,
    parse_set,
    parse_sweep,
    read_scenario,
)

REPO = Path(__file__).resolve().parents[1]
GVC = REPO / "models" / "gvc_upgrading.mdl"
SCENARIOS = REPO / "models" / "scenarios"
SUITE = sd_test_models_dir()
SIR = SUITE / "SIR" / "SIR.mdl"
SIR_OUTPUT = SUITE / "SIR" / "output.csv"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
OUTCOMES = (
    "Unit Value",
    "Value Capture Share",
    "Market Position",
    "Innovation Gap",
    "Market Share",
    "Innovation Capability",
)

Completed = subprocess.CompletedProcess[str]

needs_sir = pytest.mark.skipif(not SIR.is_file(), reason=f"reference model not found at {SIR}")


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- shared runs


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Completed]:
    """``gvcdyn demo`` run from an unrelated directory, once for the module."""
    cwd = tmp_path_factory.mktemp("demo")
    return cwd, gvcdyn("demo", cwd=cwd)


SWEEP_ARGS = (
    "--scenario",
    SCENARIOS / "captive.toml",
    "--scenario",
    SCENARIOS / "no-shock.toml",
    "--set",
    "Buyer Challenge=0.7",
    "--set",
    "Buyer Support=1.05",  # outside [0, 1]: allowed explicitly below
    "--sweep",
    "Shock Size=0:0.8:3",
    "--vars",
    "Unit Value,Market Share",
    "--allow-out-of-range",
)


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Completed]:
    """Two scenarios x a 3-point sweep (6 runs in one batch) with --out and --plot."""
    cwd = tmp_path_factory.mktemp("sweep")
    result = gvcdyn(
        "run", GVC, *SWEEP_ARGS, "--out", "out/sweep.nc", "--plot", "out/sweep.png", cwd=cwd
    )
    return cwd, result


@pytest.fixture(scope="module")
def gvc_model():
    import gvcdyn as lib

    return lib.load(GVC)


# --------------------------------------------------------------------------- demo


def test_demo_writes_results_from_any_directory(demo_dir) -> None:
    cwd, result = demo_dir
    assert result.returncode == 0, result.stderr
    nc, png = cwd / "results" / "demo.nc", cwd / "results" / "demo.png"
    assert nc.is_file() and png.is_file()
    assert str(Path("results") / "demo.nc") in result.stdout
    assert str(Path("results") / "demo.png") in result.stdout
    # the summary table: every standard scenario and every main outcome
    for toml in SCENARIOS.glob("*.toml"):
        assert toml.stem in result.stdout
    for name in OUTCOMES:
        assert name in result.stdout
    # no temporary files left behind by the atomic writes
    assert sorted(p.name for p in (cwd / "results").iterdir()) == ["demo.nc", "demo.png"]


def test_demo_netcdf_opens_in_plain_xarray(demo_dir) -> None:
    cwd, _ = demo_dir
    with xr.open_dataset(cwd / "results" / "demo.nc") as ds:
        n = len(list(SCENARIOS.glob("*.toml")))
        assert ds.sizes["run"] == n
        assert sorted(map(str, ds["scenario"].values)) == sorted(
            p.stem for p in SCENARIOS.glob("*.toml")
        )
        assert set(ds.dims) >= {"run", "time", "lever"}
        for key in (
            "model_sha256",
            "gvcdyn_version",
            "command_line",
            "method",
            "time_step",
            "created",
        ):
            assert key in ds.attrs, key
        assert ds.attrs["command_line"].endswith("demo")
        assert ds.attrs["method"] == "rk23"  # the shipped model's settings file (issue 21)
        assert ds["Unit Value"].attrs["units"] == "Dmnl"
        assert ds["Unit Value"].attrs["description"]
        assert (ds["status"].values == 0).all()
        # lever values are coordinates; the policy-shock scenario has its shock
        shock = ds["lever_value"].sel(lever="Shock Size")
        by_label = dict(zip(map(str, ds["scenario"].values), shock.values, strict=True))
        assert by_label["policy-shock"] == pytest.approx(0.8)
        assert by_label["no-shock"] == 0.0


def test_demo_png_is_valid_and_not_trivial(demo_dir) -> None:
    cwd, _ = demo_dir
    data = (cwd / "results" / "demo.png").read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 30_000


# --------------------------------------------------------------------------- run


def test_run_sweep_is_one_batch_with_labels_and_levers(sweep_run) -> None:
    cwd, result = sweep_run
    assert result.returncode == 0, result.stderr
    assert "out/sweep.nc" in result.stdout and "out/sweep.png" in result.stdout
    assert "captive, Shock Size=0.4" in result.stdout
    with xr.open_dataset(cwd / "out" / "sweep.nc") as ds:
        assert ds.sizes["run"] == 6
        assert list(map(str, ds["scenario"].values)) == [
            f"{s}, Shock Size={v}" for s in ("captive", "no-shock") for v in ("0", "0.4", "0.8")
        ]
        levers = ds["lever_value"]
        np.testing.assert_allclose(levers.sel(lever="Shock Size"), [0, 0.4, 0.8] * 2)
        np.testing.assert_allclose(levers.sel(lever="Buyer Support"), 1.05)  # --set wins
        np.testing.assert_allclose(levers.sel(lever="Buyer Challenge"), 0.7)
        np.testing.assert_allclose(
            levers.sel(lever="Initial Buyer Control"), [0.9] * 3 + [0.5] * 3
        )  # captive file, then default
        assert ds.attrs["allow_out_of_range"] == 1
        over_time = {name for name, var in ds.data_vars.items() if "time" in var.dims}
        assert over_time == {"Unit Value", "Market Share"}
        assert "status" in ds.data_vars
        assert ds["Shock Size"].dims == ("run",)  # each run's parameter values come along
        assert ds["Unit Value"].dims == ("run", "time")


def test_run_results_equal_the_library_run(sweep_run, gvc_model) -> None:
    """What the CLI wrote is what Model.run computes for the same batch."""
    cwd, _ = sweep_run
    scenarios = [read_scenario(SCENARIOS / f"{s}.toml") for s in ("captive", "no-shock")]
    batch = build_batch(
        gvc_model,
        scenarios,
        ["Buyer Challenge=0.7", "Buyer Support=1.05"],
        ["Shock Size=0:0.8:3"],
        allow_out_of_range=True,
    )
    expected = gvc_model.run(
        batch.params, variables=["Unit Value", "Market Share"], allow_out_of_range=True
    )
    with xr.open_dataset(cwd / "out" / "sweep.nc") as ds:
        for name in ("Unit Value", "Market Share"):
            np.testing.assert_array_equal(ds[name].values, expected[name].values)


def test_run_plot_is_a_png(sweep_run) -> None:
    cwd, _ = sweep_run
    data = (cwd / "out" / "sweep.png").read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 20_000


# --------------------------------------------------------------------------- params


def test_params_table_csv_json() -> None:
    table = gvcdyn("params", GVC)
    assert table.returncode == 0, table.stderr
    assert "Shock Size" in table.stdout and "[0, 1]" in table.stdout
    csv = gvcdyn("params", GVC, "--format", "csv")
    assert csv.returncode == 0, csv.stderr
    frame = pd.read_csv(StringIO(csv.stdout))
    assert list(frame.columns) == ["name", "default", "min", "max", "units", "doc"]
    row = frame.set_index("name").loc["Shock Year"]
    assert (row["default"], row["min"], row["max"]) == (5.0, 0.0, 40.0)
    js = gvcdyn("params", GVC, "--format", "json")
    assert js.returncode == 0, js.stderr
    records = {r["name"]: r for r in json.loads(js.stdout)}
    assert len(records) == len(frame)
    assert records["Shock Size"]["units"] == "Dmnl"


# --------------------------------------------------------------------------- error paths


def test_error_unknown_lever_in_scenario(tmp_path: Path) -> None:
    bad = write_toml(
        tmp_path / "typo.toml", 'description = "x"\n[parameters]\n"Shock Sise" = 0.5\n'
    )
    assert_one_line_error(
        gvcdyn("run", GVC, "--scenario", bad),
        "typo.toml",
        "Shock Sise",
        "did you mean",
        "Shock Size",
    )


def test_error_out_of_range_in_scenario(tmp_path: Path) -> None:
    bad = write_toml(tmp_path / "big.toml", 'description = "x"\n[parameters]\n"Shock Size" = 2\n')
    assert_one_line_error(
        gvcdyn("run", GVC, "--scenario", bad),
        "big.toml",
        "'Shock Size'",
        "[0, 1]",
        "--allow-out-of-range",
    )


def test_error_malformed_toml(tmp_path: Path) -> None:
    bad = write_toml(tmp_path / "broken.toml", 'description = "unclosed\n[parameters\n')
    assert_one_line_error(gvcdyn("run", GVC, "--scenario", bad), "broken.toml", "TOML")


def test_error_missing_model_file(tmp_path: Path) -> None:
    assert_one_line_error(gvcdyn("run", tmp_path / "nope.mdl"), "nope.mdl", "not found")


def test_error_bad_set_syntax() -> None:
    assert_one_line_error(gvcdyn("run", GVC, "--set", "Shock Size 0.5"), "--set", "NAME=VALUE")


def test_error_bad_sweep_syntax() -> None:
    assert_one_line_error(
        gvcdyn("run", GVC, "--sweep", "Shock Size=0:1"), "--sweep", "NAME=START:STOP:N"
    )


def test_error_out_of_range_set_and_missing_scenario(tmp_path: Path) -> None:
    assert_one_line_error(
        gvcdyn("run", GVC, "--set", "Shock Size=3"), "--set", "Shock Size", "[0, 1]"
    )
    assert_one_line_error(
        gvcdyn("run", GVC, "--scenario", tmp_path / "missing.toml"), "missing.toml", "not found"
    )


# --------------------------------------------------------------------------- check


@needs_sir
def test_check_sir_against_vensim_output() -> None:
    result = gvcdyn("check", SIR, "--reference", SIR_OUTPUT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout


@needs_sir
def test_check_fails_on_a_wrong_reference(tmp_path: Path) -> None:
    from gvcdyn.io.reference import read_reference

    ref = read_reference(SIR_OUTPUT)
    ref["Infectious"] = ref["Infectious"] * 1.1
    wrong = tmp_path / "wrong.csv"
    ref.to_csv(wrong, index_label="Time")
    result = gvcdyn("check", SIR, "--reference", wrong)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL" in result.stdout and "Infectious" in result.stdout


@needs_sir
def test_check_tolerances_decide_the_verdict(tmp_path: Path) -> None:
    """--rtol/--atol are the comparison rule: a reference 10% off fails at the default
    rtol and passes at rtol 0.2."""
    from gvcdyn.io.reference import read_reference

    ref = read_reference(SIR_OUTPUT)
    ref["Infectious"] = ref["Infectious"] * 1.1
    off = tmp_path / "off.csv"
    ref.to_csv(off, index_label="Time")
    assert gvcdyn("check", SIR, "--reference", off, "--rtol", "1e-3").returncode == 1
    loose = gvcdyn("check", SIR, "--reference", off, "--rtol", "0.2", "--atol", "1e-6")
    assert loose.returncode == 0, loose.stdout + loose.stderr


def test_run_integration_settings(tmp_path: Path) -> None:
    """--integration, --final-time and --time-step reach the kernel and the file's provenance."""
    result = gvcdyn(
        "run",
        GVC,
        "--integration",
        "rk4",
        "--final-time",
        "12",
        "--time-step",
        "0.0625",
        "--vars",
        "Market Share",
        "--out",
        "settings.nc",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with xr.open_dataset(tmp_path / "settings.nc") as ds:
        assert ds.attrs["method"] == "rk4"
        assert float(ds.attrs["time_step"]) == 0.0625
        assert float(ds["time"].values[-1]) == 12.0


def test_demo_out_dir(tmp_path: Path) -> None:
    """demo --out (a folder) writes its two files there."""
    result = gvcdyn("demo", "--out", "elsewhere", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "elsewhere" / "demo.nc").is_file()
    assert (tmp_path / "elsewhere" / "demo.png").read_bytes().startswith(PNG_MAGIC)


def test_check_missing_reference_is_an_error(tmp_path: Path) -> None:
    assert_one_line_error(gvcdyn("check", GVC, "--reference", tmp_path / "none.csv"), "none.csv")


@pytest.mark.slow
def test_check_gvc_against_pysd() -> None:
    before = set((REPO / "models").iterdir())
    result = gvcdyn("check", GVC)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout and "PySD" in result.stdout
    assert set((REPO / "models").iterdir()) == before  # PySD ran on a copy


def test_every_command_help_shows_an_example() -> None:
    """One real --help through the script; each command's help in-process (it is static)."""
    from typer.testing import CliRunner

    from gvcdyn.cli import app

    top = gvcdyn("--help")
    assert top.returncode == 0, top.stderr
    for command in ("run", "params", "demo", "check"):
        assert command in top.stdout
        result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        assert "Example" in result.output and f"gvcdyn {command}" in result.output


# --------------------------------------------------------------------------- library


def test_parse_set_and_sweep() -> None:
    assert parse_set("Shock Size=0.5") == ("Shock Size", 0.5)
    assert parse_set(" Shock Size = 1e-2 ") == ("Shock Size", 0.01)
    name, values = parse_sweep("Shock Size=0:0.8:5")
    assert name == "Shock Size"
    np.testing.assert_allclose(values, [0, 0.2, 0.4, 0.6, 0.8])
    for bad in ("Shock Size", "=1", "Shock Size=", "x=abc", "x=nan"):
        with pytest.raises(SpecSyntaxError):
            parse_set(bad)
    for bad in ("x=0:1", "x=0:1:0", "x=a:1:2", "x=0:1:2.5", "x", "x=0:1:2:3"):
        with pytest.raises(SpecSyntaxError):
            parse_sweep(bad)


def test_read_scenario_errors(tmp_path: Path) -> None:
    ok = read_scenario(SCENARIOS / "captive.toml")
    assert ok.name == "captive" and ok.parameters["Initial Buyer Control"] == 0.9
    with pytest.raises(ScenarioFileError):
        read_scenario(tmp_path / "none.toml")
    cases = {
        "notoml": "[parameters\n",
        "nolever": 'description = "x"\n',
        "typo": '[parameter]\n"Shock Size" = 1\n',
        "string": '[parameters]\n"Shock Size" = "high"\n',
        "bool": '[parameters]\n"Shock Size" = true\n',
    }
    for stem, text in cases.items():
        path = write_toml(tmp_path / f"{stem}.toml", text)
        with pytest.raises(ScenarioFormatError, match=stem):
            read_scenario(path)


def test_build_batch_grid_and_precedence(gvc_model) -> None:
    base = Scenario("a", {"Shock Size": 0.1, "Buyer Support": 0.2}, "", "a.toml")
    other = Scenario("b", {}, "", "b.toml")
    batch = build_batch(
        gvc_model, [base, other], ["buyer support=0.3"], ["Shock Year=1:3:3", "Shock Size=0:1:2"]
    )
    assert batch.n_runs == 2 * 3 * 2
    assert batch.labels[0] == "a, Shock Year=1, Shock Size=0"
    assert batch.labels[-1] == "b, Shock Year=3, Shock Size=1"
    np.testing.assert_allclose(batch.params["Buyer Support"], 0.3)  # --set beats the file
    np.testing.assert_allclose(batch.params["Shock Size"], [0, 1] * 6)  # sweep beats the file
    np.testing.assert_allclose(batch.params["Shock Year"][:6], [1, 1, 2, 2, 3, 3])
    assert batch.levers == ("Shock Size", "Buyer Support", "Shock Year")
    default = build_batch(gvc_model)
    assert default.labels == ("default",) and default.params == {}


def test_build_batch_errors_name_the_source(gvc_model) -> None:
    with pytest.raises(UnknownParameterError, match=r"x\.toml: key 'Shok Size'"):
        build_batch(gvc_model, [Scenario("x", {"Shok Size": 0.1}, "", "x.toml")])
    with pytest.raises(ParameterValueError, match=r"--sweep.*\[0, 40\]"):
        build_batch(gvc_model, sweeps=["Shock Year=0:50:3"])
    batch = build_batch(gvc_model, sweeps=["Shock Year=0:50:3"], allow_out_of_range=True)
    assert batch.params["Shock Year"].max() == 50
    assert issubclass(SpecSyntaxError, GvcdynError)


def test_netcdf_round_trip(gvc_model, tmp_path: Path) -> None:
    from gvcdyn.io.results_io import netcdf_safe, write_netcdf
    from gvcdyn.whatif import annotate

    batch = build_batch(
        gvc_model,
        [read_scenario(SCENARIOS / "policy-shock.toml")],
        sweeps=["Scouting Intensity=0:1:3"],
    )
    ds = annotate(gvc_model.run(batch.params), batch, gvc_model, command_line=["gvcdyn", "x"])
    ds.attrs["odd_none"], ds.attrs["odd_bool"], ds.attrs["odd_dict"] = None, True, {"a": 1}
    path = write_netcdf(ds, tmp_path / "r.nc")
    with xr.open_dataset(path) as back:
        back.load()
    xr.testing.assert_identical(back, netcdf_safe(ds))
    np.testing.assert_array_equal(back["Unit Value"].values, ds["Unit Value"].values)
    assert back.attrs["odd_none"] == "" and back.attrs["odd_bool"] == 1
    assert json.loads(back.attrs["odd_dict"]) == {"a": 1}
    assert back.attrs["command_line"] == "gvcdyn x"


def test_atomic_write_leaves_nothing_half_written(tmp_path: Path) -> None:
    from gvcdyn.io.results_io import atomic_write

    target = tmp_path / "r.nc"
    target.write_bytes(b"old")

    def broken(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, broken)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.nc"]


def test_plot_runs_in_process(gvc_model, tmp_path: Path) -> None:
    from gvcdyn.errors import UnknownVariableError
    from gvcdyn.io.plotting import plot_runs

    ds = gvc_model.run(
        {"Shock Size": np.linspace(0, 1, 20)}, variables=["Unit Value", "Market Share"]
    )
    path = plot_runs(ds, ["Unit Value", "Market Share"], tmp_path / "p" / "many.png")
    assert path.read_bytes().startswith(PNG_MAGIC)
    with pytest.raises(UnknownVariableError):
        plot_runs(ds, ["Wage"], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
