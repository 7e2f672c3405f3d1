"""``studies/sensitivity_evidence.py`` (issue 19, part 3) at a tiny N on a stand-in fit:
every input says its basis, the trigger year is drawn with the cases (never swept), an
unconverged posterior is called so, and a fit without posterior draws is refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import xarray as xr

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "studies" / "sensitivity_evidence.py"
NAMES = [
    "Entrant Price Pressure",
    "Share Loss Sensitivity",
    "Capability Erosion Rate",
    "Learning Adaptation Rate",
    "Product Local Learning Share",
    "Innovation Depreciation Rate",
    "Shock Order Loss",
    "Innovation Learning Rate",
]
LOW = np.array([0.0, 0.0, 0.01, 0.1, 0.2, 0.02, 0.1, 0.3])
HIGH = np.array([0.9, 10.0, 0.1, 3.0, 1.0, 0.3, 1.0, 3.0])


def stand_in_fit(path: Path, *, posterior: bool = True) -> Path:
    """A fit file with the GVC calibration's parameters and uniform 'draws' (4 x 6)."""
    draws = LOW + np.random.default_rng(0).random((4, 6, 8)) * (HIGH - LOW)
    data = {"estimate": (("parameter",), draws[0, 0])}
    if posterior:
        data["posterior_draw"] = (("chain", "draw", "parameter"), draws)
        data["predictive_estimate"] = (("sample", "parameter"), draws.reshape(-1, 8))
    attrs = {
        "posterior_converged": 0,
        "posterior_convergence_failures": "R-hat 2 > 1.01 (Shock Order Loss)",
        "posterior_walkers": 4,
        "posterior_steps": 12,
        "created": "stand-in",
        "method": "rk23",
    }
    xr.Dataset(data, coords={"parameter": NAMES}, attrs=attrs).to_netcdf(path)
    return path


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, SCRIPT, *map(str, args)], capture_output=True, text=True, timeout=600
    )


def test_the_evidence_report_states_every_basis(tmp_path):
    fit = stand_in_fit(tmp_path / "fit.nc")
    out = tmp_path / "sensitivity.md"
    done = run("--fit", fit, "--n", "16", "--draws", "2", "--draw-n", "16", "--out", out)
    assert done.returncode == 0, done.stderr[-2000:]
    text = out.read_text()
    for title in (
        "## Inputs and the basis of each",
        "## 1. All the evidence together",
        "## 2. At the posterior median",
        "## 3. How much the ranking moves across the posterior",
    ):
        assert title in text, title
    assert text.count("deliberately narrow: model default +-20%") == 5
    assert "| case context | one row of evidence per run |" in text
    assert "| posterior draw | one row of evidence per run |" in text
    assert "Shock Year is drawn with each case" in text
    assert "NOT CONVERGED (R-hat 2 > 1.01 (Shock Order Loss))" in text
    assert "integration rk23, the fit's" in text  # where the posterior's draws hold
    assert (tmp_path / "sensitivity_evidence.nc").is_file()
    together = xr.load_dataset(tmp_path / "sensitivity_evidence.nc")
    assert "Shock Year" not in [str(p) for p in together.parameter.values]


def test_a_fit_without_posterior_draws_is_refused(tmp_path):
    fit = stand_in_fit(tmp_path / "fit.nc", posterior=False)
    done = run("--fit", fit, "--n", "16", "--out", tmp_path / "s.md")
    assert done.returncode == 2
    assert "no posterior draws" in done.stderr
    assert not (tmp_path / "s.md").exists()
