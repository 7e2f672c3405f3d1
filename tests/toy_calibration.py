"""The toy calibration the calibration tests share (tests/data/calibration): its config
with a quick search, and a reality check that constrains it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from gvcdyn.calibrate.config import CalibrationConfig, load_config

DATA = Path(__file__).parent / "data" / "calibration"

#: skill at year 10 stays at most 0.8134 (at the default Support 0.5): holds for Learning
#: Rate below about 0.38 and fails above it (the truth, 0.3, gives 0.759)
TOY_CHECKS = """
[[check]]
name = "skill stays moderate by year 10"
expect = "bound"
value = 'run["Skill"] @ 10'
max = 0.8134
"""


def quick_toy_config(**settings: Any) -> CalibrationConfig:
    """The toy config with one short differential-evolution start and no profiles or
    bootstrap, unless ``settings`` (any CalibrationConfig field) say otherwise."""
    quick = {"seeds": (1,), "popsize": 5, "maxiter": 5, "profile_points": 0, "bootstrap": 0}
    return replace(load_config(DATA / "toy_config.toml"), **{**quick, **settings})
