"""Does the context logit beat v3 by reading the case context the seeds' way, or against
it? (issue 20: v3's cross-validated log-loss must beat the class frequencies, the context
logit and the sparse ordered logit; it does not beat the context logit)

Why: on ``outcome_class`` the context logit (a ridge ordered logit on each case's mapped
lever values and period length, ``gvcdyn.calibrate.crossval``) scores 0.979 at 5-fold x3
and 0.986 at leave-one-out against v3's 1.112 / 1.177. A model built from the seeds can
only read the context in the directions the seeds give, so the bar it has to clear is
the part of that advantage a predictor can reach *in the seeds' directions*. This is the
cross-validated analogue of studies/v3_face_validity_ceiling.py (an in-sample rank
ceiling): the same baselines, refitted in the same folds, with each slope bounded to the
seeds' sign (``v3_face_validity_ceiling.seed_signs``: the seeds' sign on Functional
Upgrading for ``functional_upg``, on Cluster Market Position for ``outcome_class``;
``SPARSE_SIGNS`` for the sparse covariates; a column the seeds do not sign, and the
period length, stays free). The seeds sign Cluster Market Position on no mapped lever,
so ``outcome_class`` is also read with their signs on Functional Upgrading ("FU signs",
``BORROWED``): a sensitivity reading, not a claim of the seeds. If a signed logit still
beats v3 and comes close to the free one, the gap is one a seed-faithful model could
close; if it falls back toward the frequencies, the context logit wins by using columns
against the seeds.

How: the calibration problem is rebuilt from the fit file
(``gvcdyn.calibrate.fitfile.fit_problem``: its recorded config, mapping and revisions,
the model and case file checked by SHA-256, the repository's when the fit was made in
another checkout, a changed model only noted; for results/fit_v3_later60_cv.nc that is
calibration/config_v3_later_cv.toml, config_v3_later.toml with 5-fold x3 and
leave-one-out), with the baselines' covariates (``context_covariates``,
``sparse_covariates``). The fold plans are ``crossvalidate``'s own (``replay_plans``: its
generator replayed through its own draw functions) and each fold's free baselines are
``baseline_predictions``, the function ``FoldFit`` calls, so the free context logit's,
the sparse logit's and the frequencies' scores equal the fit file's (printed as the
check). Leave-one-out is run
whatever the config says. Intervals: 95% case bootstrap (``_mean_interval``, a generator
of its own seeded by ``--seed``), paired for the differences. Where the fit file holds
the model's leave-one-out probabilities (``loo_probability``, subset "all"), the model is
paired against the signed logits. Last, the free and signed slopes fitted on all cases:
a signed slope pinned at 0 is a column whose codes go against the sign.

What it is not: a bound on v3 (the model is not additive, and it is not fitted to the
codes' directions), nor a test of the seeds: the codes' leaning against a seed in 41
cases may be the codes', the mapping's or the seed's.

    python studies/v3_signed_context_cv.py [results/fit_v3_later60_cv.nc] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "studies"))
sys.path.insert(0, str(REPO / "calibration"))
import face_validity as fv  # noqa: E402  (sibling scripts, not packages)
from v3_face_validity_ceiling import PERIOD, SPARSE_SIGNS, seed_signs  # noqa: E402

from gvcdyn.calibrate.crossval import (  # noqa: E402
    METRICS,
    _context_logit,
    _fit_context_logit,
    _mean_interval,
    _pool,
    baseline_predictions,
    context_covariates,
    cv_subsets,
    replay_plans,
    scores,
    sparse_covariates,
)
from gvcdyn.calibrate.fitfile import fit_problem  # noqa: E402
from gvcdyn.calibrate.problem import CalibrationProblem  # noqa: E402
from gvcdyn.errors import GvcdynError  # noqa: E402

FIT = REPO / "results" / "fit_v3_later60_cv.nc"
#: A second signed reading of an outcome whose own quantity the seeds sign on no mapped
#: lever (Cluster Market Position: only Scouting Intensity and Entrant Wage Gap, which the
#: case mapping does not set): outcome_class read with the seeds' signs on Functional
#: Upgrading too, labelled "FU signs". A sensitivity reading, not a claim of the seeds.
BORROWED = {"outcome_class": "functional_upg"}
LOG_LOSS = METRICS.index("log_loss")


@dataclass
class Design:
    """What the study needs of a calibration problem: the context and sparse covariates
    with their names, the observed levels and weights, and crossvalidate's subsets."""

    context: np.ndarray  # (C, levers + 1): FoldFit._fold's covariates
    context_names: list[str]
    sparse: np.ndarray  # (C, p): the sparse baseline's covariates
    sparse_names: list[str]
    levels: dict[str, np.ndarray]  # outcome column -> (C,) level index, -1 blank
    n_levels: dict[str, int]
    weights: np.ndarray
    pseudo: float
    subsets: dict[str, np.ndarray]  # name -> member indices


def design_of(problem: CalibrationProblem) -> Design:
    """The covariates, levels and subsets of ``problem``, as the cross-validation reads them."""
    columns = {o.column: k for k, o in enumerate(problem.outcomes)}
    outcomes = problem.config.cv_outcomes
    return Design(
        context=context_covariates(problem),
        context_names=[*problem.cases.levers, PERIOD],
        sparse=sparse_covariates(problem),
        sparse_names=[c.name for c in problem.config.cv_sparse],
        levels={c: problem.levels[:, columns[c]] for c in outcomes},
        n_levels={c: len(problem.outcomes[columns[c]].levels) for c in outcomes},
        weights=problem.weights,
        pseudo=problem.config.pseudo_count,
        subsets=cv_subsets(problem),
    )


def sign_vector(names: list[str], signs: dict[str, int]) -> np.ndarray:
    """Per column name, its sign in ``signs`` (0: unsigned, free)."""
    return np.array([signs.get(name, 0) for name in names], dtype=float)


def outcome_signs(design: Design, column: str) -> tuple[np.ndarray, np.ndarray]:
    """The seeds' signs of the context and of the sparse columns on outcome ``column``
    (none on an outcome face_validity.MEASURES does not name)."""
    context = seed_signs(fv.MEASURES[column]) if column in fv.MEASURES else {}
    sparse = {name: v[column][0] for name, v in SPARSE_SIGNS.items() if column in v}
    return sign_vector(design.context_names, context), sign_vector(design.sparse_names, sparse)


def signed_readings(design: Design, column: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per signed reading of outcome ``column`` (``seeds``: its own quantity's signs;
    ``FU signs`` for the outcomes of ``BORROWED``), the context and the sparse signs."""
    found = {"seeds": outcome_signs(design, column)}
    if column in BORROWED:
        found["FU signs"] = outcome_signs(design, BORROWED[column])
    return found


def predictors_for(design: Design, column: str) -> tuple[str, ...]:
    """The predictors compared on ``column``, in print order."""
    labels = list(signed_readings(design, column))
    return ("frequencies", "context", *(f"context {c}" for c in labels),
            "sparse", *(f"sparse {c}" for c in labels))  # fmt: skip


def pairs_for(design: Design, column: str) -> list[tuple[str, str]]:
    """The paired differences printed: each signed logit against its free one and
    against the frequencies."""
    return [
        (f"{base} {reading}", other)
        for base in ("context", "sparse")
        for reading in signed_readings(design, column)
        for other in (base, "frequencies")
    ]


def fold_predictions(
    design: Design, members: np.ndarray, test: np.ndarray, column: str
) -> dict[str, np.ndarray]:
    """P(level) of the ``test`` cases per predictor, every one refitted on the members
    not in ``test`` with their weights: the free baselines by ``baseline_predictions``
    (what ``FoldFit`` calls), then the signed logits."""
    train = np.setdiff1d(members, test)
    levels, n_lev, pseudo = design.levels[column], design.n_levels[column], design.pseudo
    covariates = {"context": design.context, "sparse": design.sparse}
    out = baseline_predictions(levels, design.weights, train, test, n_lev, pseudo, covariates)
    fold = (levels[train], design.weights[train])
    for reading, (context_signs, sparse_signs) in signed_readings(design, column).items():
        for name, signs in (("context", context_signs), ("sparse", sparse_signs)):
            x = covariates[name]
            out[f"{name} {reading}"] = _context_logit(
                x[train], *fold, x[test], n_lev, pseudo, signs=signs
            )
    return out


def per_case_scores(
    design: Design, members: np.ndarray, plan: list[np.ndarray], column: str
) -> dict[str, np.ndarray]:
    """Per predictor, each scored case's held-out scores ``(n, 3)`` averaged over the
    folds that held it out (``_pool``), rows in case order (the members with a level)."""
    preds = [fold_predictions(design, members, test, column) for test in plan]
    return pooled_scores(design, plan, column, preds, predictors_for(design, column))


def pooled_scores(
    design: Design,
    plan: list[np.ndarray],
    column: str,
    preds: list[dict[str, np.ndarray]],
    names: tuple[str, ...],
) -> dict[str, np.ndarray]:
    """``per_case_scores`` of fold predictions already made (``preds``: per test array of
    ``plan``, P(level) per predictor; ``names``: the predictors scored, in order), for a
    study that refits other predictors in the same folds
    (studies/v3_predictable_context.py)."""
    pooled = _pool(
        plan,
        [{name: [p[name]] for name in names} for p in preds],
        0,
        design.levels[column],
        len(design.weights),
        names,
    )
    rows = np.flatnonzero(~np.isnan(pooled[0][:, 0]))
    return {name: pooled[d][rows] for d, name in enumerate(names)} | {"rows": rows}


def model_loo(fit: xr.Dataset, design: Design, column: str, rows: np.ndarray) -> np.ndarray | None:
    """The model's leave-one-out log-loss of the cases ``rows`` (subset "all"), from the
    fit's ``loo_probability``; None when the fit holds none."""
    if "loo_probability" not in fit or column not in fit["cv_outcome"].values:
        return None
    probs = fit["loo_probability"].sel(cv_outcome=column).values[rows, : design.n_levels[column]]
    return scores(probs, design.levels[column][rows])[:, LOG_LOSS]


def stored(fit: xr.Dataset, subset: str, scheme: str, column: str, name: str) -> float:
    """The fit file's mean held-out log-loss of predictor ``name`` (NaN when absent)."""
    at = dict(cv_subset=subset, cv_scheme=scheme, cv_outcome=column, cv_metric="log_loss")
    try:
        return float(fit["cv_score"].sel(**at, cv_predictor=name))
    except (KeyError, ValueError):
        return float("nan")


def interval(values: np.ndarray, rng: np.random.Generator) -> str:
    """``mean [low, high]`` of per-case values, 95% case bootstrap."""
    mean, low, high = _mean_interval(values[:, None], rng)
    return f"{mean[0]:.3f} [{low[0]:.3f}, {high[0]:.3f}]"


def paired(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> str:
    """``mean [low, high]`` of the per-case differences ``a - b``, signed."""
    mean, low, high = _mean_interval((a - b)[:, None], rng)
    return f"{mean[0]:+.3f} [{low[0]:+.3f}, {high[0]:+.3f}]"


def report_scheme(
    design: Design,
    fit: xr.Dataset,
    subset: str,
    scheme: str,
    plan: list[np.ndarray],
    column: str,
    rng: np.random.Generator,
) -> None:
    """Print one subset x scheme x outcome: each predictor's mean log-loss with its
    interval (and the fit file's, as the check), the paired differences and, on "all"
    leave-one-out, the model's."""
    members = design.subsets[subset]
    found = per_case_scores(design, members, plan, column)
    rows = found.pop("rows")
    loss = {name: v[:, LOG_LOSS] for name, v in found.items()}
    print(f"\n{subset} ({len(members)} cases, {len(rows)} scored) {scheme} {column}")
    for name in predictors_for(design, column):
        check = stored(fit, subset, scheme, column, name)
        gap = abs(check - loss[name].mean())
        note = "" if np.isnan(check) else f"   fit file {check:.6f}, |diff| {gap:.1e}"
        print(f"  {name:16s} {interval(loss[name], rng)}{note}")  # fmt: skip
    for a, b in pairs_for(design, column):
        print(f"  {a} - {b}: {paired(loss[a], loss[b], rng)}")
    model = model_loo(fit, design, column, rows) if scheme == "leave-one-out" else None
    if subset == "all" and model is not None:
        check = stored(fit, subset, scheme, column, "model")
        print(f"  model            {interval(model, rng)}   fit file {check:.6f}, "
              f"|diff| {abs(check - model.mean()):.1e}")  # fmt: skip
        for name in (n for n in loss if n not in ("frequencies", "sparse")):
            print(f"  {name} - model: {paired(loss[name], model, rng)}")


def coefficients(design: Design, column: str) -> None:
    """The free and the seeds-signed slopes (per standardised column) fitted on all
    cases. A signed slope at 0 sits on its sign's bound: the codes, given the other
    columns, lean against the seeds there (a free slope of the seeds' sign can still end
    at 0 once a correlated column is held to its sign, e.g. the state-led start beside
    the buyer-led start on ``functional_upg``)."""
    members = design.subsets["all"]
    levels, n_lev = design.levels[column][members], design.n_levels[column]
    w = design.weights[members]
    for d, (label, x, names) in enumerate(
        (("context", design.context, design.context_names),
         ("sparse", design.sparse, design.sparse_names))
    ):  # fmt: skip
        free = _fit_context_logit(x[members], levels, w, n_lev, design.pseudo)
        for reading, signs in signed_readings(design, column).items():
            signed = _fit_context_logit(x[members], levels, w, n_lev, design.pseudo, signs=signs[d])
            kept = signs[d][free.varying]
            print(f"  {label}: slope per sd, free | signed by {reading} (the sign)")
            for j, name in enumerate(np.asarray(names)[free.varying]):
                pinned = kept[j] != 0 and abs(signed.beta[j]) < 1e-12
                flag = "  at 0: on its sign's bound" if pinned else ""
                print(f"    {name:32s} {free.beta[j]:+.3f} | {signed.beta[j]:+.3f} "
                      f"({ {1: '+', -1: '-', 0: 'free'}[int(kept[j])] }){flag}")  # fmt: skip


def rebuild(
    parser: argparse.ArgumentParser, fit_path: Path
) -> tuple[CalibrationProblem, xr.Dataset]:
    """The calibration problem and the fit of the fit file ``fit_path`` (``fit_problem``,
    on this repository's files); a missing or unreadable fit is the parser's error (exit
    2, no traceback). Shared with studies/v3_predictable_context.py."""
    if not fit_path.is_file():
        parser.error(f"no fit file {fit_path}: give a fit of 'gvcdyn calibrate ... --crossval'")
    try:  # the study runs no model: the reality checks are neither needed nor read
        rebuilt = fit_problem(fit_path, repo=REPO, checks=False, changed_model=True)
    except GvcdynError as exc:  # a config, case or model file the fit cannot be read with
        parser.error(str(exc))
    if not rebuilt.model_current:
        print(f"note: {rebuilt.model.path} changed since the fit (lever defaults may differ)")
    return rebuilt.problem, rebuilt.fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fit", nargs="?", default=str(FIT), help="a cross-validated v3 fit file")
    parser.add_argument("--seed", type=int, default=1, help="the bootstrap intervals' seed")
    args = parser.parse_args()
    fit_path = Path(args.fit)
    problem, fit = rebuild(parser, fit_path)
    started = time.process_time()
    design = design_of(problem)
    plans = replay_plans(problem, loo=True)
    rng = np.random.default_rng(args.seed)
    print(f"fit {fit_path.name}: config {Path(problem.config.path).name}, cv_seed "
          f"{problem.config.cv_seed}; {len(design.weights)} cases; context "
          f"{design.context.shape[1]} columns, sparse {design.sparse.shape[1]}")  # fmt: skip
    for subset, schemes in plans.items():
        for scheme, plan in schemes.items():
            for column in problem.config.cv_outcomes:
                report_scheme(design, fit, subset, scheme, plan, column, rng)
    print("\nslopes fitted on all cases")
    for column in problem.config.cv_outcomes:
        print(f" {column} (seeds' signs on {fv.MEASURES[column]})")
        coefficients(design, column)
    print(f"\nCPU {time.process_time() - started:.1f} s")


if __name__ == "__main__":
    main()
