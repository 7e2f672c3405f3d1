"""The vectorised Sobol' estimator against SALib's own ``sobol.analyze``, column by column.

Same ``Y``, same seed: the point estimates must be SALib's to rounding and, since the
bootstrap draws the same resamples, so must the intervals.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from SALib.analyze import sobol as salib_sobol
from SALib.sample import sobol as salib_sample
from SALib.test_functions import Ishigami, Sobol_G

from gvcdyn.errors import GvcdynError, SensitivityDesignError
from gvcdyn.sensitivity.estimator import block_size, bootstrap_counts, sobol_indices

PROBLEM = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}


def _outputs(second_order: bool) -> np.ndarray:
    """Several kinds of column: smooth, skewed, bounded, integer-valued, constant."""
    X = salib_sample.sample(PROBLEM, 512, calc_second_order=second_order, seed=5)
    y = Ishigami.evaluate(X)
    return np.column_stack([y, np.exp(y / 4), np.sin(y), np.round(y), np.full_like(y, 3.0)])


def _salib(Y: np.ndarray, second_order: bool, seed: int, **kwargs) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib warns on the constant column
        return salib_sobol.analyze(
            PROBLEM, np.ascontiguousarray(Y), calc_second_order=second_order, seed=seed, **kwargs
        )


@pytest.mark.parametrize("second_order", [False, True])
def test_matches_salib_column_by_column(second_order):
    Y = _outputs(second_order)
    ours = sobol_indices(Y, 3, second_order=second_order, seed=42)
    keys = ["S1", "S1_conf", "ST", "ST_conf"] + (["S2", "S2_conf"] if second_order else [])
    for column in range(Y.shape[1]):
        theirs = _salib(Y[:, column], second_order, seed=42)
        for key in keys:
            np.testing.assert_allclose(
                getattr(ours, key)[..., column],
                theirs[key],
                rtol=0,
                atol=1e-12,
                err_msg=f"{key}, column {column}",
            )
    assert (
        np.array_equal(np.isnan(ours.S2[..., 0]), np.isnan(theirs["S2"]))
        if second_order
        else ours.S2 is None
    )


def test_point_estimates_identical_to_salib():
    """Not just close: the same arithmetic in the same order."""
    Y = _outputs(False)
    ours = sobol_indices(Y, 3, seed=1)
    theirs = _salib(Y[:, 0], False, seed=1)
    assert np.array_equal(ours.S1[:, 0], theirs["S1"])
    assert np.array_equal(ours.ST[:, 0], theirs["ST"])


def test_other_confidence_level_and_resamples_match_salib():
    Y = _outputs(False)[:, :2]
    ours = sobol_indices(Y, 3, seed=9, conf_level=0.8, num_resamples=37)
    theirs = _salib(Y[:, 1], False, seed=9, conf_level=0.8, num_resamples=37)
    np.testing.assert_allclose(ours.ST_conf[:, 1], theirs["ST_conf"], atol=1e-12, rtol=0)
    assert ours.num_resamples == 37 and ours.conf_level == 0.8


def test_every_column_uses_the_same_resamples():
    """Two copies of a column get identical intervals, wherever they sit."""
    y = _outputs(False)[:, 0]
    Y = np.column_stack([y, 2 * y + 1, y])
    ours = sobol_indices(Y, 3, seed=3)
    np.testing.assert_allclose(ours.S1_conf[:, 0], ours.S1_conf[:, 2], rtol=0, atol=1e-15)
    np.testing.assert_allclose(ours.ST_conf[:, 0], ours.ST_conf[:, 1], rtol=1e-10, atol=1e-14)


def test_chunks_of_columns_give_the_same_numbers(monkeypatch):
    from gvcdyn.sensitivity import estimator as module

    Y = _outputs(True)
    whole = sobol_indices(Y, 3, second_order=True, seed=4)
    monkeypatch.setattr(module, "_CHUNK_BYTES", 1)  # one column per chunk
    seen = []
    parts = sobol_indices(Y, 3, second_order=True, seed=4, progress=seen.append)
    assert seen == [1] * Y.shape[1]
    for key in ("S1", "ST", "S2"):  # BLAS may sum the bootstrap in another order per shape
        np.testing.assert_array_equal(getattr(parts, key), getattr(whole, key))
    for key in ("S1_conf", "ST_conf", "S2_conf"):
        np.testing.assert_allclose(getattr(parts, key), getattr(whole, key), rtol=0, atol=1e-14)


def test_constant_column_has_zero_indices():
    Y = _outputs(True)
    ours = sobol_indices(Y, 3, second_order=True, seed=2)
    for key in ("S1", "S1_conf", "ST", "ST_conf"):
        assert np.all(getattr(ours, key)[:, -1] == 0)
    assert np.all(ours.S2[np.triu_indices(3, 1)][:, -1] == 0)


def test_sobol_g_analytic_indices_within_intervals():
    """SALib's Sobol G (8 inputs) straight through the estimator, no model in between."""
    a = np.array([0, 1, 4.5, 9, 99, 99, 99, 99])
    problem = {"num_vars": 8, "names": [f"x{i}" for i in range(8)], "bounds": [[0, 1]] * 8}
    X = salib_sample.sample(problem, 4096, calc_second_order=False, seed=8)
    result = sobol_indices(Sobol_G.evaluate(X, a), 8, seed=8)
    S1, ST = Sobol_G.sensitivity_index(a), Sobol_G.total_sensitivity_index(a)
    assert np.all(np.abs(result.S1[:, 0] - S1) <= result.S1_conf[:, 0])
    assert np.all(np.abs(result.ST[:, 0] - ST) <= result.ST_conf[:, 0])


def test_bootstrap_counts_follow_salibs_draw():
    counts = bootstrap_counts(50, 7, seed=11)
    draws = np.random.default_rng(11).integers(50, size=(50, 7))
    for b in range(7):
        np.testing.assert_array_equal(counts[:, b], np.bincount(draws[:, b], minlength=50))
    assert np.all(counts.sum(axis=0) == 50)


def test_block_size():
    assert block_size(5, True) == 12
    assert block_size(5, False) == 7


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"Y": np.zeros(11), "num_vars": 3}, "not a multiple of 5"),
        ({"Y": np.zeros(20), "num_vars": 3, "second_order": True}, "2D+2"),
        ({"Y": np.zeros((10, 2, 2)), "num_vars": 3}, "(runs, outputs)"),
        ({"Y": np.zeros(10), "num_vars": 3, "conf_level": 1.5}, "conf_level"),
        ({"Y": np.zeros(10), "num_vars": 3, "num_resamples": 1}, "num_resamples"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs, words):
    with pytest.raises(SensitivityDesignError) as info:
        sobol_indices(**kwargs)
    assert words in str(info.value)
    assert isinstance(info.value, GvcdynError) and isinstance(info.value, ValueError)
