"""``pip install .`` (not editable) ships everything ``gvcdyn demo`` needs (issue 9, section 4).

A wheel is built from a copy of the sources (pip builds in the source folder, which
must not be the working tree) by the running environment's own setuptools and wheel
(``--no-build-isolation``: no network; the ``test`` extra installs them), and installed
without its dependencies into a throwaway virtual environment that sees the running
environment's packages through a path file (so it works in a virtualenv without system
site-packages). The installed ``gvcdyn`` console script then runs the demo from an
unrelated directory. Slow: a wheel build and a Python start-up or two.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr

REPO = Path(__file__).resolve().parents[1]
#: What a build needs from the repository (the rest is tests, docs and benchmarks).
SOURCES = ("pyproject.toml", "setup.py", "README.md", "gvcdyn", "models", "calibration")


def _run(args: list[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=900, env=env
    )


def _see_the_dependencies_of_this_interpreter(python: Path, cwd: Path) -> None:
    """Let the new environment import the dependencies installed for the running tests.

    A path file lists this interpreter's site folders after the new environment's own
    (where gvcdyn is installed, so it comes first). Python reads path files only in its
    own site folders, so the editable install of gvcdyn in the test environment stays
    out. (``--system-site-packages`` would reach the base Python, not the test
    environment, and fails wherever the base Python has no pandas.)
    """
    where = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd)
    assert where.returncode == 0, where.stderr
    folders = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (Path(where.stdout.strip()) / "_test_dependencies.pth").write_text(
        "".join(f"{folder}\n" for folder in folders), encoding="utf-8"
    )


def _build_wheel(source: Path, wheelhouse: Path) -> Path:
    """The wheel of ``source``, built offline by this environment's setuptools and wheel."""
    args = ["-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
    built = _run([sys.executable, *args, "-w", wheelhouse, source], cwd=source.parent)
    assert built.returncode == 0, (
        "building the wheel offline needs setuptools and wheel in the test environment "
        "(pip install -e '.[test]'):\n" + built.stdout[-2000:] + built.stderr[-2000:]
    )
    (wheel,) = wheelhouse.glob("gvcdyn-*.whl")
    return wheel


@pytest.mark.slow
def test_non_editable_install_runs_the_demo_anywhere(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    wheel = _build_wheel(source, tmp_path / "wheelhouse")
    venv = tmp_path / "venv"
    made = _run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    _see_the_dependencies_of_this_interpreter(bindir / "python", tmp_path)
    install = _run(
        [bindir / "python", "-m", "pip", "install", "--no-deps", "--no-index", wheel], tmp_path
    )
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run(
        [bindir / "python", "-c", "import gvcdyn.bundled as b; print(b.bundled_models_dir())"],
        cwd=elsewhere,
    )
    assert where.returncode == 0, where.stderr
    bundled = Path(where.stdout.strip())
    assert venv in bundled.parents, f"the model should come from the install: {bundled}"

    version = _run([bindir / "gvcdyn", "--version"], cwd=elsewhere)
    assert version.returncode == 0 and version.stdout.startswith("gvcdyn "), version.stderr

    demo = _run([bindir / "gvcdyn", "demo"], cwd=elsewhere)
    assert demo.returncode == 0, demo.stderr
    assert "bundled" not in demo.stderr
    scenarios = sorted(p.stem for p in (REPO / "models" / "scenarios").glob("*.toml"))
    with xr.open_dataset(elsewhere / "results" / "demo.nc") as ds:
        assert sorted(str(s) for s in ds["scenario"].values) == scenarios
        assert venv in Path(ds.attrs["model_file"]).parents
        assert ds.attrs["method"] == "rk23"  # the installed settings file beside the model
    assert (elsewhere / "results" / "demo.png").read_bytes().startswith(b"\x89PNG")

    # the shipped model, its scenarios and its calibration config by name (issue 22)
    params = _run([bindir / "gvcdyn", "params", "gvc_upgrading", "-f", "csv"], cwd=elsewhere)
    assert params.returncode == 0 and "Initial Buyer Control" in params.stdout, params.stderr
    run = _run(
        [bindir / "gvcdyn", "run", "gvc_upgrading", "-s", "captive", "--out", "c.nc"], elsewhere
    )
    assert run.returncode == 0, run.stderr
    with xr.open_dataset(elsewhere / "c.nc") as ds:
        assert [str(s) for s in ds["scenario"].values] == ["captive"]
        assert venv in Path(ds.attrs["model_file"]).parents
        assert ds.attrs["method"] == "rk23"  # the installed settings file beside the model
    (elsewhere / "file").write_text("", encoding="utf-8")  # stops calibrate before the fit
    fit = _run([bindir / "gvcdyn", "calibrate", "gvc_upgrading", "-o", "file/f.nc"], elsewhere)
    assert fit.returncode == 2 and "file/f.nc" in fit.stderr, fit.stderr
    assert "not found" not in fit.stderr, fit.stderr
