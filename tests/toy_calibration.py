"""The toy calibration the calibration tests share (tests/data/calibration): its config
with a quick search, a reality check that constrains it, and a quick fit made with case
revisions."""

from __future__ import annotations

import shutil
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


def revised_toy_fit(folder: Path, model_text: str | None = None) -> tuple[Path, Path]:
    """A quick toy fit, ``folder``/fit.nc, made from copies of the toy's files in ``folder``
    (``model_text``: the model's text instead of the toy's) with the case revisions file
    ``folder``/revisions.csv (TOY_00's support coded low, revised to high); returns both.
    The config is read from ``folder``, so the fit's own case file is the copy there."""
    # lazy: the fitting stack (1.4 s of CPU to import), for the tests that make this fit
    # only, not for every test that takes the toy's config or checks from here
    from gvcdyn.calibrate.revisions import REQUIRED
    from gvcdyn.calibrate.study import calibrate
    from gvcdyn.io.results_io import write_netcdf

    for name in ("toy_cases.csv", "toy_levers.toml", "toy_config.toml"):
        shutil.copy(DATA / name, folder / name)
    if model_text is None:
        shutil.copy(DATA / "toy_upgrading.mdl", folder / "toy_upgrading.mdl")
    else:
        (folder / "toy_upgrading.mdl").write_text(model_text, encoding="utf-8")
    revisions = folder / "revisions.csv"
    revisions.write_text(
        ",".join(REQUIRED) + "\nTOY_00,support,low,high,https://example.org,a quote\n", "utf-8"
    )
    config = replace(
        load_config(folder / "toy_config.toml"),
        revisions=revisions,
        seeds=(1,),
        popsize=5,
        maxiter=3,
        profile_points=3,
        bootstrap=0,
    )
    fit = write_netcdf(calibrate(config, command_line=["gvcdyn", "calibrate"]), folder / "fit.nc")
    return fit, revisions


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
