"""Shared fixtures. Keep this small: only what more than one test module needs."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


#: The reference suite, vendored so that a clone runs every test (see its NOTE.md).
VENDORED_SD_TEST_MODELS = REPO / "tests" / "sd-test-models"
#: The benchmark model, vendored with the benchmarks (see benchmarks/models/README.md).
BENCH_MODEL = REPO / "benchmarks" / "models" / "gvc_like.mdl"


def sd_test_models_dir() -> Path:
    """The reference suite: ``$GVCDYN_SD_TEST_MODELS`` if set, else the vendored copy."""
    return Path(os.environ.get("GVCDYN_SD_TEST_MODELS", VENDORED_SD_TEST_MODELS))


SD_TEST_MODELS_MISSING = (
    "reference suite not found at {path}: GVCDYN_SD_TEST_MODELS must point at a "
    "sd-test-models folder (with MANIFEST.csv); unset it to use the vendored tests/sd-test-models"
)


def pytest_configure(config: pytest.Config) -> None:
    """Give the suite a Ctrl-C that works: a shell without job control starts background
    jobs (``pytest &``) with SIGINT ignored, Python then keeps it ignored, and every
    process the tests start inherits that, so the tests that press Ctrl-C on a sweep, a
    cluster or a fit would fail for the shell's reason, not the code's. Restored here,
    before pytest-xdist starts its workers, which then start with the default."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """Accept pyproject's xdist options when xdist is off (``pytest -p no:xdist``) or not
    installed, so the suite then runs serially instead of refusing its own addopts."""
    if pluginmanager.has_plugin("xdist"):
        return
    group = parser.getgroup("xdist (not loaded: these options are ignored)")
    group.addoption("--numprocesses", dest="numprocesses", default=None, help="ignored")
    group.addoption("--dist", dest="dist", default="no", help="ignored")
    group.addoption("--max-worker-restart", dest="maxworkerrestart", default=None, help="ignored")


@pytest.fixture(scope="session")
def sd_test_models() -> Path:
    """Path of the reference suite folder; a missing suite fails the test (never a skip)."""
    path = sd_test_models_dir()
    if not (path / "MANIFEST.csv").is_file():
        pytest.fail(SD_TEST_MODELS_MISSING.format(path=path))
    return path
