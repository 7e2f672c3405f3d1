"""``--data FILE`` on ``gvcdyn run`` and ``gvcdyn check`` (issue 9's leftover), as a user runs it.

The suite model ``data_from_other_model`` has data variables without an equation: their
values are another run's output (``data.tab``). Through the installed console script,
the file given with ``--data`` (relative to the working directory) feeds the run and the
check against Vensim's output; a model that needs data and got none, a missing file, or
a file without the variable's column is one line naming the variable or the file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import xarray as xr
from test_cli_usability import assert_one_line_error, gvcdyn

SUITE_MODEL = Path(__file__).parent / "sd-test-models" / "data_from_other_model"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model in one folder, its data file in another (the working directory)."""
    root = tmp_path_factory.mktemp("data")
    (root / "model").mkdir()
    shutil.copy(SUITE_MODEL / "test_data_from_other_model.mdl", root / "model" / "m.mdl")
    shutil.copy(SUITE_MODEL / "output.tab", root / "model" / "vensim.tab")
    shutil.copy(SUITE_MODEL / "data.tab", root / "other_run.tab")
    return root


def test_run_reads_the_data_file_given_relative_to_the_working_directory(folder: Path) -> None:
    result = gvcdyn(
        "run", "model/m.mdl", "--data", "other_run.tab", "--out", "r.nc", "--vars", "stock",
        cwd=folder,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with xr.open_dataset(folder / "r.nc") as ds:
        assert float(abs(ds["stock"].isel(time=-1)).max()) > 0
        assert "other_run.tab" in ds.attrs["data_files"]  # the provenance names the file


def test_check_agrees_with_vensim_given_the_data_file(folder: Path) -> None:
    result = gvcdyn(
        "check", "model/m.mdl", "--reference", "model/vensim.tab", "--data", "other_run.tab",
        cwd=folder,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout


@pytest.mark.parametrize("command", ["run", "check"])
def test_a_model_that_needs_data_and_got_none_names_the_variable_and_the_option(
    folder: Path, command: str
) -> None:
    result = gvcdyn(command, "model/m.mdl", cwd=folder)
    assert_one_line_error(result, "'var 0dim'", "data variable", "--data FILE")


@pytest.mark.parametrize("command", ["run", "check"])
def test_a_missing_data_file_is_named(folder: Path, command: str) -> None:
    result = gvcdyn(command, "model/m.mdl", "--data", "no_such_run.tab", cwd=folder)
    assert_one_line_error(result, "--data no_such_run.tab", "not found")


def test_a_data_file_without_the_variable_names_both(folder: Path) -> None:
    result = gvcdyn("run", "model/m.mdl", "--data", "model/vensim.tab", cwd=folder)
    assert_one_line_error(result, "'var 0dim'", "vensim.tab")


def test_the_data_file_a_model_reads_gives_no_warning(folder: Path) -> None:
    result = gvcdyn("run", "model/m.mdl", "--data", "other_run.tab", "--vars", "stock", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr, result.stderr


def test_a_data_file_the_model_does_not_read_is_said(tmp_path: Path) -> None:
    """The toy model has no data variable: '--data other_run.tab' fed nothing, and the
    run was the model's defaults without a word (exit 0), to a user who meant it to."""
    toy = Path(__file__).parent / "data" / "calibration" / "toy_upgrading.mdl"
    shutil.copy(SUITE_MODEL / "data.tab", tmp_path / "other_run.tab")
    result = gvcdyn("run", toy, "--data", "other_run.tab", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    said = " ".join(result.stderr.split())
    assert "warning: --data other_run.tab: the model read nothing from it" in said, said
