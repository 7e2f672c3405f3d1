"""How well the cases pin the parameters down: profiles, Fisher information, bootstrap.

- Profile likelihood (Raue et al. 2009): for each estimated parameter, fix it on a grid
  across its bounds and re-fit all the others (cutpoints included); one task per
  parameter (``tasks``, checkpointed for ``--resume`` like the bootstrap). The 95% interval is
  where the objective stays within 1.92 of its minimum. A profile that stays flat
  (rises by less than ``FLAT`` anywhere) marks a structurally unidentifiable parameter;
  one that rises but never crosses 1.92 on a side is practically unidentifiable (an
  open-ended interval). An estimate ON a bound closes its interval there (one-sided
  interval, "identifiable (estimate at a bound)"): the data push against the bound. A grid
  point whose refit finds no parameter set in the support (a reality check that cannot
  hold with the parameter pinned there) has delta inf, and closes the interval at the
  last point inside; a failed estimate (``feasibility``) is refused, as is a bootstrap
  whose replicates find nothing.
- Fisher information: the Hessian of the objective at the optimum in unit-scaled
  parameters (central differences, one batch); its numerical rank says how many
  directions the data distinguish, but only where the Hessian is an information matrix:
  at an interior optimum, positive semi-definite. An estimate on a bound (the differences
  are then taken beside it, not around it), a clearly negative eigenvalue (a saddle or
  a kink, not a minimum) or runs that fail at a point of the differences (their value is
  the failure sentinel, not a likelihood) makes it not valid, and it is reported as
  such, with the reason, not as a rank.
- Collinearity index (Brun et al. 2001) of the sensitivity matrix of every case's model
  quantities to the unit-scaled parameters (columns normalised): above about 15 the set
  is poorly identifiable. Pairs whose sensitivity vectors are nearly parallel are listed.
- Case bootstrap: resample cases with replacement and refit every replicate from
  global starts: the estimate and ``starts`` points drawn uniformly over the bounds (a
  Latin hypercube per replicate), the best local fit wins; percentile intervals. A refit
  from the estimate alone stays in its basin, often on the bound it started at, and the
  intervals come out narrower than the profiles'. Each replicate is an independent task
  (``tasks``: in this process or on dask workers, checkpointed for ``--resume``); every
  refit is the same whichever way it runs, so the replicates are bitwise those of one
  batched search over all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gvcdyn.calibrate.feasibility import is_failed, no_fit
from gvcdyn.calibrate.problem import FAILED, CalibrationProblem
from gvcdyn.calibrate.search import batched_search, latin_hypercube
from gvcdyn.calibrate.tasks import job_config, job_part, run_tasks
from gvcdyn.execute import Execution
from gvcdyn.progress import Progress, silent

__all__ = [
    "Bootstrap",
    "BootstrapRefit",
    "Identifiability",
    "Profile",
    "ProfileRefit",
    "bootstrap",
    "bootstrap_tasks",
    "identifiability",
    "profiles",
]

THRESHOLD_95 = 1.92  # half the chi-square(1) 95% quantile
FLAT = 0.1
FD_STEP = 0.01  # finite-difference step in the unit cube
NEAR_DUPLICATE = 0.95  # |cosine| of two parameters' sensitivity vectors
# local refits start at (or next to) the optimum: first moves of 5% of a range, stop at 0.5%
LOCAL_STEP = 0.05
LOCAL_MIN_STEP = 0.005
# a bootstrap refit's first moves: a quarter of a range, as its starts are spread out
GLOBAL_STEP = 0.25
# an eigenvalue below -NEGATIVE_EIGEN x the largest one is a real negative curvature
NEGATIVE_EIGEN = 1e-6


@dataclass(frozen=True)
class Profile:
    """Profile of one parameter: grid values, objective minus the optimum, the interval."""

    name: str
    grid: np.ndarray
    delta: np.ndarray
    low: float
    high: float
    low_open: bool
    high_open: bool
    status: str  # identifiable | practically unidentifiable | structurally unidentifiable


@dataclass(frozen=True)
class Identifiability:
    hessian: np.ndarray  # (k, k) in unit-scaled parameters
    eigenvalues: np.ndarray
    rank: int
    valid: bool  # an information matrix: interior optimum, no negative curvature
    note: str  # why it is not valid ("" when it is)
    collinearity_index: float
    sensitivity_cosine: np.ndarray  # (k, k)
    near_duplicates: list[tuple[str, str, float]]


@dataclass(frozen=True)
class Bootstrap:
    theta: np.ndarray  # (B, k)
    objective: np.ndarray  # (B,)
    cutpoints: list[np.ndarray]  # per outcome (B, J-1), refitted with each replicate's weights
    low: np.ndarray
    high: np.ndarray
    seed: int


def profiles(
    problem: CalibrationProblem,
    theta: np.ndarray,
    objective: float,
    points: int,
    *,
    execution: Execution | None = None,
    progress: Progress = silent,
) -> tuple[list[Profile], np.ndarray, float]:
    """Profiles of every parameter: one task per parameter through ``execution`` (in this
    process when None: all of them in one batched search; with an output, checkpointed
    in ``<output>.profiles.job/``).

    Returns the profiles and the best point seen: when a profile finds a lower objective
    than the fit, the caller learns that the fit had not converged.
    """
    theta = np.asarray(theta, dtype=float)
    if is_failed(objective):
        raise no_fit(
            problem,
            theta,
            step=f"the fit given to the profiles (objective {objective:.4g})",
            stage="profiles",
        )
    refit = ProfileRefit(problem, theta, points)
    results = run_tasks(
        refit,
        list(range(problem.k)),
        job_part(execution, "profiles"),
        problem=problem,
        config=job_config(problem, "profile likelihoods", start=theta, points=points),
        seed=None,
        progress=progress,
        description="profiles",
    )
    values = [np.asarray(r["values"], dtype=float) for r in results]
    fitted = [np.asarray(r["fitted"], dtype=float) for r in results]
    best_i = int(np.argmin(np.concatenate(values)))
    all_fitted = np.concatenate(fitted)
    best_value = float(np.concatenate(values)[best_i])
    best_theta, best = (
        (all_fitted[best_i], best_value)
        if best_value < objective - 1e-6
        else (theta, float(objective))
    )
    result = []
    for i, grid in enumerate(refit.grids):
        # a grid point whose refit found no parameter set in the support (a check that
        # cannot hold with the parameter pinned there, or failed runs) is infinitely
        # unlikely, not FAILED - best
        delta = np.where(values[i] >= FAILED, np.inf, values[i] - best)
        result.append(_interval(problem.names[i], grid, delta, best_theta[i]))
    return result, best_theta, best


class ProfileRefit:
    """A profile task of ``run_tasks``, one estimated parameter per item.

    An item is the parameter's index. Its grid (``points`` across its bounds, and the
    estimate) is pinned point by point while the other parameters are refitted from
    ``theta``; all the items of a call are one batched search. Its result: the
    objective at each grid point (``values (G,)``) and the refitted parameters there
    (``fitted (G, k)``).
    """

    def __init__(self, problem: CalibrationProblem, theta: np.ndarray, points: int) -> None:
        self.problem = problem
        self.theta = np.asarray(theta, dtype=float)
        lo, hi = problem.bounds[:, 0], problem.bounds[:, 1]
        self.grids = [
            np.unique(np.concatenate([np.linspace(lo[i], hi[i], points), [self.theta[i]]]))
            for i in range(problem.k)
        ]

    def compute(self, problem: CalibrationProblem, items: list[int]) -> list[dict]:
        k = problem.k
        owners = list(items)
        starts, free = [], []
        for i in owners:
            for value in self.grids[i]:
                start = self.theta.copy()
                start[i] = value
                mask = np.ones(k, dtype=bool)
                mask[i] = False
                starts.append(start)
                free.append(mask)
        fitted, values = batched_search(
            problem, np.array(starts), free=np.array(free), step=LOCAL_STEP, min_step=LOCAL_MIN_STEP
        )
        results = []
        at = 0
        for i in owners:
            g = len(self.grids[i])
            results.append({"values": values[at : at + g], "fitted": fitted[at : at + g]})
            at += g
        return results


def _interval(name: str, grid: np.ndarray, delta: np.ndarray, at: float) -> Profile:
    centre = int(np.argmin(np.abs(grid - at)))
    span = grid[-1] - grid[0]
    bounds = []
    opens = []
    for direction in (-1, 1):
        edge = 0 if direction < 0 else len(grid) - 1
        if abs(grid[edge] - at) <= 1e-9 * max(span, 1e-300):
            # the estimate sits on this bound: the interval ends there, it is not open
            opens.append(False)
            bounds.append(grid[edge])
            continue
        j = centre
        crossing = None
        while 0 <= j + direction < len(grid):
            nxt = j + direction
            if delta[nxt] > THRESHOLD_95:
                d0, d1 = delta[j], delta[nxt]
                # outside the support at nxt (inf): the last point known inside closes it
                frac = (THRESHOLD_95 - d0) / (d1 - d0) if d1 != d0 and np.isfinite(d1) else 0.0
                crossing = grid[j] + np.clip(frac, 0.0, 1.0) * (grid[nxt] - grid[j])
                break
            j = nxt
        opens.append(crossing is None)
        bounds.append(grid[edge] if crossing is None else crossing)
    if np.nanmax(delta) < FLAT:  # flat: no side is closed, whatever the estimate
        status = "structurally unidentifiable"
        opens = [True, True]
        bounds = [grid[0], grid[-1]]
    elif any(opens):
        status = "practically unidentifiable"
    elif at in (grid[0], grid[-1]):
        status = "identifiable (estimate at a bound)"
    else:
        status = "identifiable"
    return Profile(
        name, grid, delta, float(bounds[0]), float(bounds[1]), opens[0], opens[1], status
    )


def identifiability(problem: CalibrationProblem, theta: np.ndarray) -> Identifiability:
    """Fisher information (Hessian), its rank and validity, collinearity index and
    near-duplicate pairs."""
    k = problem.k
    h = FD_STEP
    unit = problem.unit(theta)
    centre = np.clip(unit, h, 1.0 - h)
    at_bound = [problem.names[i] for i in np.flatnonzero(centre != unit)]
    points = [centre]
    for i in range(k):
        for sign in (1, -1):
            p = centre.copy()
            p[i] += sign * h
            points.append(p)
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    for i, j in pairs:
        for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
            p = centre.copy()
            p[i] += si * h
            p[j] += sj * h
            points.append(p)
    points = np.array(points)
    s, status = problem.quantities(problem.from_unit(points))
    nll, _ = problem.nll_from_quantities(s, status)
    f = nll + problem.log_prior(problem.from_unit(points))
    f0 = f[0]
    hess = np.zeros((k, k))
    for i in range(k):
        fp, fm = f[1 + 2 * i], f[2 + 2 * i]
        hess[i, i] = (fp - 2 * f0 + fm) / h**2
    base = 1 + 2 * k
    for n, (i, j) in enumerate(pairs):
        fpp, fpm, fmp, fmm = f[base + 4 * n : base + 4 * n + 4]
        hess[i, j] = hess[j, i] = (fpp - fpm - fmp + fmm) / (4 * h**2)
    eig = np.linalg.eigvalsh(hess)
    rank = int(np.sum(eig > max(eig.max(), 0.0) * 1e-6)) if eig.max() > 0 else 0
    reasons = []
    if at_bound:
        reasons.append(f"estimate at a bound ({', '.join(at_bound)})")
    if is_failed(f):  # FAILED in a difference: a curvature of 1e10 / h**2, not of the data
        reasons.append(
            f"runs fail at {int(np.sum(f >= FAILED))} of the {len(f)} points of the finite "
            "differences next to the estimate"
        )
    negative = eig < -NEGATIVE_EIGEN * max(abs(eig).max(), 1e-300)
    if negative.any() or not np.all(np.isfinite(eig)):
        reasons.append(f"{int(negative.sum())} negative eigenvalue(s), smallest {eig.min():.3g}")
    # sensitivities of every weighted case quantity, central differences
    used = problem.weights > 0
    sens = np.stack(
        [(s[1 + 2 * i][used] - s[2 + 2 * i][used]).ravel() / (2 * h) for i in range(k)], axis=1
    )
    norms = np.linalg.norm(sens, axis=0)
    safe = np.where(norms > 0, norms, 1.0)
    unit_sens = sens / safe
    gram = unit_sens.T @ unit_sens
    lam_min = np.linalg.eigvalsh(gram).min() if k else 1.0
    index = float(1.0 / np.sqrt(lam_min)) if lam_min > 1e-300 and np.all(norms > 0) else np.inf
    dup = [
        (problem.names[i], problem.names[j], float(gram[i, j]))
        for i, j in pairs
        if abs(gram[i, j]) > NEAR_DUPLICATE
    ]
    return Identifiability(hess, eig, rank, not reasons, "; ".join(reasons), index, gram, dup)


def bootstrap(
    problem: CalibrationProblem,
    theta: np.ndarray,
    replicates: int,
    seed: int,
    *,
    starts: int = 4,
    execution: Execution | None = None,
    progress: Progress = silent,
) -> Bootstrap | None:
    """Case bootstrap: each replicate re-weights the cases by resampled counts and refits
    from the estimate and ``starts`` Latin-hypercube points over the bounds.

    The replicates run as one task each through ``execution`` (in this process when
    None; with an output, checkpointed in ``<output>.bootstrap.job/``); their results
    come back in replicate order whichever executor ran them.
    """
    if replicates <= 0:
        return None
    refit = BootstrapRefit(problem, theta)
    tasks = bootstrap_tasks(problem, theta, replicates, seed, starts)
    results = run_tasks(
        refit,
        tasks,
        job_part(execution, "bootstrap"),
        problem=problem,
        config=job_config(problem, "case bootstrap", start=theta, starts=starts),
        seed=seed,
        progress=progress,
        description="bootstrap replicates",
    )
    fitted, values, cuts = refit.unpack(results)
    if is_failed(values):  # a replicate with no fit would enter the intervals as a point
        failed = np.flatnonzero(values >= FAILED)
        raise no_fit(
            problem,
            fitted[failed],
            step=f"the case bootstrap ({len(failed)} of {replicates} replicate refits, from "
            "the estimate given and random starts)",
            weights=tasks[failed[0]]["weights"],
            missed="start the bootstrap from a fitted estimate (one inside the support)",
            stage="bootstrap",
        )
    low, high = np.percentile(fitted, [2.5, 97.5], axis=0)
    return Bootstrap(fitted, values, cuts, low, high, seed)


def bootstrap_tasks(
    problem: CalibrationProblem, theta: np.ndarray, replicates: int, seed: int, starts: int
) -> list[dict]:
    """The bootstrap's tasks, one per replicate: its resampled case ``weights (C,)`` and
    its starting points ``starts (1 + starts, k)`` (the estimate, then ``starts``
    Latin-hypercube points over the bounds), all drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    n = len(problem.cases)
    counts = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(replicates)])
    weights = counts * problem.weights[None, :]
    spread = [latin_hypercube(rng, starts, problem.k) for _ in range(replicates)]
    points = [np.vstack([theta[None, :], problem.from_unit(u)]) for u in spread]
    return [{"weights": w.astype(float), "starts": p} for w, p in zip(weights, points, strict=True)]


class BootstrapRefit:
    """A bootstrap task of ``run_tasks``: replicates in (``bootstrap_tasks``), refits out.

    Each item is one replicate: its case ``weights`` and its ``starts`` (the estimate
    and the random starts), each refitted by a local search; the best of them is the
    replicate's fit. Its result: the refitted ``theta``, the ``objective`` and every
    outcome's ``cutpoints``. All the items of a call are one batched search. It pickles
    as the problem (the model as IR and kernel source), so a worker loads the kernel
    from its cache.
    """

    def __init__(self, problem: CalibrationProblem, theta: np.ndarray) -> None:
        self.problem = problem
        self.theta = np.asarray(theta, dtype=float)

    def compute(self, problem: CalibrationProblem, items: list[dict]) -> list[dict]:
        k = len(self.theta)
        W = np.stack([np.asarray(item["weights"], dtype=float) for item in items])
        starts = np.stack([np.asarray(item["starts"], dtype=float) for item in items])  # (m, s, k)
        m, s_per = starts.shape[:2]
        tried, values = batched_search(
            problem,
            starts.reshape(-1, k),
            weights=np.repeat(W, s_per, axis=0),
            step=GLOBAL_STEP,
            min_step=LOCAL_MIN_STEP,
        )
        best = np.argmin(values.reshape(m, s_per), axis=1)
        pick = np.arange(m) * s_per + best
        fitted, values = tried[pick], values[pick]
        s, status = problem.quantities(fitted)
        _, cuts = problem.nll_from_quantities(s, status, W)
        return [
            {
                "theta": fitted[i],
                "objective": float(values[i]),
                "cutpoints": [np.asarray(c[i], dtype=float) for c in cuts],
            }
            for i in range(m)
        ]

    def unpack(self, results: list[dict]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """``(theta (B, k), objective (B,), cutpoints per outcome (B, J - 1))``."""
        theta = np.array([r["theta"] for r in results], dtype=float).reshape(-1, len(self.theta))
        objective = np.array([r["objective"] for r in results], dtype=float)
        cuts = [
            np.array([r["cutpoints"][o] for r in results], dtype=float).reshape(len(results), -1)
            for o in range(len(self.problem.outcomes))
        ]
        return theta, objective, cuts
