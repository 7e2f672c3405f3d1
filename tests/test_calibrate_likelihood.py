"""The ordered logit: profiled cutpoints equal a general optimiser's, probabilities are valid."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from gvcdyn.calibrate.crossval import scores, stratified_folds
from gvcdyn.calibrate.likelihood import (
    cutpoints_from_free,
    free_from_cutpoints,
    level_probabilities,
    profile_cutpoints,
)


def scipy_fit(eta, levels, weights, n_levels):
    """The same likelihood maximised by BFGS in the free (ordered) parametrisation."""

    def nll(free):
        probs = level_probabilities(eta, cutpoints_from_free(free))
        return -np.sum(weights * np.log(probs[np.arange(len(eta)), levels]))

    res = minimize(nll, np.zeros(n_levels - 1), method="BFGS", options={"gtol": 1e-9})
    return res.fun, cutpoints_from_free(res.x)


def test_profiled_cutpoints_match_a_general_optimiser():
    rng = np.random.default_rng(3)
    for n_levels in (2, 3, 4):
        eta = rng.normal(size=(4, 50)) * 2.0
        levels = rng.integers(0, n_levels, 50)
        weights = rng.uniform(0.5, 1.0, 50)
        nll, cuts = profile_cutpoints(eta, levels, weights, n_levels, pseudo_count=1e-9)
        for row in range(4):
            ref_nll, ref_cuts = scipy_fit(eta[row], levels, weights, n_levels)
            assert abs(nll[row] - ref_nll) < 1e-6
            np.testing.assert_allclose(cuts[row], ref_cuts, atol=1e-4)


def test_cutpoints_stay_finite_and_ordered_with_empty_levels_and_separation():
    eta = np.linspace(-3, 3, 30)[None, :]
    only_low = np.zeros(30, dtype=int)  # every case in level 0: MLE cutpoints diverge
    separated = (eta[0] > 0).astype(int) * 2  # level 1 empty, levels 0 and 2 separated
    for levels in (only_low, separated):
        nll, cuts = profile_cutpoints(eta, levels, np.ones(30), 3)
        assert np.all(np.isfinite(cuts)) and np.all(np.diff(cuts, axis=1) > 0)
        assert np.isfinite(nll[0])


def test_missing_outcomes_and_zero_weights_do_not_count():
    rng = np.random.default_rng(5)
    eta = rng.normal(size=(1, 20))
    levels = rng.integers(0, 3, 20)
    full, _ = profile_cutpoints(eta[:, :15], levels[:15], np.ones(15), 3)
    blanked = levels.copy()
    blanked[15:] = -1
    assert np.isclose(profile_cutpoints(eta, blanked, np.ones(20), 3)[0][0], full[0])
    weights = np.r_[np.ones(15), np.zeros(5)]
    assert np.isclose(profile_cutpoints(eta, levels, weights, 3)[0][0], full[0])


def test_non_finite_quantity_on_a_weighted_case_gives_infinite_objective():
    eta = np.array([[0.0, 1.0, np.nan], [0.0, 1.0, 2.0]])
    nll, _ = profile_cutpoints(eta, np.array([0, 1, 2]), np.ones(3), 3)
    assert np.isinf(nll[0]) and np.isfinite(nll[1])


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-5, 5), min_size=1, max_size=4),
    st.lists(st.floats(-8, 8), min_size=1, max_size=6),
)
def test_probabilities_are_a_distribution_and_free_values_round_trip(free, eta):
    cuts = cutpoints_from_free(np.array(free))
    assert np.all(np.diff(cuts) > 0)
    np.testing.assert_allclose(free_from_cutpoints(cuts), free, atol=1e-9)
    probs = level_probabilities(np.array(eta), cuts)
    assert probs.shape == (len(eta), len(free) + 1)
    assert np.all(probs >= 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)


def test_scores_of_certain_and_uniform_predictions():
    observed = np.array([0, 2, 1])
    certain = np.eye(3)[observed]
    np.testing.assert_allclose(scores(certain, observed), [[0, 0, 1]] * 3, atol=1e-9)
    uniform = np.full((3, 3), 1 / 3)
    s = scores(uniform, observed)
    np.testing.assert_allclose(s[:, 0], np.log(3))
    # RPS of a uniform forecast: (1/3)^2 + (2/3)^2 over 2 for an extreme level, 2*(1/3)^2/2 middle
    np.testing.assert_allclose(s[:, 1], [5 / 18, 5 / 18, 1 / 9])
    wrong_far = np.eye(3)[[2, 0, 1]]  # the far-off level is worse than a near miss
    near = np.eye(3)[[1, 1, 1]]
    assert scores(wrong_far, observed)[:2, 1].mean() > scores(near, observed)[:2, 1].mean()


def test_stratified_folds_partition_and_balance():
    strata = np.repeat([0, 1, 2], [10, 7, 4])
    folds = stratified_folds(strata, 5, np.random.default_rng(0))
    joined = np.sort(np.concatenate(folds))
    assert joined.tolist() == list(range(21))
    for level, count in ((0, 10), (1, 7), (2, 4)):
        per_fold = [np.sum(strata[f] == level) for f in folds]
        assert max(per_fold) - min(per_fold) <= 1 and sum(per_fold) == count
