"""Many small local fits at once: a batched compass (pattern) search.

Profile likelihoods (one fit per grid point and parameter), case-bootstrap replicates
and cross-validation folds are each a local fit of the same problem with some
parameters pinned or the cases re-weighted. Run one at a time they cost a Python call
per model batch; here every fit proposes its moves together and ALL fits' candidates go
to the model as one compiled batch per iteration. The search is derivative free (the
model has thresholds) and works in the unit cube of the bounds: each fit tries
``+-step`` along each free coordinate, moves to the best improvement, and halves its
step when nothing improves, until every step is below ``min_step``.

With reality checks (a problem whose objective judges them), a candidate's checks are run
only when its cases' term would improve on its fit's current value: a candidate that
does not improve is not taken whatever the checks say, so the search moves exactly as
if every candidate were judged (the same steps, the same numbers), for far fewer check
runs (on the GVC calibration a candidate's checks cost about four times its cases).
"""

from __future__ import annotations

import numpy as np

from gvcdyn.calibrate.problem import FAILED, CalibrationProblem

__all__ = ["batched_search", "latin_hypercube"]


def batched_search(
    problem: CalibrationProblem,
    starts: np.ndarray,
    *,
    free: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    step: float = 0.1,
    min_step: float = 2e-3,
    max_iter: int = 60,
) -> tuple[np.ndarray, np.ndarray]:
    """Local minima of the objective for ``P`` fits at once; returns ``(theta (P,k), obj (P,))``.

    ``starts (P, k)`` parameter values; ``free (P, k)`` which coordinates each fit may move
    (default all); ``weights (P, C)`` case weights per fit (default the problem's).
    """
    starts = np.atleast_2d(np.asarray(starts, dtype=float))
    n_fits, k = starts.shape
    free = np.ones((n_fits, k), dtype=bool) if free is None else np.asarray(free, dtype=bool)
    if weights is not None:
        weights = np.broadcast_to(np.asarray(weights, dtype=float), (n_fits, len(problem.cases)))
    u = problem.unit(starts)
    obj = _evaluate(problem, u, weights)
    steps = np.full(n_fits, float(step))
    steps[~free.any(axis=1)] = 0.0
    directions = np.concatenate([np.eye(k), -np.eye(k)])  # (2k, k)
    for _ in range(max_iter):
        active = np.flatnonzero(steps >= min_step)
        if not len(active):
            break
        cand = u[active, None, :] + steps[active, None, None] * directions[None, :, :]
        cand = np.clip(cand, 0.0, 1.0)  # (A, 2k, k)
        usable = np.tile(free[active], (1, 2))  # direction d moves coordinate d % k
        w = None if weights is None else np.repeat(weights[active], 2 * k, axis=0)
        moved = np.any(cand != u[active, None, :], axis=2)
        ceiling = np.repeat(obj[active] - 1e-10, 2 * k)
        values = _candidates(problem, cand.reshape(-1, k), w, ceiling).reshape(len(active), 2 * k)
        values = np.where(usable & moved, values, np.inf)
        best = np.argmin(values, axis=1)
        best_value = values[np.arange(len(active)), best]
        better = best_value < obj[active] - 1e-10
        rows = active[better]
        u[rows] = cand[np.flatnonzero(better), best[better]]
        obj[rows] = best_value[better]
        steps[active[~better]] /= 2.0
    return problem.from_unit(u), obj


def _evaluate(problem: CalibrationProblem, u: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """The objective at unit-scaled points (the problem's own: its checks, if any, apply)."""
    return problem.objective(problem.from_unit(u), weights)


def _candidates(
    problem: CalibrationProblem, u: np.ndarray, weights: np.ndarray | None, ceiling: np.ndarray
) -> np.ndarray:
    """The objective at unit-scaled candidates where it is below ``ceiling`` (their
    fit's value: only those can be taken); elsewhere a value that is not below it (the
    cases' term, the checks not judged). One batch of the cases, one of the checks of
    the improving candidates."""
    if getattr(problem, "checks", None) is None:
        return _evaluate(problem, u, weights)
    theta = problem.from_unit(u)
    values = problem.objective(theta, weights, checks=False)
    # a candidate that breaks a check is worth FAILED, which is below the ceiling of a fit
    # whose own cases failed (FAILED plus a normal prior's term): judge those too, so the
    # search takes what it would take with every candidate judged
    improving = np.flatnonzero((values < ceiling) | (ceiling > FAILED))
    if len(improving):
        holds = problem.checks_hold(theta[improving])
        values[improving[~holds]] = FAILED
    return values


def latin_hypercube(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """``(n, k)`` points of the unit cube, one in each of ``n`` strata per coordinate:
    local fits' spread starting points (the bootstrap's), and the points a calibration
    that found nothing judges to say why (``feasibility``)."""
    if n == 0:
        return np.empty((0, k))
    strata = np.stack([rng.permutation(n) for _ in range(k)], axis=1)
    return (strata + rng.random((n, k))) / n
