"""The toy calibration the calibration tests share (tests/data/calibration): its config
with a quick search, and a reality check that constrains it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

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


def count_check_verdicts(monkeypatch: Any, problem: Any) -> list[int]:
    """Make ``problem`` count the parameter vectors whose checks it judges: the returned
    list gets one entry (the batch's size) per ``check_verdicts`` call."""
    judged: list[int] = []
    verdicts = problem.check_verdicts

    def counted(theta):
        judged.append(len(np.atleast_2d(theta)))
        return verdicts(theta)

    monkeypatch.setattr(problem, "check_verdicts", counted)
    return judged


def assert_same_chain(a: Any, b: Any) -> None:
    """Two posteriors (ArviZ InferenceData) are bitwise the same chain: every parameter's
    draws, the log probabilities and the walkers' acceptance fractions."""
    for name in a.posterior.data_vars:
        np.testing.assert_array_equal(a.posterior[name].values, b.posterior[name].values)
    for stat in ("lp", "acceptance_fraction"):
        np.testing.assert_array_equal(a.sample_stats[stat].values, b.sample_stats[stat].values)
