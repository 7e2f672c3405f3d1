"""What the case table predicts out of sample: how far can any additive reading of the
case context predict ``outcome_class`` and ``functional_upg`` on held-out cases? (issue
20, eighteenth step; protocol studies/protocols/v3_predictable_context.md)

Why: v3's cross-validation bar is set by three baselines, two of them ridge ordered
logits at one fixed penalty (``crossval.RIDGE`` = 1, a judgement). The context logit leads
v3 on ``outcome_class``; on ``functional_upg`` nothing, v3 included, beats the class
frequencies. Whether that is the table or the penalty is open: this study refits the
context and sparse logits over a grid of penalties (``PENALTIES``), chooses the penalty
by an inner cross-validation inside each outer training fold (the honest score), and sets
beside it the penalty best on the outer score itself and the best single context column
(both optimistic: chosen on the cases they are scored on).

How: as studies/v3_signed_context_cv.py (whose helpers it imports): the problem rebuilt
from the fit file, ``crossvalidate``'s own fold plans (``replay_plans``, subset "all",
its k-fold scheme and leave-one-out), each predictor refitted on each outer training
fold with the cases' weights, each case's held-out log-loss averaged over the folds that
held it out. The frequencies and the penalty-1 logits are ``baseline_predictions``' own,
so they equal the fit file's scores (printed as the check). The inner choice:
``stratified_folds`` (``INNER_FOLDS``) of the training cases, from a generator seeded by
``--seed`` and the outer fold's test cases (deterministic, independent of the order the
folds run in); the penalty with the lowest mean inner held-out log-loss, the larger on a
tie; the nested prediction is the outer fold's logit at that penalty. Intervals: 95% case
bootstrap (``_mean_interval``), paired per case against the frequencies and, at
leave-one-out, against v3 (the fit's ``loo_probability``).

What it is not: a bound on v3 or on any mechanistic model (v3 is not additive); a
property of the 41 coded cases, their mapping and the two covariate sets.

    python studies/v3_predictable_context.py [results/fit_v3_later60_cv.nc] [--seed 1]

(at results/fit_v3_later60_cv.nc: 237.7 s CPU at load 2.6-2.8 on 2 cores; the fit file's
frequencies, penalty-1 context and sparse scores and v3's leave-one-out reproduced to
6.7e-16)
"""

from __future__ import annotations

import os

# Each fit is a few dozen cases by a dozen columns: a threaded BLAS only spins on such
# matrices (3x the CPU time, measured) on a machine shared with a calibration.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "studies"))
sys.path.insert(0, str(REPO / "calibration"))
from v3_signed_context_cv import (  # noqa: E402  (a sibling script, not a package)
    FIT,
    LOG_LOSS,
    Design,
    design_of,
    model_loo,
    pooled_scores,
    rebuild,
    stored,
)

from gvcdyn.calibrate.crossval import (  # noqa: E402
    RIDGE,
    _context_logit,
    _mean_interval,
    baseline_predictions,
    replay_plans,
    scores,
    stratified_folds,
)

PENALTIES = (0.01, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 1000.0)
INNER_FOLDS = 5
FAMILIES = ("context", "sparse")
SUBSET = "all"


def at(family: str, ridge: float) -> str:
    """The label of ``family``'s logit at penalty ``ridge``."""
    return f"{family} @ {ridge:g}"


def single(name: str) -> str:
    """The label of the one-column logit on context column ``name``."""
    return f"single {name}"


def fixed_names(design: Design) -> list[str]:
    """Every predictor fitted at a penalty fixed in advance, in print order: each family
    over ``PENALTIES``, then each context column alone at ``RIDGE``."""
    return [at(f, r) for f in FAMILIES for r in PENALTIES] + [
        single(n) for n in design.context_names
    ]


def fold_names(design: Design) -> tuple[str, ...]:
    """The predictors ``fold_predictions`` returns and the study scores."""
    return ("frequencies", *fixed_names(design), *(f"{f} nested" for f in FAMILIES))


def inner_rng(seed: int, test: np.ndarray) -> np.random.Generator:
    """The inner folds' generator of the outer fold whose test cases are ``test``: the
    same fold gets the same inner folds whatever order the folds are run in."""
    return np.random.default_rng([seed, *np.sort(test).tolist()])


def inner_losses(
    x: np.ndarray,
    levels: np.ndarray,
    weights: np.ndarray,
    train: np.ndarray,
    n_levels: int,
    pseudo: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Per penalty of ``PENALTIES``, the mean held-out log-loss over an inner stratified
    ``INNER_FOLDS``-fold split of the ``train`` cases alone."""
    total, count = np.zeros(len(PENALTIES)), 0
    for inner in stratified_folds(levels[train], INNER_FOLDS, rng):
        fit, test = np.delete(train, inner), train[inner]
        test = test[levels[test] >= 0]
        if not len(test):
            continue
        for i, ridge in enumerate(PENALTIES):
            probs = _context_logit(
                x[fit], levels[fit], weights[fit], x[test], n_levels, pseudo, ridge=ridge
            )
            total[i] += scores(probs, levels[test])[:, LOG_LOSS].sum()
        count += len(test)
    return total / count


def inner_penalty(*args, **kwargs) -> float:
    """The penalty with the lowest ``inner_losses`` (same arguments; the larger penalty on
    a tie): the choice a modeller could make without seeing the outer test cases."""
    mean = inner_losses(*args, **kwargs)
    return PENALTIES[np.flatnonzero(mean == mean.min())[-1]]


def fold_predictions(
    design: Design, members: np.ndarray, test: np.ndarray, column: str, seed: int
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """P(level) of the ``test`` cases per predictor of ``fold_names``, each refitted on
    the members not in ``test``, and the penalty the inner split chose per family. The
    frequencies and the penalty-``RIDGE`` logits are ``baseline_predictions``' own."""
    train = np.setdiff1d(members, test)
    levels, n_lev, pseudo = design.levels[column], design.n_levels[column], design.pseudo
    w = design.weights
    covariates = {"context": design.context, "sparse": design.sparse}
    base = baseline_predictions(levels, w, train, test, n_lev, pseudo, covariates)
    out = {"frequencies": base["frequencies"]}
    chosen = {}
    for family, x in covariates.items():
        for ridge in PENALTIES:
            out[at(family, ridge)] = (
                base[family]
                if ridge == RIDGE
                else _context_logit(
                    x[train], levels[train], w[train], x[test], n_lev, pseudo, ridge=ridge
                )
            )
        rng = inner_rng(seed, test)
        chosen[family] = inner_penalty(x, levels, w, train, n_lev, pseudo, rng)
        out[f"{family} nested"] = out[at(family, chosen[family])]
    for j, name in enumerate(design.context_names):
        x = design.context[:, [j]]
        out[single(name)] = _context_logit(
            x[train], levels[train], w[train], x[test], n_lev, pseudo
        )
    return out, chosen


def held_out_losses(
    design: Design, plan: list[np.ndarray], column: str, seed: int
) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, Counter]]:
    """Per predictor each scored case's held-out log-loss (rows: the subset's cases with a
    level, in case order), those rows, and per family how often the inner split chose each
    penalty over the plan's folds."""
    members = design.subsets[SUBSET]
    made = [fold_predictions(design, members, test, column, seed) for test in plan]
    found = pooled_scores(design, plan, column, [p for p, _ in made], fold_names(design))
    rows = found.pop("rows")
    counts = {f: Counter(c[f] for _, c in made) for f in FAMILIES}
    return {name: v[:, LOG_LOSS] for name, v in found.items()}, rows, counts


def optimistic(loss: dict[str, np.ndarray], design: Design) -> dict[str, str]:
    """The optimistic rows: per family the penalty with the lowest outer mean, the best
    single column, and the best of every fixed-penalty predictor; label -> chosen name."""

    def best(names: list[str]) -> str:
        return min(names, key=lambda n: loss[n].mean())

    picks = {f"{f} best r": best([at(f, r) for r in PENALTIES]) for f in FAMILIES}
    picks["single best"] = best([single(n) for n in design.context_names])
    picks["best of all"] = best(fixed_names(design))
    return picks


def mean_of(values: np.ndarray, rng: np.random.Generator) -> tuple[float, float, float]:
    """The mean of per-case ``values`` and its 95% case-bootstrap interval."""
    return tuple(float(v[0]) for v in _mean_interval(values[:, None], rng))


def spell(values: tuple[float, ...], signed: bool = True) -> str:
    """``mean [low, high]``."""
    f = "{:+.3f}" if signed else "{:.3f}"
    return f"{f.format(values[0])} [{f.format(values[1])}, {f.format(values[2])}]"


def verdict(values: tuple[float, ...]) -> str:
    """Where a paired interval lies: below 0, contains 0 or above 0."""
    return "below 0" if values[2] < 0 else "above 0" if values[1] > 0 else "contains 0"


class Intervals:
    """Each predictor's mean log-loss and its paired differences, with their 95% case
    bootstrap intervals, each drawn once and reused wherever it is printed (an optimistic
    row and a rule line show the very interval of the predictor they name). ``"v3"``
    names the model's leave-one-out losses."""

    def __init__(self, loss: dict[str, np.ndarray], model: np.ndarray | None, rng):
        self.loss = loss | ({} if model is None else {"v3": model})
        self.rng = rng
        self.found: dict[tuple[str, str | None], tuple[float, ...]] = {}

    def of(self, name: str, other: str | None = None) -> tuple[float, ...]:
        """``name``'s mean [interval], or of ``name - other`` paired per case."""
        if (name, other) not in self.found:
            values = self.loss[name] - (0.0 if other is None else self.loss[other])
            self.found[name, other] = mean_of(values, self.rng)
        return self.found[name, other]


def print_checks(
    fit: xr.Dataset, scheme: str, column: str, loss: dict, model: np.ndarray | None
) -> None:
    """The frequencies', the penalty-``RIDGE`` logits' and v3's mean log-loss against the
    fit file's ``cv_score``: the study's folds and baselines are crossvalidate's."""
    mine_of = {"frequencies": loss["frequencies"], "model": model}
    mine_of |= {f: loss[at(f, RIDGE)] for f in FAMILIES}
    for name in ("frequencies", *FAMILIES, "model"):
        mine = mine_of[name]
        check = stored(fit, SUBSET, scheme, column, name)
        if mine is None or np.isnan(check):
            print(f"  check {name:11s} fit file {check:.6f} (no per-case scores here)")
        else:
            print(f"  check {name:11s} {mine.mean():.6f} fit file {check:.6f} "
                  f"|diff| {abs(mine.mean() - check):.1e}")  # fmt: skip


def print_table(design: Design, found: Intervals, picks: dict[str, str]) -> None:
    """One row per predictor, then the optimistic rows: mean log-loss [95%], minus the
    frequencies and (at leave-one-out) minus v3, paired."""
    model = "v3" in found.loss
    head = "  - v3 (paired)" if model else ""
    print(f"  {'predictor':44s} {'mean log-loss [95%]':24s} {'- frequencies':24s}{head}")
    rows = [(n, n) for n in fold_names(design)] + list(picks.items())
    for label, name in rows + ([("v3 (fit loo_probability)", "v3")] if model else []):
        tag = f"{label} = {name}" if label != name and name != "v3" else label
        line = f"  {tag:44s} {spell(found.of(name), False):24s}"
        vs_freq = "" if name == "frequencies" else spell(found.of(name, "frequencies"))
        line += f" {vs_freq:24s}"
        if model and name != "v3":
            line += f" {spell(found.of(name, 'v3'))}"
        print(line)


def print_readings(found: Intervals, picks: dict[str, str], counts: dict, n_folds: int) -> None:
    """The protocol's inputs: the nested and best penalties against ``RIDGE`` (rule c),
    the inner choices, the optimistic best and the nested logits against the frequencies
    (rule a) and the nested logits against v3 (rule b)."""
    for family in FAMILIES:
        for other in (f"{family} nested", picks[f"{family} best r"]):
            print(f"  rule (c): {other} - {at(family, RIDGE)}: "
                  f"{spell(found.of(other, at(family, RIDGE)))}")  # fmt: skip
        chosen = ", ".join(f"{r:g}: {counts[family][r]}" for r in sorted(counts[family]))
        print(f"  {family} nested: penalties chosen over {n_folds} folds {{{chosen}}}")
    best = found.of(picks["best of all"], "frequencies")
    print(f"  rule (a): best of all ({picks['best of all']}, optimistic) - frequencies "
          f"{spell(best)}: {verdict(best)}")  # fmt: skip
    for family in FAMILIES:
        nested = found.of(f"{family} nested", "frequencies")
        print(f"  rule (a): {family} nested - frequencies {spell(nested)}: {verdict(nested)}")
        if "v3" in found.loss:
            against = found.of(f"{family} nested", "v3")
            print(f"  rule (b): {family} nested - v3 {spell(against)}: {verdict(against)}")


def report(
    design: Design,
    fit: xr.Dataset,
    scheme: str,
    plan: list[np.ndarray],
    column: str,
    seed: int,
    rng: np.random.Generator,
) -> None:
    """Print one scheme x outcome: the check against the fit file, the table and the
    protocol's inputs."""
    loss, rows, counts = held_out_losses(design, plan, column, seed)
    model = model_loo(fit, design, column, rows) if scheme == "leave-one-out" else None
    print(f"\n=== {column}, {scheme} ({len(plan)} folds, {len(rows)} cases scored)")
    print_checks(fit, scheme, column, loss, model)
    found, picks = Intervals(loss, model, rng), optimistic(loss, design)
    print_table(design, found, picks)
    print_readings(found, picks, counts, len(plan))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fit", nargs="?", default=str(FIT), help="a cross-validated v3 fit file")
    parser.add_argument(
        "--seed", type=int, default=1, help="the inner folds' and the intervals' seed"
    )
    args = parser.parse_args()
    problem, fit = rebuild(parser, Path(args.fit))
    started, load = time.process_time(), os.getloadavg()
    design = design_of(problem)
    plans = replay_plans(problem, loo=True)[SUBSET]
    rng = np.random.default_rng(args.seed)
    print(f"fit {Path(args.fit).name}: config {Path(problem.config.path).name}, cv_seed "
          f"{problem.config.cv_seed}; subset {SUBSET}, {len(design.subsets[SUBSET])} cases; "
          f"context {design.context.shape[1]} columns, sparse {design.sparse.shape[1]}; "
          f"penalties {', '.join(f'{r:g}' for r in PENALTIES)}; inner {INNER_FOLDS}-fold, "
          f"seed {args.seed}")  # fmt: skip
    for column in problem.config.cv_outcomes:
        for scheme, plan in plans.items():
            report(design, fit, scheme, plan, column, args.seed, rng)
    print(f"\nCPU {time.process_time() - started:.1f} s; load average at start "
          f"{load[0]:.2f}, at end {os.getloadavg()[0]:.2f} (1 min)")  # fmt: skip


if __name__ == "__main__":
    main()
