"""The CLI prints paths, case values and subscripted names as they are.

Rich reads ``[word]`` in a printed string as a style tag and drops it, so a path such as
``fit[bold].nc`` was printed as ``fit.nc`` (and the rest of the line in bold), a case
value coded ``[high]`` vanished from predict's warning, and ``gvcdyn sensitivity``'s
table of ``stock[north]`` was titled ``stock``. A warning is also one line whatever the
terminal's width, as every message of the CLI is. A toy fit (small settings: this checks
what is printed, not the fit) is made through the console script.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from console import gvcdyn
from mdl_helpers import write_mdl

DATA = Path(__file__).parent / "data" / "calibration"


def _small_config(folder: Path) -> Path:
    """The toy calibration's files in ``folder``, with one short start and no intervals."""
    shutil.copytree(DATA, folder, dirs_exist_ok=True)
    config = folder / "toy_config.toml"
    text = config.read_text()
    for key, value in {
        "seeds": "[1]",
        "popsize": "5",
        "maxiter": "3",
        "profile_points": "0",
        "bootstrap": "0",
    }.items():
        text, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
        assert n == 1, key
    config.write_text(text)
    return config


@pytest.fixture(scope="module")
def fit(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("brackets")
    path = folder / "fit[bold].nc"
    done = gvcdyn("calibrate", _small_config(folder), "--out", path, cwd=folder)
    assert done.returncode == 0, done.stderr
    assert f"fit: {path}" in done.stdout, done.stdout
    return path


def test_predict_prints_the_case_value_and_paths_whole_on_one_line(fit, tmp_path) -> None:
    frame = pd.read_csv(DATA / "toy_cases.csv", dtype=str, keep_default_na=False).head(3)
    frame.loc[0, "support"] = "[high]"
    cases = tmp_path / "new.csv"
    frame.to_csv(cases, index=False)
    out = tmp_path / "p[bold].csv"
    done = gvcdyn("predict", "--fit", fit, "--cases", cases, "--out", out, columns=60)
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1, done.stderr
    assert warnings[0].startswith("warning: case 'TOY_00'"), warnings
    assert "value '[high]' has no mapping" in warnings[0], warnings
    assert str(out) in done.stdout.replace("\n", ""), done.stdout


SUBSCRIPTED = """
region:
	north, south
	~
	~		|

stock[region] = INTEG(rate[region] * stock[region], 1)
	~	widgets
	~	The stock.
	|

rate[region] = 0.1
	~	1/Month [0, 1]
	~	Growth rate.
	|
"""


def test_sensitivity_titles_a_subscripted_output_with_its_cell(tmp_path) -> None:
    mdl = write_mdl(tmp_path, SUBSCRIPTED, final_time=2, time_step=0.25, saveper=1, name="sub")
    done = gvcdyn("sensitivity", mdl, "--vars", "stock[north]", "--params",
                  "rate[north],rate[south]", "--n", "8", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "stock[north] at time 2 (sobol, N = 8" in done.stdout, done.stdout
