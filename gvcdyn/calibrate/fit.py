"""Maximum likelihood: multi-start differential evolution, then a local polish.

Each differential-evolution start uses ``vectorized=True`` (scipy then forces
``updating='deferred'``): a generation's whole population times all cases is ONE
compiled batch. Several seeded starts show whether the optimum is unique (their spread
is reported); the best start is polished by a derivative-free local method (Powell by
default: finite-difference gradients are fragile where the model has thresholds).
Every seed is fixed and recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import differential_evolution, minimize

from gvcdyn.calibrate.problem import CalibrationProblem

__all__ = ["FitResult", "StartResult", "fit"]

#: progress(start index, generation, best objective so far)
Progress = Callable[[int, int, float], None]


@dataclass(frozen=True)
class StartResult:
    seed: int
    theta: np.ndarray
    objective: float
    generations: int
    evaluations: int
    success: bool
    message: str


@dataclass
class FitResult:
    theta: np.ndarray
    objective: float
    cutpoints: list[np.ndarray]
    starts: list[StartResult]
    polish_method: str
    polish_message: str
    success: bool
    message: str
    n_runs: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def spread(self) -> np.ndarray:
        """Range of each parameter across the starts' optima (max - min)."""
        thetas = np.array([s.theta for s in self.starts])
        return thetas.max(axis=0) - thetas.min(axis=0)


def fit(
    problem: CalibrationProblem,
    *,
    weights: np.ndarray | None = None,
    seeds: tuple[int, ...] | None = None,
    popsize: int | None = None,
    maxiter: int | None = None,
    tol: float | None = None,
    polish: str | None = None,
    progress: Progress | None = None,
) -> FitResult:
    """Fit the estimated parameters (cutpoints profiled out) to the weighted cases."""
    cfg = problem.config
    seeds = cfg.seeds if seeds is None else seeds
    popsize = cfg.popsize if popsize is None else popsize
    maxiter = cfg.maxiter if maxiter is None else maxiter
    tol = cfg.tol if tol is None else tol
    polish = cfg.polish if polish is None else polish
    runs_before = problem.counter.runs

    def batch(x: np.ndarray) -> np.ndarray:  # DE passes (k, S)
        return problem.objective(np.asarray(x).T, weights)

    starts = []
    for index, seed in enumerate(seeds):
        on_generation = _generation_callback(index, progress)
        result = differential_evolution(
            batch,
            problem.bounds,
            popsize=popsize,
            maxiter=maxiter,
            tol=tol,
            rng=np.random.default_rng(seed),
            vectorized=True,
            updating="deferred",
            polish=False,
            init="latinhypercube",
            callback=on_generation,
        )
        starts.append(
            StartResult(
                int(seed),
                np.asarray(result.x, dtype=float),
                float(result.fun),
                int(result.nit),
                int(result.nfev),
                bool(result.success),
                str(result.message),
            )
        )
    best = min(starts, key=lambda s: s.objective)
    theta, objective = best.theta, best.objective
    polish_message = "no polish"
    if polish != "none":

        def single(x: np.ndarray) -> float:
            return float(
                problem.objective(
                    np.clip(x, problem.bounds[:, 0], problem.bounds[:, 1])[None, :], weights
                )[0]
            )

        res = minimize(
            single,
            theta,
            method=polish,
            bounds=problem.bounds,
            options={"maxfev": 60 * problem.k}
            if polish != "L-BFGS-B"
            else {"maxfun": 60 * problem.k},
        )
        polish_message = f"{polish}: {res.message}"
        if res.fun < objective:
            theta = np.clip(
                np.asarray(res.x, dtype=float), problem.bounds[:, 0], problem.bounds[:, 1]
            )
            objective = float(res.fun)
    s, status = problem.quantities(theta[None, :])
    _, cuts = problem.nll_from_quantities(s, status, weights)
    success = any(s_.success for s_ in starts)
    message = "; ".join(f"seed {s_.seed}: {s_.message}" for s_ in starts)
    return FitResult(
        theta,
        objective,
        [c[0] for c in cuts],
        starts,
        polish,
        polish_message,
        success,
        message,
        problem.counter.runs - runs_before,
    )


def _generation_callback(index: int, progress: Progress | None):
    """A DE callback (scipy needs the parameter name ``intermediate_result``)."""
    generation = [0]

    def on_generation(intermediate_result) -> None:
        generation[0] += 1
        if progress is not None:
            progress(index, generation[0], float(intermediate_result.fun))

    return on_generation
