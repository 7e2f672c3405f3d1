"""Ordered logit: the measurement model linking a model quantity to an ordinal case outcome.

For case i and outcome k with levels 0..J-1, the latent index is ``eta_ik = s_ik / scale_k``
where ``s_ik`` is the model quantity read at the case's own horizon and ``scale_k`` is a
FIXED number from the config (default 1). The slope is therefore fixed, not estimated:
a quantity's scale trades off exactly against a logit slope, so estimating both would
leave one direction unidentified. ``P(y <= j) = logistic(c_kj - eta_ik)`` with ordered
cutpoints ``c_k1 < ... < c_k,J-1``.

Cutpoints are nuisance parameters: for every candidate set of model parameters they are
profiled out by Newton's method, vectorised over all candidates. In the raw cutpoints
the negative log-likelihood is convex, so the profile is exact and cheap; order is kept
by step halving. A weak pseudo-count prior (``pseudo_count`` observations in total,
spread evenly over the levels, placed at the weighted mean of eta) keeps the optimum
finite and strictly ordered when a level is empty or the data separate perfectly
(which happens in small cross-validation folds); with 41 cases it moves the cutpoints by
a few hundredths.

The free parametrisation ``first cutpoint + cumulative exp(increments)`` (see
:func:`cutpoints_from_free`) is used where a general optimiser fits cutpoints together
with other coefficients (the context-only baseline).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit

__all__ = [
    "cutpoints_from_free",
    "free_from_cutpoints",
    "level_probabilities",
    "profile_cutpoints",
]

NEWTON_ITERATIONS = 50
NEWTON_TOLERANCE = 1e-9


def cutpoints_from_free(free: np.ndarray) -> np.ndarray:
    """``(..., J-1)`` free values -> ordered cutpoints: first value, then cumulative exp."""
    free = np.asarray(free, dtype=float)
    if free.shape[-1] <= 1:
        return free.copy()
    steps = np.exp(free[..., 1:])
    return np.concatenate([free[..., :1], free[..., :1] + np.cumsum(steps, axis=-1)], axis=-1)


def free_from_cutpoints(cuts: np.ndarray) -> np.ndarray:
    """Inverse of :func:`cutpoints_from_free` (cutpoints must be strictly increasing)."""
    cuts = np.asarray(cuts, dtype=float)
    if cuts.shape[-1] <= 1:
        return cuts.copy()
    return np.concatenate([cuts[..., :1], np.log(np.diff(cuts, axis=-1))], axis=-1)


def level_probabilities(eta: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """``P(y = j)`` ``(..., C, J)`` for latent ``eta (..., C)`` and cutpoints ``(..., J-1)``."""
    eta = np.asarray(eta, dtype=float)
    cuts = np.asarray(cuts, dtype=float)
    cum = expit(cuts[..., None, :] - eta[..., :, None])  # (..., C, J-1)
    shape = (*cum.shape[:-1], 1)
    upper = np.concatenate([cum, np.ones(shape)], axis=-1)
    lower = np.concatenate([np.zeros(shape), cum], axis=-1)
    return np.clip(upper - lower, 0.0, 1.0)


def _log_interval(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``log(F(a) - F(b))`` for ``a > b`` without cancellation, F the logistic CDF."""
    # F(a) - F(b) = F(a) * F(-b) * (1 - exp(b - a))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return log_expit(a) + log_expit(-b) + np.log(-np.expm1(b - a))


def _objective_parts(
    cuts: np.ndarray, eta: np.ndarray, levels: np.ndarray, weights: np.ndarray, n_levels: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Negative log-likelihood, gradient and Hessian in the raw cutpoints.

    ``cuts (n, J-1)``, ``eta (n, N)``, ``levels (N,)`` ints in 0..J-1, ``weights (n, N)``.
    """
    n, n_cuts = cuts.shape
    big = 1e6  # stands in for +-infinity at the open ends
    padded = np.concatenate([np.full((n, 1), -big), cuts, np.full((n, 1), big)], axis=1)
    a = padded[:, levels + 1] - eta  # upper bound of each observation's interval
    b = padded[:, levels] - eta
    logp = _log_interval(a, b)
    nll = -np.sum(np.where(weights > 0, weights * logp, 0.0), axis=1)
    p = np.exp(logp)
    fa = expit(a) * expit(-a)
    fb = expit(b) * expit(-b)
    dfa = fa * (1.0 - 2.0 * expit(a))
    dfb = fb * (1.0 - 2.0 * expit(b))
    with np.errstate(divide="ignore", invalid="ignore"):
        ga = np.where(p > 0, fa / p, 0.0)  # d log p / d upper cut
        gb = np.where(p > 0, -fb / p, 0.0)  # d log p / d lower cut
        haa = np.where(p > 0, dfa / p, 0.0) - ga**2
        hbb = np.where(p > 0, -dfb / p, 0.0) - gb**2
        hab = -ga * gb
    grad = np.zeros((n, n_cuts))
    hess = np.zeros((n, n_cuts, n_cuts))
    for j in range(n_cuts):
        up = levels == j  # observations whose upper cut is c_j
        lo = levels == j + 1  # observations whose lower cut is c_j
        grad[:, j] = -(
            np.sum(weights[:, up] * ga[:, up], 1) + np.sum(weights[:, lo] * gb[:, lo], 1)
        )
        hess[:, j, j] = -(
            np.sum(weights[:, up] * haa[:, up], 1) + np.sum(weights[:, lo] * hbb[:, lo], 1)
        )
        if j + 1 < n_cuts:
            both = levels == j + 1  # interval (c_j, c_j+1]
            cross = -np.sum(weights[:, both] * hab[:, both], 1)
            hess[:, j, j + 1] = cross
            hess[:, j + 1, j] = cross
    return nll, grad, hess


def profile_cutpoints(
    eta: np.ndarray,
    levels: np.ndarray,
    weights: np.ndarray,
    n_levels: int,
    *,
    pseudo_count: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Best cutpoints for each row of ``eta``; returns ``(nll (n,), cuts (n, J-1))``.

    ``eta (n, C)`` latent index per candidate and case; ``levels (C,)`` observed level
    (-1 = missing); ``weights (n, C)`` or ``(C,)`` case weights (0 drops a case). Rows
    with a non-finite eta on a weighted case get ``nll = inf``.
    """
    eta = np.atleast_2d(np.asarray(eta, dtype=float))
    n, n_cases = eta.shape
    levels = np.asarray(levels, dtype=np.int64)
    weights = np.broadcast_to(np.asarray(weights, dtype=float), (n, n_cases))
    weights = np.where(levels[None, :] >= 0, weights, 0.0)
    bad = ~np.all(np.isfinite(eta) | (weights == 0), axis=1)
    eta = np.where(np.isfinite(eta), eta, 0.0)
    total = weights.sum(axis=1)
    centre = np.where(total > 0, (weights * eta).sum(1) / np.maximum(total, 1e-300), 0.0)
    # pseudo-observations: one per level at the centre, each of weight pseudo_count / J
    eta_all = np.concatenate([eta, np.repeat(centre[:, None], n_levels, axis=1)], axis=1)
    lev_all = np.concatenate([np.maximum(levels, 0), np.arange(n_levels)])
    w_all = np.concatenate([weights, np.full((n, n_levels), pseudo_count / n_levels)], axis=1)

    # start: cumulative level shares (with the pseudo-counts) around the centre
    share = np.stack([(w_all * (lev_all == j)).sum(1) for j in range(n_levels)], axis=1)
    cum = np.cumsum(share, axis=1)[:, :-1] / share.sum(1, keepdims=True)
    cuts = centre[:, None] + np.log(cum / (1.0 - cum))
    nll, grad, hess = _objective_parts(cuts, eta_all, lev_all, w_all, n_levels)
    active = np.ones(n, dtype=bool)
    for _ in range(NEWTON_ITERATIONS):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        step = -np.linalg.solve(hess[idx], grad[idx][..., None])[..., 0]
        size = np.ones(len(idx))
        best_nll = nll[idx]
        accepted = np.zeros(len(idx), dtype=bool)
        for _ in range(30):  # step halving: keep order, never increase the objective
            pending = np.flatnonzero(~accepted)
            if not len(pending):
                break
            rows = idx[pending]
            trial = cuts[rows] + size[pending, None] * step[pending]
            ordered = (
                np.all(np.diff(trial, axis=1) > 0, axis=1)
                if trial.shape[1] > 1
                else np.ones(len(rows), dtype=bool)
            )
            t_nll, t_grad, t_hess = _objective_parts(
                trial, eta_all[rows], lev_all, w_all[rows], n_levels
            )
            ok = ordered & np.isfinite(t_nll) & (t_nll <= best_nll[pending] + 1e-12)
            good = rows[ok]
            cuts[good] = trial[ok]
            nll[good], grad[good], hess[good] = t_nll[ok], t_grad[ok], t_hess[ok]
            accepted[pending[ok]] = True
            size[pending[~ok]] /= 2.0
        decrease = best_nll - nll[idx]
        done = (
            ~accepted
            | (decrease < NEWTON_TOLERANCE)
            | (np.abs(size[:, None] * step).max(1) < 1e-10)
        )
        active[idx[done]] = False
    # report the data part only (pseudo-counts are a prior on the cutpoints, kept small)
    data_nll, _, _ = _objective_parts(cuts, eta, np.maximum(levels, 0), weights, n_levels)
    data_nll = np.where(bad, np.inf, data_nll)
    return data_nll, cuts
