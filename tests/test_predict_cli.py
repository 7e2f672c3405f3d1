"""``gvcdyn predict`` through the console script: what it says about the draws it used.

A toy fit with bootstrap replicates is made once (small settings: this checks the
command's report, not the fit); ``--point`` must say that it leaves the replicates out,
not that the fit has none, and the default must say that it averages over them.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import console
import numpy as np
import pandas as pd
import pytest
from console import gvcdyn

from gvcdyn.calibrate.config import load_config
from gvcdyn.calibrate.study import calibrate
from gvcdyn.io.results_io import write_netcdf

DATA = Path(__file__).parent / "data" / "calibration"
REPLICATES = 3


@pytest.fixture(scope="module")
def fit_and_cases(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("predict")
    config = replace(
        load_config(DATA / "toy_config.toml"),
        seeds=(1,),
        popsize=5,
        maxiter=3,
        profile_points=3,
        bootstrap=REPLICATES,
    )
    path = write_netcdf(calibrate(config, command_line=["gvcdyn", "calibrate"]), folder / "fit.nc")
    frame = pd.read_csv(DATA / "toy_cases.csv", dtype=str, keep_default_na=False).head(4)
    cases = folder / "new.csv"
    frame.drop(columns=["skill_upg", "outcome_class"]).to_csv(cases, index=False)
    return path, cases


def test_point_says_it_leaves_the_replicates_out(fit_and_cases, tmp_path):
    fit, cases = fit_and_cases
    point = gvcdyn("predict", "--fit", fit, "--cases", cases, "--point", "--out",
                   tmp_path / "point.csv")  # fmt: skip
    assert point.returncode == 0, point.stderr
    assert "no bootstrap replicates" not in point.stdout, point.stdout
    said = f"point estimate only, as asked (the fit's {REPLICATES} bootstrap replicates not used)"
    assert said in " ".join(point.stdout.split()), point.stdout
    meta = json.loads((tmp_path / "point.json").read_text())
    assert meta["n_draws"] == 1 and meta["uncertainty"] == said

    averaged = gvcdyn("predict", "--fit", fit, "--cases", cases, "--out", tmp_path / "all.csv")
    assert averaged.returncode == 0, averaged.stderr
    assert f"{REPLICATES} case-bootstrap replicates" in " ".join(averaged.stdout.split())
    assert json.loads((tmp_path / "all.json").read_text())["n_draws"] == 1 + REPLICATES
    p_point = pd.read_csv(tmp_path / "point.csv")["p_rise"].to_numpy()
    p_all = pd.read_csv(tmp_path / "all.csv")["p_rise"].to_numpy()
    assert np.all(np.isfinite(p_point)) and not np.allclose(p_point, p_all, rtol=0, atol=1e-6)


def test_a_case_file_with_only_a_header_is_refused(fit_and_cases, tmp_path):
    """No rows is a mistake (the wrong file, or an export that failed), not '0 of 0 cases
    predicted' with exit 0: refused in one line naming the file and what it needs."""
    fit, cases = fit_and_cases
    empty = tmp_path / "empty.csv"
    empty.write_text(cases.read_text().splitlines()[0] + "\n")
    out = tmp_path / "p.csv"
    result = gvcdyn("predict", "--fit", fit, "--cases", empty, "--out", out)
    line = console.assert_one_line_error(result, str(empty), "no rows", "one row per case")
    assert "0 of 0" not in result.stdout + line
    assert not out.exists()


@pytest.mark.parametrize("given", ["missing.csv", "folder"])
def test_a_case_file_that_is_missing_or_a_folder_is_one_line(fit_and_cases, tmp_path, given):
    """The fit's SHA-256 comparison read the file before the case reader checked it: a
    FileNotFoundError (IsADirectoryError) traceback from hashlib, exit 1."""
    fit, _ = fit_and_cases
    (tmp_path / "folder").mkdir()
    out = tmp_path / "p.csv"
    result = gvcdyn("predict", "--fit", fit, "--cases", tmp_path / given, "--out", out)
    console.assert_one_line_error(result, str(tmp_path / given), "not a file")
    assert not out.exists()


def test_an_out_that_cannot_be_written_is_refused_before_the_simulation(
    fit_and_cases, tmp_path, monkeypatch
):
    """An --out in a folder without write permission was refused only when the
    predictions were written, after the cases were simulated; now before. (The tests may
    run as root, whom permissions do not stop: the folder's refusal is stood in for.)"""
    import importlib
    import io

    from typer.testing import CliRunner

    import gvcdyn.cli.common as common
    import gvcdyn.io.results_io as results_io
    from gvcdyn.cli import app

    def no_permission(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(results_io.tempfile, "mkstemp", no_permission)
    predict_module = importlib.import_module("gvcdyn.calibrate.predict")  # not the function
    simulated: list[object] = []
    monkeypatch.setattr(predict_module, "predict", lambda *a, **k: simulated.append(a) or 1 / 0)
    monkeypatch.setattr(common.err, "file", io.StringIO())  # the console holds its stream
    fit, cases = fit_and_cases
    out = tmp_path / "p.csv"
    result = CliRunner().invoke(app, ["predict", "--fit", str(fit), "--cases", str(cases),
                                      "--out", str(out)])  # fmt: skip
    assert simulated == []  # refused first (the console script: one line, exit 2)
    assert f"cannot write {tmp_path}" in str(result.exception), result.output
    assert "Permission denied" in str(result.exception)
