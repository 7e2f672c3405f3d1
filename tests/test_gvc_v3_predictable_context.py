"""The context logit at other ridge penalties (``crossval._context_logit(..., ridge=)``)
and studies/v3_predictable_context.py (issue 20, eighteenth step: how much can any
reading of the case context predict each outcome out of sample?).

Why: the study's reading rests on four things that could go wrong silently: its
penalty-1 column must be the stored baseline (else its table is not the fit file's),
the ``ridge`` keyword must leave every existing baseline bitwise unchanged, a large
penalty must shrink to the frequencies (else the grid's end means nothing), and the
nested choice must use the outer training cases alone and be the same for a seed (else
the "honest" score is neither). Synthetic data only (results/ is not in CI).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from gvcdyn.calibrate import crossval
from gvcdyn.calibrate.crossval import _context_logit, baseline_predictions, stratified_folds

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "studies"))
import v3_predictable_context as study  # noqa: E402  (a study script, not a package)
import v3_signed_context_cv as signed  # noqa: E402

COLUMN = "functional_upg"
#: The study's grid cut to its ends, the baseline's penalty and one large one: every
#: property below needs no more, and the nested choice costs 5 fits per penalty a fold.
GRID = (0.01, 1.0, 30.0, 1000.0)


@pytest.fixture(scope="module", autouse=True)
def short_grid():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(study, "PENALTIES", GRID)
        yield


def _ordered(x: np.ndarray, effect: np.ndarray, seed: int) -> np.ndarray:
    """Three ordered levels from a latent ``x @ effect`` plus logistic noise."""
    rng = np.random.default_rng(seed)
    latent = x @ effect + rng.logistic(size=len(x))
    return np.digitize(latent, np.quantile(latent, [1 / 3, 2 / 3])).astype(np.int64)


def _design(effect: np.ndarray, n: int = 40, seed: int = 3) -> signed.Design:
    """A design of ``n`` cases whose context columns (and sparse columns, their first two)
    carry ``effect`` on three ordered levels, two blank levels and some half weights."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, len(effect)))
    y = _ordered(x, effect, seed + 1)
    y[[4, 17]] = -1
    return signed.Design(
        context=x,
        context_names=[f"c{j}" for j in range(len(effect))],
        sparse=x[:, :2],
        sparse_names=["s0", "s1"],
        levels={COLUMN: y},
        n_levels={COLUMN: 3},
        weights=np.where(rng.random(n) < 0.3, 0.5, 1.0),
        pseudo=0.5,
        subsets={"all": np.arange(n)},
    )


def _plan(design: signed.Design, seed: int = 9) -> list[np.ndarray]:
    return stratified_folds(design.levels[COLUMN], 5, np.random.default_rng(seed))


def test_the_ridge_keyword_leaves_the_baseline_bitwise_unchanged() -> None:
    d = _design(np.array([1.0, -0.5, 0.0]))
    y, w, x = d.levels[COLUMN], d.weights, d.context
    default = _context_logit(x[:30], y[:30], w[:30], x[30:], 3, 0.5)
    named = _context_logit(x[:30], y[:30], w[:30], x[30:], 3, 0.5, ridge=crossval.RIDGE)
    base = baseline_predictions(y, w, np.arange(30), np.arange(30, 40), 3, 0.5, {"c": x})["c"]
    assert default.tobytes() == named.tobytes() == base.tobytes()
    other = _context_logit(x[:30], y[:30], w[:30], x[30:], 3, 0.5, ridge=0.1)
    assert not np.allclose(other, default)  # the keyword reaches the objective


@pytest.fixture(scope="module")
def signal() -> tuple[signed.Design, dict, np.ndarray, dict]:
    """A strong effect on two of four columns, scored by the study over one 5-fold plan."""
    design = _design(np.array([2.0, 0.0, -1.5, 0.0]))
    return design, *study.held_out_losses(design, _plan(design), COLUMN, seed=1)


def test_the_penalty_one_columns_score_what_the_baseline_scores(signal) -> None:
    """The study's frequencies and penalty-``RIDGE`` logits give per case exactly the
    held-out scores of the signed study's free baselines (``baseline_predictions``, which
    tests/test_gvc_v3_signed_cv.py ties to ``crossvalidate``'s stored scores)."""
    design, loss, rows, _ = signal
    plan = _plan(design)
    found = signed.pooled_scores(
        design,
        plan,
        COLUMN,
        [signed.fold_predictions(design, design.subsets["all"], t, COLUMN) for t in plan],
        ("frequencies", "context", "sparse"),
    )
    np.testing.assert_array_equal(found.pop("rows"), rows)
    for name, label in (("frequencies", "frequencies"), ("context", "context @ 1"),
                        ("sparse", "sparse @ 1")):  # fmt: skip
        assert found[name][:, signed.LOG_LOSS].tobytes() == loss[label].tobytes()


def test_a_large_penalty_scores_close_to_the_frequencies_and_a_signal_is_found(signal) -> None:
    design, loss, _, counts = signal
    mean = {k: v.mean() for k, v in loss.items()}
    freq = mean["frequencies"]
    for family in study.FAMILIES:
        gaps = [abs(mean[study.at(family, r)] - freq) for r in study.PENALTIES]
        assert gaps[-1] < 0.03, (family, gaps)  # r = 1000: the slopes shrink to 0
        assert gaps[-1] < gaps[study.PENALTIES.index(1.0)]
    # a strong effect: the honest (nested) context logit beats the shares clearly, and
    # the inner split never picks the penalty that all but removes the slopes
    assert mean["context nested"] < freq - 0.1, mean
    assert 1000.0 not in counts["context"]
    # the columns without an effect predict no better alone than the shares
    assert mean["single c1"] > freq - 0.05 and mean["single c3"] > freq - 0.05
    assert mean["single c0"] < freq - 0.1
    picks = study.optimistic(loss, design)
    assert mean[picks["best of all"]] <= min(mean[n] for n in study.fixed_names(design))


def test_the_nested_choice_is_fixed_by_the_seed_and_blind_to_the_test_cases() -> None:
    design = _design(np.array([0.8, 0.0, -0.6]))
    members = design.subsets["all"]
    test = _plan(design)[2]
    train = np.setdiff1d(members, test)
    levels = design.levels[COLUMN]

    def inner(lev: np.ndarray, seed: int = 1) -> np.ndarray:
        rng = study.inner_rng(seed, test)
        return study.inner_losses(design.context, lev, design.weights, train, 3, 0.5, rng)

    first = inner(levels)
    assert inner(levels).tobytes() == first.tobytes()  # the same seed: the same losses
    assert inner(levels, seed=2).tobytes() != first.tobytes()  # the seed draws the folds
    shuffled = levels.copy()
    shuffled[test] = (levels[test] + 1) % 3  # the outer test cases' codes, changed
    assert inner(shuffled).tobytes() == first.tobytes()  # the choice never reads them
    # the inner folds depend on which cases are held out, not on the folds' order or the
    # order of the test indices: a fold's choice is the same wherever it is run
    draws = study.inner_rng(1, test).integers(0, 10**9, 4)
    np.testing.assert_array_equal(draws, study.inner_rng(1, test[::-1]).integers(0, 10**9, 4))
    _, chosen = study.fold_predictions(design, members, test, COLUMN, seed=1)
    assert chosen["context"] == GRID[np.flatnonzero(first == first.min())[-1]]


def test_without_a_signal_the_nested_logit_stays_near_the_frequencies() -> None:
    """Codes unrelated to the context: small penalties overfit (worse than the shares),
    and the nested choice, made on the training cases alone, does not."""
    design = _design(np.zeros(5), n=45, seed=21)
    loss, _, counts = study.held_out_losses(design, _plan(design), COLUMN, seed=1)
    mean = {k: v.mean() for k, v in loss.items()}
    freq = mean["frequencies"]
    assert mean["context @ 0.01"] > freq + 0.1
    assert abs(mean["context nested"] - freq) < 0.02, (mean["context nested"], freq, counts)
    assert set(counts["context"]) == {1000.0}, counts  # in every fold: the slopes shrunk
