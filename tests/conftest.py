"""Shared fixtures. Keep this small: only what more than one test module needs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def sd_test_models_dir() -> Path:
    """The reference suite: ``$GVCDYN_SD_TEST_MODELS`` or ``<repo>/../shared/sd-test-models``."""
    return Path(os.environ.get("GVCDYN_SD_TEST_MODELS", REPO.parent / "shared" / "sd-test-models"))


SD_TEST_MODELS_MISSING = (
    "reference suite not found at {path}: put the sd-test-models folder (with MANIFEST.csv) "
    "there or point GVCDYN_SD_TEST_MODELS at it"
)


@pytest.fixture(scope="session")
def sd_test_models() -> Path:
    """Path of the reference suite folder; skips the test when it is absent."""
    path = sd_test_models_dir()
    if not (path / "MANIFEST.csv").is_file():
        pytest.skip(SD_TEST_MODELS_MISSING.format(path=path))
    return path
