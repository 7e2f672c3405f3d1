"""Ordered logit: the measurement model linking a model quantity to an ordinal case outcome.

For case i and outcome k with levels 0..J-1, the latent index is ``eta_ik = s_ik / scale_k``
where ``s_ik`` is the model quantity read at the case's own horizon and ``scale_k`` is a
FIXED number from the config (default 1). The slope is therefore fixed, not estimated:
a quantity's scale trades off exactly against a logit slope, so estimating both would
leave one direction unidentified. ``P(y <= j) = logistic(c_kj - eta_ik)`` with ordered
cutpoints ``c_k1 < ... < c_k,J-1``.

Cutpoints are nuisance parameters: for every candidate set of model parameters they are
profiled out by Newton's method (compiled; one small problem per candidate, with a
tridiagonal Hessian). In the raw cutpoints
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

import math

import numpy as np
from numba import njit
from scipy.special import expit

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
    with a non-finite eta on a weighted case get ``nll = inf``. The returned ``nll`` is
    the data part (the pseudo-count prior only steadies the cutpoints). Compiled: rows
    are independent Newton problems with a tridiagonal Hessian.
    """
    eta = np.ascontiguousarray(np.atleast_2d(np.asarray(eta, dtype=np.float64)))
    n, n_cases = eta.shape
    levels = np.ascontiguousarray(np.asarray(levels, dtype=np.int64))
    weights = np.ascontiguousarray(
        np.broadcast_to(np.asarray(weights, dtype=np.float64), (n, n_cases))
    )
    nll = np.empty(n)
    cuts = np.empty((n, n_levels - 1))
    _profile_rows(eta, levels, weights, n_levels, float(pseudo_count), nll, cuts)
    return nll, cuts


@njit(cache=True, nogil=True)
def _log_expit(x: float) -> float:
    if x >= 0.0:
        return -math.log1p(math.exp(-x))
    return x - math.log1p(math.exp(x))


@njit(cache=True, nogil=True)
def _expit(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@njit(cache=True, nogil=True)
def _parts(cuts, eta, levels, w, n_levels, centre, pseudo_w, grad, hdiag, hoff) -> float:
    """Negative log-likelihood (data + pseudo-observations), its gradient and tridiagonal
    Hessian in the raw cutpoints; NaN when the cutpoints give an observation zero mass."""
    n_cuts = n_levels - 1
    for j in range(n_cuts):
        grad[j] = 0.0
        hdiag[j] = 0.0
    for j in range(n_cuts - 1):
        hoff[j] = 0.0
    total = 0.0
    n_obs = eta.shape[0]
    for i in range(n_obs + n_levels):
        if i < n_obs:
            y = levels[i]
            wi = w[i]
            e = eta[i]
            if y < 0 or wi == 0.0:
                continue
        else:
            y = i - n_obs
            wi = pseudo_w
            e = centre
            if wi == 0.0:
                continue
        if y == 0:  # P = F(a)
            a = cuts[0] - e
            fa = _expit(a)
            total -= wi * _log_expit(a)
            grad[0] -= wi * (1.0 - fa)
            hdiag[0] += wi * fa * (1.0 - fa)
        elif y == n_cuts:  # P = 1 - F(b)
            b = cuts[n_cuts - 1] - e
            fb = _expit(b)
            total -= wi * _log_expit(-b)
            grad[n_cuts - 1] += wi * fb
            hdiag[n_cuts - 1] += wi * fb * (1.0 - fb)
        else:
            a = cuts[y] - e
            b = cuts[y - 1] - e
            if not b < a:
                return np.nan
            logp = _log_expit(a) + _log_expit(-b) + math.log(-math.expm1(b - a))
            p = math.exp(logp)
            if p <= 0.0:
                return np.nan
            Fa = _expit(a)
            Fb = _expit(b)
            fa = Fa * (1.0 - Fa)
            fb = Fb * (1.0 - Fb)
            ga = fa / p
            gb = -fb / p
            haa = fa * (1.0 - 2.0 * Fa) / p - ga * ga
            hbb = -fb * (1.0 - 2.0 * Fb) / p - gb * gb
            total -= wi * logp
            grad[y] -= wi * ga
            grad[y - 1] -= wi * gb
            hdiag[y] -= wi * haa
            hdiag[y - 1] -= wi * hbb
            hoff[y - 1] += wi * ga * gb
    return total


@njit(cache=True, nogil=True)
def _solve_tridiagonal(diag, off, rhs, out) -> bool:
    """Solve ``H x = rhs`` for a symmetric tridiagonal ``H`` (Thomas algorithm)."""
    n = diag.shape[0]
    c = np.empty(n)
    d = np.empty(n)
    if diag[0] == 0.0:
        return False
    c[0] = off[0] / diag[0] if n > 1 else 0.0
    d[0] = rhs[0] / diag[0]
    for i in range(1, n):
        denom = diag[i] - off[i - 1] * c[i - 1]
        if denom == 0.0:
            return False
        c[i] = off[i] / denom if i < n - 1 else 0.0
        d[i] = (rhs[i] - off[i - 1] * d[i - 1]) / denom
    out[n - 1] = d[n - 1]
    for i in range(n - 2, -1, -1):
        out[i] = d[i] - c[i] * out[i + 1]
    return True


@njit(cache=True, nogil=True)
def _profile_rows(eta, levels, weights, n_levels, pseudo, out_nll, out_cuts) -> None:
    n, n_obs = eta.shape
    n_cuts = n_levels - 1
    grad = np.empty(n_cuts)
    hdiag = np.empty(n_cuts)
    hoff = np.empty(max(n_cuts - 1, 1))
    t_grad = np.empty(n_cuts)
    t_hdiag = np.empty(n_cuts)
    t_hoff = np.empty(max(n_cuts - 1, 1))
    step = np.empty(n_cuts)
    trial = np.empty(n_cuts)
    share = np.empty(n_levels)
    pseudo_w = pseudo / n_levels
    for r in range(n):
        e = eta[r]
        w = weights[r]
        bad = False
        total_w = 0.0
        centre = 0.0
        for i in range(n_obs):
            if levels[i] >= 0 and w[i] > 0.0:
                if not math.isfinite(e[i]):
                    bad = True
                    break
                total_w += w[i]
                centre += w[i] * e[i]
        if bad:
            out_nll[r] = np.inf
            for j in range(n_cuts):
                out_cuts[r, j] = np.nan
            continue
        centre = centre / total_w if total_w > 0.0 else 0.0
        # start: cumulative level shares (pseudo-counts included) around the centre
        for j in range(n_levels):
            share[j] = pseudo_w
        for i in range(n_obs):
            if levels[i] >= 0 and w[i] > 0.0:
                share[levels[i]] += w[i]
        total = 0.0
        for j in range(n_levels):
            total += share[j]
        cum = 0.0
        cuts = out_cuts[r]
        for j in range(n_cuts):
            cum += share[j]
            q = min(max(cum / total, 1e-9), 1.0 - 1e-9)
            cuts[j] = centre + math.log(q / (1.0 - q))
        value = _parts(cuts, e, levels, w, n_levels, centre, pseudo_w, grad, hdiag, hoff)
        for _ in range(NEWTON_ITERATIONS):
            for j in range(n_cuts):
                grad[j] = -grad[j]
            if not _solve_tridiagonal(hdiag, hoff, grad, step):
                break
            size = 1.0
            accepted = False
            t_value = value
            for _ in range(40):
                ordered = True
                for j in range(n_cuts):
                    trial[j] = cuts[j] + size * step[j]
                    if j > 0 and not trial[j] > trial[j - 1]:
                        ordered = False
                if ordered:
                    t_value = _parts(
                        trial, e, levels, w, n_levels, centre, pseudo_w, t_grad, t_hdiag, t_hoff
                    )
                    if math.isfinite(t_value) and t_value <= value + 1e-12:
                        accepted = True
                        break
                size *= 0.5
            if not accepted:
                break
            largest = 0.0
            for j in range(n_cuts):
                largest = max(largest, abs(trial[j] - cuts[j]))
                cuts[j] = trial[j]
                grad[j] = t_grad[j]
                hdiag[j] = t_hdiag[j]
            for j in range(n_cuts - 1):
                hoff[j] = t_hoff[j]
            decrease = value - t_value
            value = t_value
            if decrease < NEWTON_TOLERANCE or largest < 1e-10:
                break
        # the data part only
        out_nll[r] = _parts(cuts, e, levels, w, n_levels, centre, 0.0, grad, hdiag, hoff)
