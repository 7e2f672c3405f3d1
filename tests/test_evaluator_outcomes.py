"""The evaluator's outcomes, each bitwise what ``outcomes.reduce`` gives on the saved
series of a plain ``Model.simulate`` of the same runs, whatever mix of outcomes it reads
(plain values at fixed times are gathered in one step, the others reduced one by one)."""

from __future__ import annotations

import numpy as np
import pytest
from mdl_helpers import SIR, write_mdl

import gvcdyn
from gvcdyn import outcomes as _outcomes


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> gvcdyn.Model:
    root = tmp_path_factory.mktemp("outcomes")
    return gvcdyn.load(write_mdl(root, SIR, final_time=30, time_step=0.25, name="sir"))


MIXES = [
    [gvcdyn.Outcome("I")],
    [gvcdyn.Outcome("I", "max"), gvcdyn.Outcome("S", "mean", at=12)],
    [
        gvcdyn.Outcome("S", at=10),
        gvcdyn.Outcome("I", "max"),
        gvcdyn.Outcome("I"),
        gvcdyn.Outcome("S", "change", at=20),
        gvcdyn.Outcome("I", at="run", name="I then"),
        gvcdyn.Outcome("S", at=10, name="S again"),
        gvcdyn.Outcome("I", "peak_time"),
    ],
]


@pytest.mark.parametrize("outcomes", MIXES)
@pytest.mark.parametrize("n", [1, 7])
def test_outcomes_equal_reductions_of_the_saved_series(
    model: gvcdyn.Model, outcomes: list[gvcdyn.Outcome], n: int
) -> None:
    space = gvcdyn.ParameterSpace(model, ["beta", "gamma"])
    evaluator = model.evaluator(space, outcomes)
    X = space.scale(np.random.default_rng(11).uniform(size=(n, 2)))
    times = np.linspace(5, 25, n).round()
    Y, status = evaluator(X, times=times if evaluator.per_run_times else None)
    raw = model.simulate(space.matrix(X))
    save_times = raw.grid.save_times
    for j, outcome in enumerate(outcomes):
        column = model.cell_index(model.variable(outcome.variable).cells[0])
        series = raw.values[:, :, column]
        rows = _outcomes.end_rows(outcome, save_times, n, times)
        expected = _outcomes.reduce(outcome, series, rows, save_times)
        np.testing.assert_array_equal(Y[:, j], expected, err_msg=outcome.label)
    np.testing.assert_array_equal(status, raw.status)
