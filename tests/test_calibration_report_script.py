"""``calibration/report.py`` as the READMEs run it: a user's run never rewrites the tracked report.

The project's ``calibration/report.md`` (and its profile plot) are tracked in git; the
READMEs' command writes under ``results/`` of the current directory, and only
``--tracked`` regenerates the tracked files, from a fit with cross-validation. A toy fit
(tests/data/calibration, small settings) is enough: the script reads only the fit file
and the case table it names.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from toy_calibration import quick_toy_config

from gvcdyn.calibrate.study import calibrate
from gvcdyn.io.results_io import write_netcdf

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "calibration" / "report.py"
TRACKED = [REPO / "calibration" / "report.md", REPO / "calibration" / "report_profiles.png"]
DATA = Path(__file__).parent / "data" / "calibration"


def _digests() -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in TRACKED}


def _report(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, SCRIPT, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def toy_fit(tmp_path_factory) -> Path:
    """A fit without cross-validation, as the READMEs' plain calibrate command makes."""
    config = quick_toy_config(maxiter=3, profile_points=3, bootstrap=3)
    ds = calibrate(config, command_line=["gvcdyn", "calibrate"])
    return write_netcdf(ds, tmp_path_factory.mktemp("fit") / "fit.nc")


def _readme_report_commands() -> list[list[str]]:
    found = []
    for readme in (REPO / "README.md", REPO / "calibration" / "README.md"):
        for line in readme.read_text(encoding="utf-8").splitlines():
            if line.startswith("python calibration/report.py"):
                found.append(shlex.split(line, comments=True))
    return found


def test_the_readmes_report_command_writes_under_results(toy_fit, tmp_path):
    commands = _readme_report_commands()
    assert len(commands) == 2, commands  # README.md and calibration/README.md
    before = _digests()
    for command in commands:
        assert command[:2] == ["python", "calibration/report.py"], command
        work = tmp_path / "work"
        shutil.rmtree(work, ignore_errors=True)
        (work / "results").mkdir(parents=True)
        shutil.copy2(toy_fit, work / "results" / "fit.nc")
        done = _report(*command[2:], cwd=work)
        assert done.returncode == 0, done.stderr[-2000:]
        report = work / "results" / "calibration_report.md"
        assert report.is_file() and "# Calibration report" in report.read_text()
        assert (work / "results" / "calibration_report_profiles.png").is_file()
        assert f"wrote {Path('results') / 'calibration_report.md'}" in done.stdout
    assert _digests() == before


def test_out_names_the_report(toy_fit, tmp_path):
    done = _report(toy_fit, "--out", tmp_path / "mine" / "r.md", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "mine" / "r.md").is_file()
    assert (tmp_path / "mine" / "r_profiles.png").is_file()


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--tracked"], "has no cross-validation"),
        (["--tracked", "--out", "x.md"], "give --tracked or --out"),
    ],
)
def test_the_tracked_report_is_not_lost_to_a_quick_run(toy_fit, tmp_path, extra, words):
    before = _digests()
    done = _report(toy_fit, *extra, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert re.search(r"^report\.py: error: .*" + re.escape(words), done.stderr, re.M), done.stderr
    assert _digests() == before
    assert not list(tmp_path.iterdir())


def test_a_missing_fit_says_how_to_make_it(tmp_path):
    done = _report(cwd=tmp_path)
    assert done.returncode == 2
    assert "fit file results/fit.nc not found" in done.stderr
    assert "gvcdyn calibrate" in done.stderr
