"""Synthetic outcomes for parameter-recovery checks: simulate cases from known parameters.

The cases keep their real context (levers and horizons); only the outcome columns are
replaced by draws from the ordered logit at known parameters and cutpoints. Fitting
them back shows whether the pipeline recovers what generated the data, and whether its
intervals cover the truth at about their nominal rate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gvcdyn.calibrate.likelihood import level_probabilities
from gvcdyn.calibrate.problem import CalibrationProblem
from gvcdyn.errors import CalibrationConfigError

__all__ = ["balanced_cutpoints", "simulate_outcomes"]


def balanced_cutpoints(problem: CalibrationProblem, theta: np.ndarray) -> list[np.ndarray]:
    """Cutpoints at the quantiles of each outcome's latent index: levels about equally common."""
    s, _ = problem.quantities(np.atleast_2d(theta))
    cuts = []
    for k, spec in enumerate(problem.outcomes):
        eta = s[0, :, k] / problem.scales[k]
        q = np.arange(1, len(spec.levels)) / len(spec.levels)
        cuts.append(np.quantile(eta, q))
    return cuts


def simulate_outcomes(
    problem: CalibrationProblem,
    theta: np.ndarray,
    cutpoints: list[np.ndarray],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The problem's case rows with every outcome column drawn at ``theta`` and ``cutpoints``."""
    s, status = problem.quantities(np.atleast_2d(theta))
    if np.any(status != 0):
        failed = [problem.cases.ids[i] for i in np.flatnonzero(np.any(status != 0, axis=0))]
        raise CalibrationConfigError(
            f"the model failed (a NaN or infinity) at the true parameters {list(theta)} for "
            f"case(s) {', '.join(failed[:5])}; simulate at other values"
        )
    frame = problem.cases.frame.copy()
    for k, spec in enumerate(problem.outcomes):
        probs = level_probabilities(s[0, :, k] / problem.scales[k], cutpoints[k])
        u = rng.random(len(frame))
        drawn = np.minimum(
            (np.cumsum(probs, axis=1) < u[:, None]).sum(axis=1), len(spec.levels) - 1
        )
        frame[spec.column] = [spec.levels[j] for j in drawn]
    return frame
