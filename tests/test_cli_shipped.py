"""The shipped model, its scenarios and its calibration data by name (issue 22).

Every command takes the model shipped with gvcdyn by name (``gvc_upgrading``), its
scenarios by name (``captive``) and its calibration config by the model's name, from any
directory; a path that exists always wins over a name; an unknown name lists the shipped
ones; ``gvcdyn models`` lists them. The wheel ships the model, its scenarios, the
calibration config, the case table and the mapping, and no scripts. Each test runs the
console script in a subprocess from an unrelated directory, as a user would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import xarray as xr
from console import assert_one_line_error as one_line_error
from console import gvcdyn
from mdl_helpers import write_mdl

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = sorted(p.stem for p in (REPO / "models" / "scenarios").glob("*.toml"))
#: What a build needs from the repository (as tests/test_cli_install.py copies it).
SOURCES = ("pyproject.toml", "setup.py", "README.md", "gvcdyn", "models", "calibration")


def test_models_lists_the_shipped_models_scenarios_and_calibration(tmp_path: Path) -> None:
    result = gvcdyn("models", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "gvc_upgrading" in result.stdout
    for scenario in SCENARIOS:
        assert scenario in result.stdout
    assert "calibration/config.toml" in result.stdout
    assert "gvcdyn calibrate gvc_upgrading" in result.stdout


def test_params_takes_the_shipped_model_by_name_from_anywhere(tmp_path: Path) -> None:
    for name in ("gvc_upgrading", "gvc_upgrading.mdl", "models/gvc_upgrading.mdl"):
        result = gvcdyn("params", name, "--format", "csv", cwd=tmp_path)
        assert result.returncode == 0, (name, result.stderr)
        assert "Initial Buyer Control" in result.stdout


def test_run_takes_the_model_and_its_scenarios_by_name(tmp_path: Path) -> None:
    result = gvcdyn(
        "run", "gvc_upgrading", "-s", "captive", "-s", "scenarios/no-shock.toml",
        "--vars", "Unit Value", "--out", "out.nc", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with xr.open_dataset(tmp_path / "out.nc") as ds:
        assert [str(s) for s in ds["scenario"].values] == ["captive", "no-shock"]
        assert Path(ds.attrs["model_file"]).name == "gvc_upgrading.mdl"
        control = ds.lever_value.sel(lever="Initial Buyer Control").values
    assert list(control) == [0.9, 0.5]  # captive.toml's value, then the model default


def test_a_path_that_exists_wins_over_a_name(tmp_path: Path) -> None:
    rate = "rate = 0.1\n\t~\t1/Month [0, 1]\n\t~\tA rate.\n\t|\n"
    write_mdl(tmp_path, rate, name="gvc_upgrading")
    result = gvcdyn("params", "gvc_upgrading.mdl", "--format", "csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "rate" in result.stdout and "Initial Buyer Control" not in result.stdout

    (tmp_path / "captive").write_text('[parameters]\n"Buyer Support" = 0.125\n', encoding="utf-8")
    result = gvcdyn("run", "gvc_upgrading", "-s", "captive", "--out", "r.nc", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with xr.open_dataset(tmp_path / "r.nc") as ds:
        assert float(ds.lever_value.sel(lever="Buyer Support").values[0]) == 0.125
        assert "Initial Buyer Control" not in ds["lever"].values  # the shipped captive sets it


def test_unknown_names_list_the_shipped_ones(tmp_path: Path) -> None:
    for command in ("params", "run", "check", "sensitivity"):
        args = ("--vars", "Market Share") if command == "sensitivity" else ()
        line = one_line_error(gvcdyn(command, "gvc_upgradin", *args, cwd=tmp_path))
        assert "model file not found: gvc_upgradin" in line and "gvc_upgrading" in line, line
        assert "gvcdyn models" in line
    one_line_error(
        gvcdyn("run", "gvc_upgrading", "-s", "captiv", cwd=tmp_path),
        "scenario file not found: captiv",
        "captive, fdi-led-start",
    )
    one_line_error(
        gvcdyn("calibrate", "gvc_upgradin", cwd=tmp_path),
        "calibration config not found: gvc_upgradin",
        "gvc_upgrading (calibration/config.toml)",
    )


def test_calibrate_takes_the_shipped_config_by_name(tmp_path: Path) -> None:
    """The config is found and read (with its cases and mapping): the command gets as far
    as refusing an output it cannot write, before any fitting."""
    (tmp_path / "file").write_text("", encoding="utf-8")
    for name in ("gvc_upgrading", "calibration/config.toml"):
        result = gvcdyn("calibrate", name, "--out", "file/fit.nc", cwd=tmp_path)
        line = one_line_error(result, "file/fit.nc")
        assert "not found" not in line, line


def test_sensitivity_takes_the_model_and_scenario_by_name(tmp_path: Path) -> None:
    result = gvcdyn(
        "sensitivity", "gvc_upgrading", "--vars", "Market Share", "--scenario", "captive",
        "--params", "State Participation,Local Learning Rate", "--n", "8", "--seed", "1",
        "--out", "sens.nc", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with xr.open_dataset(tmp_path / "sens.nc") as ds:
        assert "captive.toml" in ds.attrs["base"]
        assert sorted(str(p) for p in ds["parameter"].values) == [
            "Local Learning Rate",
            "State Participation",
        ]


def test_the_wheel_ships_the_data_and_no_scripts(tmp_path: Path) -> None:
    """Built from a copy of the sources, as pip builds a user's install."""
    source = tmp_path / "src"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.png", "*.md~")
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    offline = ["--no-deps", "--no-build-isolation", "--no-index"]  # the test extra's wheel
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", *offline, "-w", tmp_path / "dist", source],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("gvcdyn-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {n for n in names if n.startswith("gvcdyn/bundled/")}
    expected = {
        "gvcdyn/bundled/__init__.py",
        "gvcdyn/bundled/loading.py",  # gvcdyn.load, which takes a shipped model's name
        "gvcdyn/bundled/models/README.md",
        "gvcdyn/bundled/calibration/config.toml",
        "gvcdyn/bundled/calibration/gvc_cases.csv",
        "gvcdyn/bundled/calibration/case_levers.toml",
        *(f"gvcdyn/bundled/models/scenarios/{s}.toml" for s in SCENARIOS),
        "gvcdyn/bundled/models/gvc_upgrading.mdl",
        "gvcdyn/bundled/models/gvc_upgrading.settings.toml",  # its integration method
        "gvcdyn/bundled/models/gvc_upgrading.checks.toml",
    }
    assert "gvcdyn/bundled/models/gvc_upgrading.mdl" in shipped
    assert not any("v3" in n for n in shipped)  # a draft model is not released
    assert shipped == expected, sorted(shipped ^ expected)
    scripts = [n for n in names if n.endswith(".py") and not n.startswith("gvcdyn/")]
    assert not scripts, scripts


def test_a_folder_of_that_name_does_not_hide_the_shipped_model(tmp_path: Path) -> None:
    (tmp_path / "gvc_upgrading").mkdir()
    (tmp_path / "captive").mkdir()
    result = gvcdyn("run", "gvc_upgrading", "-s", "captive", "--vars", "Unit Value", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "captive" in result.stdout
