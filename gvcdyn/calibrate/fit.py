"""Maximum likelihood: multi-start differential evolution, then a local polish.

Each differential-evolution start uses ``vectorized=True`` (scipy then forces
``updating='deferred'``): a generation's whole population times all cases is ONE
compiled batch. Several seeded starts show whether the optimum is unique (their spread
is reported); the best start is polished by a derivative-free local method (Powell by
default: finite-difference gradients are fragile where the model has thresholds).
Every seed is fixed and recorded.

The starts are independent, so each is a task of ``gvcdyn.execute`` (``run_tasks``: in
this process, or one per dask worker), and so is the polish. With an output each
finished one is checkpointed beside it (``fit.nc.fit-starts.job/``,
``fit.nc.fit-polish.job/``), so a resumed calibration does not run them again. A start
draws its random numbers from its own seed only, so it comes out bitwise the same
wherever and in whichever batch of starts it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import differential_evolution, minimize

from gvcdyn.calibrate.feasibility import is_failed, no_fit
from gvcdyn.calibrate.problem import CalibrationProblem
from gvcdyn.calibrate.tasks import job_config, job_part, run_tasks, runs_in_process
from gvcdyn.execute import Execution
from gvcdyn.progress import Progress, Task, silent

__all__ = ["DifferentialEvolutionStarts", "FitResult", "Polish", "StartResult", "fit"]

#: a start's report to ``fit``: (start index, generation, best objective so far)
GenerationReport = Callable[[int, int, float], None]


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
    progress: Progress = silent,
    execution: Execution | None = None,
) -> FitResult:
    """Fit the estimated parameters (cutpoints profiled out) to the weighted cases.

    ``execution`` runs the starts and the polish as tasks (in this process when None;
    see the module docstring). ``progress`` has a task per start ("DE start 2/4", of
    ``maxiter`` generations, its best objective as the note) that hears of every
    generation of a start run in this process; a start that ran elsewhere, or came from
    a checkpoint, is reported once, with its last generation. When the starts run on
    workers, a task "differential-evolution starts" also counts them as they finish.

    Raises ``CalibrationInfeasibleError`` (``feasibility.no_fit``: which checks fail, or
    which cases' runs) when no start found a parameter set inside the support: every
    candidate broke a reality check or failed its runs, so there is no fit to return.
    """
    cfg = problem.config
    seeds = tuple(int(s) for s in (cfg.seeds if seeds is None else seeds))
    polish = cfg.polish if polish is None else polish
    runs_before = problem.counter.runs
    task = DifferentialEvolutionStarts(
        problem,
        seeds,
        weights,
        popsize=cfg.popsize if popsize is None else popsize,
        maxiter=cfg.maxiter if maxiter is None else maxiter,
        tol=cfg.tol if tol is None else tol,
    )
    starts = _run_starts(task, execution, progress)
    best = min(starts, key=lambda s: s.objective)
    if is_failed(best.objective):  # no start found a parameter set: no fit to polish or report
        # a vectorised start counts a call of the whole population as one evaluation
        population = max(5, task.popsize * problem.k)
        candidates = population * sum(s_.evaluations for s_ in starts)
        raise no_fit(
            problem,
            np.array([s_.theta for s_ in starts]),
            step=f"the differential evolution ({len(starts)} start{'s' * (len(starts) > 1)}, "
            f"{candidates:,} candidates)",
            weights=weights,
        )
    theta, objective = best.theta, best.objective
    polish_message = "no polish"
    if polish != "none":
        theta, objective, polish_message = _run_polish(
            Polish(problem, weights, polish), theta, objective, execution
        )
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


def _run_starts(
    task: DifferentialEvolutionStarts, execution: Execution | None, progress: Progress
) -> list[StartResult]:
    """Every start of ``task`` (one task each; see ``fit``), its runs counted."""
    problem = task.problem
    bars: dict[int, Task] = {}

    def live(index: int, generation: int, best: float) -> None:
        if index not in bars:
            for bar in bars.values():  # the starts run one after another here
                bar.done()
            bars[index] = progress.task(f"DE start {index + 1}/{len(task.seeds)}", task.maxiter)
        # the sentinel is no value: say that nothing in the support was found yet
        bars[index].update(
            generation, note="best: none yet" if is_failed(best) else f"best {best:.4f}"
        )

    task.progress = live
    results = run_tasks(
        task,
        list(range(len(task.seeds))),
        job_part(execution, "fit-starts"),
        problem=problem,
        config=job_config(
            problem,
            "fit starts",
            weights=_weights_key(task.weights),
            popsize=task.popsize,
            maxiter=task.maxiter,
            tol=task.tol,
        ),
        seed=task.seeds,
        progress=silent if runs_in_process(execution) else progress,
        description="differential-evolution starts",
    )
    starts = task.unpack(results)
    for index, start in enumerate(starts):  # saved in a checkpoint, or run on a worker
        if index not in bars:
            live(index, start.generations, start.objective)
    for bar in bars.values():
        bar.done()
    return starts


def _run_polish(
    task: Polish, theta: np.ndarray, objective: float, execution: Execution | None
) -> tuple[np.ndarray, float, str]:
    """The polished ``(theta, objective, message)`` from the best start (one task)."""
    problem = task.problem
    results = run_tasks(
        task,
        [{"theta": theta, "objective": objective}],
        job_part(execution, "fit-polish"),
        problem=problem,
        config=job_config(
            problem, "fit polish", weights=_weights_key(task.weights), polish=task.method
        ),
        seed=None,
    )
    return task.unpack(results)


def _weights_key(weights: np.ndarray | None) -> np.ndarray | str:
    """The fit's case weights for a checkpoint's fingerprint ("problem" when its own)."""
    return "problem" if weights is None else weights


class DifferentialEvolutionStarts:
    """The fit's starts as tasks of ``run_tasks``, one start per item.

    An item is the start's index into ``seeds``; its result is a dict: the start's
    optimum ``theta``, ``objective``, ``generations``, ``evaluations``, ``success`` and
    ``message`` (scipy's, whole).
    ``progress`` hears of every generation in this process; it is not pickled (a worker
    has nobody to tell). The task pickles as the problem (the model as IR and kernel
    source), so a worker loads the kernel from its cache.
    """

    def __init__(
        self,
        problem: CalibrationProblem,
        seeds: tuple[int, ...],
        weights: np.ndarray | None,
        *,
        popsize: int,
        maxiter: int,
        tol: float,
        progress: GenerationReport | None = None,
    ) -> None:
        self.problem = problem
        self.seeds = tuple(seeds)
        self.weights = weights
        self.popsize, self.maxiter, self.tol = popsize, maxiter, tol
        self.progress = progress

    def __getstate__(self) -> dict:
        return {**self.__dict__, "progress": None}

    def compute(self, problem: CalibrationProblem, items: list[int]) -> list[dict]:
        weights = self.weights

        def batch(x: np.ndarray) -> np.ndarray:  # DE passes (k, S)
            return problem.objective(np.asarray(x).T, weights)

        results = []
        for index in items:
            result = differential_evolution(
                batch,
                problem.bounds,
                popsize=self.popsize,
                maxiter=self.maxiter,
                tol=self.tol,
                rng=np.random.default_rng(self.seeds[index]),
                vectorized=True,
                updating="deferred",
                polish=False,
                init="latinhypercube",
                callback=_generation_callback(index, self.progress),
            )
            results.append(
                {
                    "theta": np.asarray(result.x, dtype=float),
                    "objective": float(result.fun),
                    "generations": int(result.nit),
                    "evaluations": int(result.nfev),
                    "success": bool(result.success),
                    "message": str(result.message),
                }
            )
        return results

    def unpack(self, results: list[dict]) -> list[StartResult]:
        """The starts in seed order."""
        return [
            StartResult(seed=seed, **{**r, "theta": np.array(r["theta"], dtype=float)})
            for seed, r in zip(self.seeds, results, strict=True)
        ]


class Polish:
    """The fit's polish as a task of ``run_tasks``: one item, the best start's
    ``{"theta", "objective"}``.

    Its result: the polished ``theta`` and ``objective`` (the start's own when the local
    method found nothing better) and the method's ``message``.
    """

    def __init__(
        self, problem: CalibrationProblem, weights: np.ndarray | None, method: str
    ) -> None:
        self.problem = problem
        self.weights = weights
        self.method = method

    def compute(self, problem: CalibrationProblem, items: list[dict]) -> list[dict]:
        bounds, weights = problem.bounds, self.weights
        results = []
        for item in items:
            theta = np.array(item["theta"], dtype=float)
            objective = float(item["objective"])

            def single(u: np.ndarray) -> float:
                clipped = np.clip(u, bounds[:, 0], bounds[:, 1])
                return float(problem.objective(clipped[None, :], weights)[0])

            res = minimize(
                single,
                theta,
                method=self.method,
                bounds=bounds,
                options={"maxfev": 60 * problem.k}
                if self.method != "L-BFGS-B"
                else {"maxfun": 60 * problem.k},
            )
            if res.fun < objective:
                theta = np.clip(np.asarray(res.x, dtype=float), bounds[:, 0], bounds[:, 1])
                objective = float(res.fun)
            message = f"{self.method}: {res.message}"
            results.append({"theta": theta, "objective": objective, "message": message})
        return results

    @staticmethod
    def unpack(results: list[dict]) -> tuple[np.ndarray, float, str]:
        """``(theta, objective, message)`` of the one polished fit."""
        (r,) = results
        return np.array(r["theta"], dtype=float), float(r["objective"]), str(r["message"])


def _generation_callback(index: int, progress: GenerationReport | None):
    """A DE callback (scipy needs the parameter name ``intermediate_result``)."""
    generation = [0]

    def on_generation(intermediate_result) -> None:
        generation[0] += 1
        if progress is not None:
            progress(index, generation[0], float(intermediate_result.fun))

    return on_generation
