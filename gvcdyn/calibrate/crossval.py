"""Out-of-sample checks: repeated stratified k-fold and leave-one-out, against baselines.

Everything is refitted inside each fold from the training cases alone: the model's
parameters (batched local search from fixed, data-independent starting points: the
centre of the bounds and a seeded Latin-hypercube point, and with ``[crossval]
model_start = true`` the model's own values of the estimated constants), its cutpoints,
and both baselines:

- ``frequencies``: the training cases' level shares (weighted, with the same small
  pseudo-count as the cutpoints);
- ``context``: an ordered logit on the case context alone (the mapped lever values and
  the period length, standardised in the training fold; ridge penalty ``RIDGE`` on the
  slopes because 30-odd cases cannot support a dozen free slopes), fitted with scipy;
- ``sparse`` (when the config lists ``[[crossval.sparse]]`` covariates): the same
  ordered logit on a few covariates read from the case table's own coded columns (an
  indicator, or a count of columns holding a value; a blank cell counts as absent),
  the simplest reading of the case evidence a model must beat to be worth its structure.

Scores on the held-out cases: log-loss (natural log), ranked probability score
(``sum_j (F_j - 1[y <= j])^2 / (J - 1)``), accuracy of the most probable level. Each
score comes with a 95% case-bootstrap interval, and each baseline's difference from the
model with a paired bootstrap interval (Varoquaux 2018: with small N, error bars are
wide). Schemes are run on all cases and again without the low-confidence rows (dropped
from training and testing).

Each fold (refit and predictions) is an independent task run through ``gvcdyn.execute``
(in this process or on dask workers, checkpointed per subset for ``--resume``); the folds
come back in order, and every random draw stays in this process, so the scores do not
depend on where the folds ran.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.stats import qmc

from gvcdyn.calibrate.config import CalibrationConfig, SparseCovariate
from gvcdyn.calibrate.feasibility import is_failed, no_fit
from gvcdyn.calibrate.likelihood import (
    cutpoints_from_free,
    free_from_cutpoints,
    level_probabilities,
)
from gvcdyn.calibrate.problem import CalibrationProblem
from gvcdyn.calibrate.search import batched_search
from gvcdyn.calibrate.tasks import job_config, job_part, run_tasks
from gvcdyn.errors import CalibrationConfigError
from gvcdyn.execute import Execution
from gvcdyn.progress import Progress, silent

__all__ = [
    "CrossValidation",
    "FoldFit",
    "baseline_predictions",
    "check_folds",
    "context_covariates",
    "crossvalidate",
    "cv_schemes",
    "cv_subsets",
    "draw_plans",
    "draw_starts",
    "fold_starts",
    "model_start",
    "replay_plans",
    "scores",
    "stratified_folds",
]

PREDICTORS = ("model", "frequencies", "context")  # and "sparse" when configured
METRICS = ("log_loss", "rps", "accuracy")
RIDGE = 1.0
N_STARTS = 2  # per fold: the centre of the bounds + 1 Latin-hypercube point (drawn)
# (+ the model's values with [crossval] model_start = true: fold_starts)
# the fold searches start far from any optimum: first moves of a quarter of each range
CV_STEP = 0.25
CV_MIN_STEP = 0.01
N_BOOT = 2000


@dataclass
class CrossValidation:
    subsets: list[str]
    schemes: list[str]
    outcomes: list[str]
    score: np.ndarray  # (subset, scheme, outcome, predictor, metric)
    low: np.ndarray
    high: np.ndarray
    diff_low: np.ndarray  # predictor - model, paired bootstrap
    diff_high: np.ndarray
    n_cases: np.ndarray  # (subset,)
    loo_probability: np.ndarray | None  # (case, outcome, level) on subset "all"
    predictors: tuple[str, ...] = PREDICTORS

    def coords(self) -> dict:
        return {
            "cv_subset": self.subsets,
            "cv_scheme": self.schemes,
            "cv_outcome": self.outcomes,
            "cv_predictor": list(self.predictors),
            "cv_metric": list(METRICS),
        }

    def to_data_vars(self) -> dict:
        dims = ("cv_subset", "cv_scheme", "cv_outcome", "cv_predictor", "cv_metric")
        out = {
            "cv_score": (dims, self.score, {"description": "mean held-out score"}),
            "cv_score_low": (dims, self.low, {"description": "95% case-bootstrap interval"}),
            "cv_score_high": (dims, self.high, {}),
            "cv_diff_low": (
                dims,
                self.diff_low,
                {"description": "95% paired-bootstrap interval of predictor - model"},
            ),
            "cv_diff_high": (dims, self.diff_high, {}),
            "cv_n_cases": (("cv_subset",), self.n_cases, {}),
        }
        if self.loo_probability is not None:
            out["loo_probability"] = (
                ("case", "cv_outcome", "level"),
                self.loo_probability,
                {"description": "leave-one-out P(level) per case"},
            )
        return out


def stratified_folds(strata: np.ndarray, folds: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Test-index arrays of ``folds`` folds, each stratum spread evenly over the folds."""
    assignment = np.empty(len(strata), dtype=np.int64)
    offset = 0
    for value in np.unique(strata):
        members = rng.permutation(np.flatnonzero(strata == value))
        assignment[members] = (offset + np.arange(len(members))) % folds
        offset += len(members)
    return [np.flatnonzero(assignment == f) for f in range(folds)]


def scores(probs: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Per-case ``(n, 3)`` log-loss, ranked probability score, accuracy."""
    n, levels = probs.shape
    p = np.clip(probs[np.arange(n), observed], 1e-12, 1.0)
    cum = np.cumsum(probs, axis=1)[:, :-1]
    step = (np.arange(levels - 1)[None, :] >= observed[:, None]).astype(float)
    rps = np.sum((cum - step) ** 2, axis=1) / (levels - 1)
    acc = (np.argmax(probs, axis=1) == observed).astype(float)
    return np.stack([-np.log(p), rps, acc], axis=1)


def crossvalidate(
    problem: CalibrationProblem,
    *,
    execution: Execution | None = None,
    progress: Progress = silent,
) -> CrossValidation:
    """Every scheme on every subset; the folds run as tasks through ``execution`` (in this
    process when None), checkpointed per subset (``<output>.cv-<subset>.job/``). The
    fold refits start from ``fold_starts``; with ``[crossval] model_start = true`` a model
    value outside its bounds is refused (``CalibrationConfigError``) before any fold runs.

    Raises ``CalibrationInfeasibleError`` (stage "crossval") when a fold's refit found
    no parameter set inside the support (its starts outside the reality checks' support
    and out of the pattern search's reach, or failed runs): its "model" predictions
    would come from an arbitrary vector."""
    cfg = problem.config
    outcome_idx = cv_outcome_indices(problem)
    subsets = check_folds(problem)
    schemes = cv_schemes(cfg)
    n_levels = max(len(problem.outcomes[k].levels) for k in outcome_idx)
    predictors = predictors_of(problem)
    shape = (len(subsets), len(schemes), len(outcome_idx), len(predictors), len(METRICS))
    score, low, high = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    dlow, dhigh = np.full(shape, np.nan), np.full(shape, np.nan)
    loo_prob = None
    if cfg.cv_model_start:
        model_start(problem)  # a config error before the first subset's folds
    rng = np.random.default_rng(cfg.cv_seed)
    for a, (subset, members) in enumerate(subsets.items()):
        plans = draw_plans(problem, members, rng)  # per scheme: list of test-index arrays
        tests = [t for plan in plans for t in plan]
        preds = _fold_predictions(
            problem,
            members,
            tests,
            outcome_idx,
            rng,
            execution=job_part(execution, f"cv-{subset}"),
            progress=progress,
        )
        start = 0
        for b, plan in enumerate(plans):
            fold_preds = preds[start : start + len(plan)]
            start += len(plan)
            for c, k in enumerate(outcome_idx):
                per_case = _pool(
                    plan, fold_preds, c, problem.levels[:, k], len(problem.cases), predictors
                )
                found = _score_outcome(per_case, rng)
                score[a, b, c], low[a, b, c], high[a, b, c] = found[:3]
                dlow[a, b, c], dhigh[a, b, c] = found[3:]
            if subset == "all" and schemes[b] == "leave-one-out":
                loo_prob = np.full((len(problem.cases), len(outcome_idx), n_levels), np.nan)
                for test, pred in zip(plan, fold_preds, strict=True):
                    for c in range(len(outcome_idx)):
                        probs = pred["model"][c]
                        loo_prob[test, c, : probs.shape[1]] = probs
    return CrossValidation(
        list(subsets),
        schemes,
        list(cfg.cv_outcomes),
        score,
        low,
        high,
        dlow,
        dhigh,
        np.array([len(m) for m in subsets.values()]),
        loo_prob,
        predictors,
    )


def cv_outcome_indices(problem: CalibrationProblem) -> list[int]:
    """The problem's outcome index of each ``cv_outcomes`` column, in the config's order
    (the first one stratifies the folds)."""
    columns = [o.column for o in problem.outcomes]
    return [columns.index(c) for c in problem.config.cv_outcomes]


def cv_subsets(problem: CalibrationProblem) -> dict[str, np.ndarray]:
    """The case subsets a cross-validation is run on, as member indices: ``all`` usable
    cases (weight > 0), and ``without_low`` the same without the low-confidence rows when
    the weight column has any (dropped from training and testing alike)."""
    cfg = problem.config
    usable = problem.weights > 0
    masks = {"all": usable}
    if cfg.weight_column and "low" in set(problem.cases.frame[cfg.weight_column]):
        masks["without_low"] = usable & (problem.cases.frame[cfg.weight_column] != "low").to_numpy()
    return {name: np.flatnonzero(mask) for name, mask in masks.items()}


def check_folds(problem: CalibrationProblem) -> dict[str, np.ndarray]:
    """The subsets of :func:`cv_subsets`, each with at least ``[crossval] folds`` cases;
    ``CalibrationConfigError`` naming the config and the smallest subset otherwise: a
    fold without a case is an idle refit (100 folds of 40 cases cost 2.4 times 40 folds'
    runs, for the same scores), and the scheme, named "100-fold", is leave-one-out. Run
    before the fit (``study``), as a change of the config refuses a --resume."""
    subsets = cv_subsets(problem)
    cfg = problem.config
    name = min(subsets, key=lambda s: len(subsets[s]))
    n = len(subsets[name])
    if cfg.cv_folds > n:
        where = f"calibration config {cfg.path}" if cfg.path else "calibration config"
        subset = "all" if name == "all" else f"'{name}' (the cases without the low-confidence rows)"
        raise CalibrationConfigError(
            f"{where} [crossval]: folds = {cfg.cv_folds}, but the cross-validation's subset "
            f"{subset} has {n} cases, so {cfg.cv_folds - n} fold(s) would hold none; give "
            f"folds <= {n} (loo = true adds leave-one-out)"
        )
    return subsets


def cv_schemes(config: CalibrationConfig) -> list[str]:
    """The schemes' names, in the order ``draw_plans`` returns their plans."""
    kfold = f"{config.cv_folds}-fold x{config.cv_repeats}"
    return [kfold] + (["leave-one-out"] if config.cv_loo else [])


def loo_plan(members: np.ndarray) -> list[np.ndarray]:
    """Leave-one-out's test-index arrays: each member alone (no random draw)."""
    return [np.array([i]) for i in members]


def draw_plans(
    problem: CalibrationProblem, members: np.ndarray, rng: np.random.Generator
) -> list[list[np.ndarray]]:
    """Per scheme of ``cv_schemes``, the test-index arrays of ``members``: the repeated
    k-fold split stratified on the first cross-validated outcome (``cv_repeats`` draws of
    ``stratified_folds`` from ``rng``), then leave-one-out when configured."""
    cfg = problem.config
    strata = problem.levels[members, cv_outcome_indices(problem)[0]]
    kfold = []
    for _ in range(cfg.cv_repeats):
        kfold += [members[t] for t in stratified_folds(strata, cfg.cv_folds, rng)]
    return [kfold] + ([loo_plan(members)] if cfg.cv_loo else [])


def draw_starts(problem: CalibrationProblem, rng: np.random.Generator) -> np.ndarray:
    """``(N_STARTS, k)`` the fold refits' starting points in the unit cube: the centre of
    the bounds and ``N_STARTS - 1`` Latin-hypercube points drawn from ``rng``
    (data-independent, and shared by every fold of a subset)."""
    k = problem.k
    return np.vstack([np.full((1, k), 0.5), qmc.LatinHypercube(d=k, seed=rng).random(N_STARTS - 1)])


def model_start(problem: CalibrationProblem) -> np.ndarray:
    """``(k,)`` the model's own values of the estimated constants (the .mdl's: fixed
    before any fit, data-independent), the extra fold-refit start of ``[crossval]
    model_start = true``. Data-independent only while the model file holds values set
    before any fit: a model whose constants were overwritten with a fit's estimates would
    start every fold at the fit to all cases, and its scores would flatter it. Raises
    ``CalibrationConfigError`` naming the first constant whose value lies outside its
    ``[estimate]`` bounds (or is not a number): a start there would be clipped to another
    point, not the model's."""
    values = np.array([problem.model.parameter(n).default for n in problem.names], dtype=float)
    lo, hi = problem.bounds[:, 0], problem.bounds[:, 1]
    outside = np.flatnonzero(~((values >= lo) & (values <= hi)))
    if len(outside):
        j = outside[0]
        cfg = problem.config
        where = f"calibration config {cfg.path}" if cfg.path else "calibration config"
        raise CalibrationConfigError(
            f"{where}: [crossval] model_start = true starts the fold refits from the "
            f"model's values, but '{problem.names[j]}' = {values[j]:g} in the model lies "
            f"outside its [estimate] bounds [{lo[j]:g}, {hi[j]:g}]; widen the bounds to "
            "hold it, or set model_start = false"
        )
    return values


def fold_starts(problem: CalibrationProblem, rng: np.random.Generator) -> np.ndarray:
    """``(n, k)`` the fold refits' starting points in parameter units: ``draw_starts``
    (the centre of the bounds and the Latin-hypercube points, drawn from ``rng``) and,
    with ``[crossval] model_start = true``, the model's values (``model_start``) last,
    drawing nothing: the draws from ``rng`` and the first rows are the same either way."""
    starts = problem.from_unit(draw_starts(problem, rng))
    if problem.config.cv_model_start:
        starts = np.vstack([starts, model_start(problem)[None, :]])
    return starts


def replay_plans(
    problem: CalibrationProblem, *, loo: bool = False
) -> dict[str, dict[str, list[np.ndarray]]]:
    """Per subset, per scheme, the test-index arrays ``crossvalidate(problem)`` uses,
    without fitting anything: its generator (``cv_seed``) replayed draw by draw through
    the same functions: per subset ``draw_plans``, ``draw_starts`` and the scoring
    bootstraps of ``_score_outcome`` on stand-in scores (its draws depend only on which
    cases are scored), so the next subset's folds are the ones crossvalidate drew (the
    Latin-hypercube start spawns a child of ``rng`` at scipy 1.17 and moves no later
    draw; it is replayed all the same, so a scipy that draws from the stream stays in
    step). For a study that refits other predictors in the very folds
    (studies/v3_signed_context_cv.py). ``loo``: add leave-one-out where the config
    leaves it out (it draws nothing)."""
    cfg = problem.config
    outcome_idx = cv_outcome_indices(problem)
    predictors = predictors_of(problem)
    rng = np.random.default_rng(cfg.cv_seed)
    out = {}
    for subset, members in cv_subsets(problem).items():
        plans = draw_plans(problem, members, rng)
        draw_starts(problem, rng)
        for plan in plans:
            for k in outcome_idx:
                n_levels = len(problem.outcomes[k].levels)
                stand_in = [
                    {name: [np.full((len(t), n_levels), 1.0 / n_levels)] for name in predictors}
                    for t in plan
                ]
                per_case = _pool(
                    plan, stand_in, 0, problem.levels[:, k], len(problem.cases), predictors
                )
                _score_outcome(per_case, rng)
        out[subset] = dict(zip(cv_schemes(cfg), plans, strict=True))
        if loo:
            out[subset].setdefault("leave-one-out", loo_plan(members))
    return out


def predictors_of(problem: CalibrationProblem) -> tuple[str, ...]:
    """The predictors a cross-validation of ``problem`` compares: the model and its
    baselines (``sparse`` only when the config lists sparse covariates)."""
    return PREDICTORS + (("sparse",) if problem.config.cv_sparse else ())


def sparse_covariates(problem: CalibrationProblem) -> np.ndarray:
    """``(C, p)`` the config's sparse covariates of every case, from the case table."""
    return covariate_columns(problem.cases.frame, problem.config.cv_sparse)


def covariate_columns(frame: pd.DataFrame, covariates: Sequence[SparseCovariate]) -> np.ndarray:
    """``(C, p)`` each of ``covariates`` read from the case rows ``frame`` (an indicator
    or a count of columns holding one of its values); the one reader, shared by the sparse
    baseline and the studies that read the case table the same way."""
    missing = [(cov.name, col) for cov in covariates for col in cov.columns if col not in frame]
    if missing:
        name, column = missing[0]
        raise CalibrationConfigError(
            f"[[crossval.sparse]] '{name}': the case table has no column '{column}'"
        )
    out = np.zeros((len(frame), len(covariates)))
    for j, cov in enumerate(covariates):
        for column in cov.columns:
            text = frame[column].astype(str).str.strip()
            hit = text.isin(cov.values) | text.str.startswith(cov.prefixes or ("\0",))
            out[:, j] += hit.to_numpy(dtype=float)
    return out


def _mean_interval(values: np.ndarray, rng: np.random.Generator) -> tuple:
    """Mean of per-case scores ``(n, metrics)`` and its 95% case-bootstrap interval."""
    n = values.shape[0]
    draws = rng.integers(0, n, (N_BOOT, n))
    means = values[draws].mean(axis=1)
    return values.mean(axis=0), *np.percentile(means, [2.5, 97.5], axis=0)


def _pool(plan, fold_preds, c, observed, n_cases, predictors):
    """Per predictor, per case mean score over the folds that held the case out."""
    total = np.zeros((len(predictors), n_cases, len(METRICS)))
    count = np.zeros(n_cases)
    for test, pred in zip(plan, fold_preds, strict=True):
        obs = observed[test]
        keep = obs >= 0
        if not keep.any():
            continue
        for d, name in enumerate(predictors):
            total[d, test[keep]] += scores(pred[name][c][keep], obs[keep])
        count[test[keep]] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count[None, :, None]


def _score_outcome(per_case: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``(5, predictors, metrics)``: per predictor the mean of its per-case scores
    ``per_case (predictors, C, metrics)`` (NaN rows: cases not scored) with its 95%
    case-bootstrap interval, then the paired interval of its difference from the first
    predictor (the model); NaN for a predictor with no scored case. Draws two bootstraps
    per predictor with a scored case, from ``rng``."""
    out = np.full((5, *per_case[:, 0].shape), np.nan)
    for d in range(len(per_case)):
        rows = np.flatnonzero(~np.isnan(per_case[d][:, 0]))
        if not len(rows):
            continue
        out[:3, d] = _mean_interval(per_case[d][rows], rng)
        out[3:, d] = _mean_interval(per_case[d][rows] - per_case[0][rows], rng)[1:]
    return out


def _fold_predictions(
    problem: CalibrationProblem,
    members: np.ndarray,
    tests: list[np.ndarray],
    outcome_idx: list[int],
    rng: np.random.Generator,
    *,
    execution: Execution | None = None,
    progress: Progress = silent,
) -> list[dict]:
    """Refit the model and both baselines on each fold's training cases; predict its tests.

    One task per fold; the starting points are drawn here, from ``rng``, once for all
    (``fold_starts``).
    """
    n_cases = len(problem.cases)
    base_w = problem.weights
    folds = []
    for test in tests:
        train = np.setdiff1d(members, test)
        weights = np.zeros(n_cases)
        weights[train] = base_w[train]
        folds.append({"weights": weights, "test": np.sort(np.asarray(test, dtype=np.int64))})
    fold_fit = FoldFit(problem, fold_starts(problem, rng), outcome_idx)
    results = run_tasks(
        fold_fit,
        folds,
        execution,
        problem=problem,
        config=job_config(problem, "cross-validation folds", starts=fold_fit.starts),
        seed=problem.config.cv_seed,
        progress=progress,
        description="folds",
    )
    failed = [i for i, r in enumerate(results) if is_failed(r.get("objective", 0.0))]
    if failed:  # its "model" predictions would come from an arbitrary parameter vector
        raise no_fit(
            problem,
            fold_fit.starts,
            step=f"cross-validation: the refit of {len(failed)} of {len(folds)} folds",
            weights=folds[failed[0]]["weights"],
            missed=_cv_missed(problem.config.cv_model_start),
            stage="crossval",
        )
    return [
        _by_case_order(r["predictions"], fold["test"], test)
        for r, fold, test in zip(results, folds, tests, strict=True)
    ]


def _cv_missed(with_model_start: bool) -> str:
    """What the error of fold refits that found nothing advises (``no_fit``'s ``missed``),
    with or without ``[crossval] model_start``."""
    if with_model_start:
        return (
            "the fold refits start from the centre of the bounds, one Latin-hypercube point "
            "and the model's values ([crossval] model_start = true; data-independent) and "
            "cannot leave a start outside the reality checks' support: narrow the [estimate] "
            "bounds so that their centre holds every check, or cross-validate without checks"
        )
    return (
        "the fold refits start from the centre of the bounds and one Latin-hypercube point "
        "(data-independent) and cannot leave a start outside the reality checks' support: "
        "narrow the [estimate] bounds so that their centre holds every check, set "
        "model_start = true in [crossval] to start them also from the model's own values "
        "(where those hold every check), or cross-validate without checks"
    )


def _by_case_order(predictions: dict, computed: np.ndarray, wanted: np.ndarray) -> dict:
    """A fold's ``{predictor: [P(level) per outcome]}`` with rows in ``wanted``'s order
    (the task computed them for the sorted test cases ``computed``)."""
    rows = np.searchsorted(computed, np.asarray(wanted))
    return {
        name: [np.asarray(p)[rows] for p in per_outcome]
        for name, per_outcome in predictions.items()
    }


class FoldFit:
    """A cross-validation task of ``run_tasks``, one fold per item.

    An item is the fold's training ``weights (C,)`` and its held-out cases ``test``
    (sorted indices). The task refits the model from ``starts`` on the training cases,
    profiles its cutpoints, fits both baselines, and returns ``predictions``: per
    predictor, per outcome the level probabilities of the held-out cases. It pickles as
    the problem (the model as IR and kernel source).
    """

    def __init__(
        self, problem: CalibrationProblem, starts: np.ndarray, outcome_idx: list[int]
    ) -> None:
        self.problem = problem
        self.starts = np.asarray(starts, dtype=float)
        self.outcome_idx = list(outcome_idx)
        self.predictors = predictors_of(problem)
        self.sparse = sparse_covariates(problem) if "sparse" in self.predictors else None

    def compute(self, problem: CalibrationProblem, items: list[dict]) -> list[dict]:
        results = []
        for item in items:
            test = np.asarray(item["test"], dtype=np.int64)
            per_outcome, objective = self._fold(
                problem, np.asarray(item["weights"], dtype=float), test
            )
            results.append(
                {
                    "predictions": {
                        name: [p[name] for p in per_outcome] for name in self.predictors
                    },
                    "objective": objective,
                }
            )
        return results

    def _fold(
        self, problem: CalibrationProblem, weights: np.ndarray, test: np.ndarray
    ) -> tuple[list, float]:
        """Per outcome, ``{predictor: P(level) of the test cases}`` of one fold, and the
        refit's objective (``FAILED`` or more: the refit found no parameter set)."""
        n_starts = len(self.starts)
        fitted, values = batched_search(
            problem,
            self.starts,
            weights=np.repeat(weights[None, :], n_starts, axis=0),
            step=CV_STEP,
            min_step=CV_MIN_STEP,
        )
        best = fitted[int(np.argmin(values))]
        s, status = problem.quantities(best[None, :])
        _, cuts = problem.nll_from_quantities(s, status, weights[None, :])
        covariates = {"context": context_covariates(problem)}
        if self.sparse is not None:
            covariates["sparse"] = self.sparse
        train = np.flatnonzero(weights > 0)
        out = []
        for k_ in self.outcome_idx:
            eta = s[0, test, k_] / problem.scales[k_]
            out.append(
                {"model": level_probabilities(eta, cuts[k_][0])}
                | baseline_predictions(
                    problem.levels[:, k_],
                    weights,
                    train,
                    test,
                    len(problem.outcomes[k_].levels),
                    problem.config.pseudo_count,
                    covariates,
                )
            )
        return out, float(values.min())


def context_covariates(problem: CalibrationProblem) -> np.ndarray:
    """``(C, levers + 1)`` the context baseline's covariates: each case's mapped lever
    values and its period length."""
    return np.column_stack([problem.case_levers, problem.cases.horizon])


def baseline_predictions(
    levels: np.ndarray,
    weights: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    n_levels: int,
    pseudo: float,
    covariates: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """P(level) ``(len(test), n_levels)`` of the ``test`` cases per baseline, each fitted
    on the ``train`` cases (their ``levels`` and ``weights``, both indexed by case):
    ``frequencies``, then per entry of ``covariates`` (``context``, ``sparse``: ``(C, p)``
    columns) the ridge ordered logit on those columns. The one definition of a fold's
    baselines, for ``FoldFit`` and for a study that refits them beside other predictors
    in the same folds (studies/v3_signed_context_cv.py)."""
    fold = (levels[train], weights[train])
    freq = _frequencies(*fold, n_levels, pseudo)
    out = {"frequencies": np.repeat(freq[None], len(test), axis=0)}
    for name, x in covariates.items():
        out[name] = _context_logit(x[train], *fold, x[test], n_levels, pseudo)
    return out


def _frequencies(levels, weights, n_levels, pseudo):
    keep = levels >= 0
    counts = np.bincount(levels[keep], weights=weights[keep], minlength=n_levels)
    counts = counts + pseudo / n_levels
    return counts / counts.sum()


def _context_logit(
    x_train,
    y_train,
    w_train,
    x_test,
    n_levels,
    pseudo,
    *,
    signs: np.ndarray | None = None,
    ridge: float = RIDGE,
):
    """Ridge ordered logit on standardised context; returns P(level) for ``x_test``.

    ``signs`` (one per column of ``x_train``: +1 slope >= 0, -1 slope <= 0, 0 free; None:
    all free) bounds the slopes, for a baseline that reads the context only in the
    directions a theory gives (studies/v3_signed_context_cv.py). ``ridge``: the penalty
    on the slopes; the baselines use ``RIDGE``, a study of how much the context can
    predict at other penalties passes its own (studies/v3_predictable_context.py)."""
    fit = _fit_context_logit(x_train, y_train, w_train, n_levels, pseudo, signs=signs, ridge=ridge)
    return fit.probabilities(x_test)


@dataclass
class ContextLogitFit:
    """An ordered logit fitted by ``_fit_context_logit``: the slopes ``beta`` on the
    standardised varying columns (``varying`` of the training columns, their training
    ``mean`` and ``sd``) and the ordered ``cuts``."""

    beta: np.ndarray
    cuts: np.ndarray
    varying: np.ndarray
    mean: np.ndarray
    sd: np.ndarray

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """P(level) ``(n, J)`` of the rows of ``x`` (raw columns, as in training)."""
        v = self.varying
        z = (x[:, v] - self.mean[v]) / self.sd[v]
        return level_probabilities(z @ self.beta, self.cuts)


def _fit_context_logit(
    x_train,
    y_train,
    w_train,
    n_levels,
    pseudo,
    *,
    signs: np.ndarray | None = None,
    ridge: float = RIDGE,
) -> ContextLogitFit:
    """The ridge ordered logit of ``_context_logit`` (cases with a blank level dropped,
    non-varying columns dropped, and their ``signs`` entries with them), as a
    ``ContextLogitFit``; the sign constraints are L-BFGS-B bounds on the slopes, ``ridge``
    the penalty ``0.5 * ridge * sum(beta**2)`` on the standardised slopes."""
    keep = y_train >= 0
    x_train, y_train, w_train = x_train[keep], y_train[keep], w_train[keep]
    mean, sd = x_train.mean(axis=0), x_train.std(axis=0)
    varying = sd > 1e-12
    z_train = (x_train[:, varying] - mean[varying]) / sd[varying]
    p = z_train.shape[1]
    freq = _frequencies(y_train, w_train, n_levels, pseudo)
    cum = np.clip(np.cumsum(freq)[:-1], 1e-6, 1 - 1e-6)
    start = np.concatenate([np.zeros(p), free_from_cutpoints(np.log(cum / (1 - cum)))])

    def objective(params):
        beta, cuts = params[:p], cutpoints_from_free(params[p:])
        probs = level_probabilities(z_train @ beta, cuts)
        ll = np.log(np.clip(probs[np.arange(len(y_train)), y_train], 1e-300, 1.0))
        # the same weak pseudo-count prior on the cutpoints as the model's
        prior = level_probabilities(np.zeros(1), cuts)[0]
        return (
            -np.sum(w_train * ll)
            - pseudo / n_levels * np.sum(np.log(np.clip(prior, 1e-300, 1.0)))
            + 0.5 * ridge * np.sum(beta**2)
        )

    bounds = None if signs is None else _slope_bounds(signs, varying, len(start) - p)
    res = minimize(objective, start, method="L-BFGS-B", bounds=bounds)
    return ContextLogitFit(res.x[:p], cutpoints_from_free(res.x[p:]), varying, mean, sd)


def _slope_bounds(signs, varying: np.ndarray, n_free: int) -> list[tuple]:
    """L-BFGS-B bounds: each varying column's slope in its sign's half-line (free where
    the sign is 0), then ``n_free`` unbounded cutpoint parameters."""
    signs = np.asarray(signs, dtype=float)
    if signs.shape != varying.shape:
        raise ValueError(f"{signs.size} signs for {varying.size} context columns")
    slopes = [(0.0, None) if s > 0 else (None, 0.0) if s < 0 else (None, None)
              for s in signs[varying]]  # fmt: skip
    return slopes + [(None, None)] * n_free
