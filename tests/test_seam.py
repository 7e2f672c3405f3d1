"""The analysis seam: ParameterSpace, Outcome and Model.evaluator.

The evaluator must give exactly what ``Model.run`` gives when the same runs are read the
same way (by xarray, independently of the evaluator's raw-array reductions); per-run
horizons must read each run's own row; structural parameters are refused; and a pickled
evaluator runs in a new process from the kernel cache without compiling.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from mdl_helpers import write_mdl

import gvcdyn
from gvcdyn.errors import (
    GvcdynError,
    OutcomeError,
    ParameterValueError,
    UnknownParameterError,
    UnknownVariableError,
)

EQUATIONS = """
growth = 0.3
	~	1/Month [0, 1]
	~	Growth rate ({tag}).
	|
capacity = 50
	~	Widgets [10, 100]
	~	Carrying capacity.
	|
wobble = 0.5
	~	Dmnl [0, 2]
	~	Amplitude of a seasonal term.
	|
open ended = 1
	~	Dmnl
	~	A constant without a documented range.
	|
order = 3
	~	Dmnl [1, 5]
	~	Order of the smoothing (structural).
	|
x = INTEG(growth * x * (1 - x / capacity) + wobble * SIN(Time), 1)
	~	Widgets
	~	A logistic stock with a seasonal push.
	|
smoothed = SMOOTH N(x, 2, x, order)
	~	Widgets
	~	x smoothed with a structural order.
	|
y = x * open ended
	~	Widgets
	~		|
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> gvcdyn.Model:
    folder = tmp_path_factory.mktemp("seam")
    text = EQUATIONS.replace("{tag}", "seam tests")
    return gvcdyn.load(write_mdl(folder, text, final_time=20, time_step=0.25, saveper=1))


@pytest.fixture(scope="module")
def space(model: gvcdyn.Model) -> gvcdyn.ParameterSpace:
    return gvcdyn.ParameterSpace(model, ["growth", "Capacity", "wobble"])


def _design(space: gvcdyn.ParameterSpace, n: int, seed: int = 0) -> np.ndarray:
    return space.scale(np.random.default_rng(seed).uniform(size=(n, space.k)))


def _run(model: gvcdyn.Model, space: gvcdyn.ParameterSpace, X: np.ndarray, **kw):
    return model.run({name: X[:, j] for j, name in enumerate(space.names)}, **kw)


# --------------------------------------------------------------------------- space


def test_space_bounds_and_salib_problem(model: gvcdyn.Model) -> None:
    space = gvcdyn.ParameterSpace(model, ["GROWTH", "capacity"], bounds={"capacity": (20, 80)})
    assert space.names == ("growth", "capacity")
    np.testing.assert_array_equal(space.bounds, [[0, 1], [20, 80]])
    assert space.to_salib() == {
        "num_vars": 2,
        "names": ["growth", "capacity"],
        "bounds": [[0.0, 1.0], [20.0, 80.0]],
    }


def test_space_matrix_places_columns_over_the_base(model: gvcdyn.Model) -> None:
    space = gvcdyn.ParameterSpace(model, ["wobble"], base={"growth": 0.7})
    full = space.matrix(np.array([[0.1], [1.9]]))
    assert full.shape == (2, len(model.parameters))
    assert list(full[:, model.parameter("wobble").column]) == [0.1, 1.9]
    assert set(full[:, model.parameter("growth").column]) == {0.7}
    assert set(full[:, model.parameter("capacity").column]) == {50.0}


def test_space_base_from_a_scenario_file(model: gvcdyn.Model, tmp_path: Path) -> None:
    scenario = tmp_path / "big.toml"
    scenario.write_text('description = "big"\n[parameters]\ncapacity = 90\n')
    space = gvcdyn.ParameterSpace(model, ["growth"], base=scenario)
    assert space.matrix(np.array([[0.5]]))[0, model.parameter("capacity").column] == 90.0


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"names": ["order"]}, ParameterValueError, "structure"),
        ({"names": ["open ended"]}, ParameterValueError, "no finite range"),
        ({"names": ["growth"], "bounds": {"growth": (0, 2)}}, ParameterValueError, "range"),
        ({"names": ["growth"], "bounds": {"growth": (0.5, 0.5)}}, ParameterValueError, "low <"),
        ({"names": ["growth"], "bounds": {"wobble": (0, 1)}}, ParameterValueError, "not among"),
        ({"names": ["growth", "Growth"]}, ParameterValueError, "twice"),
        ({"names": ["grwoth"]}, UnknownParameterError, "growth"),
        ({"names": ["growth"], "base": {"capacity": 500}}, ParameterValueError, "outside"),
    ],
)
def test_space_refuses_what_it_cannot_vary(model, kwargs, error, words) -> None:
    with pytest.raises(error, match=words):
        gvcdyn.ParameterSpace(model, **kwargs)


def test_space_open_ended_parameter_with_given_bounds(model: gvcdyn.Model) -> None:
    space = gvcdyn.ParameterSpace(model, ["open ended"], bounds={"open ended": (0.5, 2)})
    assert space.bounds.tolist() == [[0.5, 2.0]]


def test_space_checks_designs(space: gvcdyn.ParameterSpace) -> None:
    with pytest.raises(ParameterValueError, match=r"\(n, 3\)"):
        space.matrix(np.zeros((4, 2)))
    with pytest.raises(ParameterValueError, match=r"capacity.*outside"):
        space.matrix(np.array([[0.5, 5.0, 1.0]]))
    with pytest.raises(ParameterValueError, match="growth"):
        space.matrix(np.array([[np.nan, 50.0, 1.0]]))


# --------------------------------------------------------------------------- evaluator


def test_evaluator_equals_model_run(model: gvcdyn.Model, space: gvcdyn.ParameterSpace) -> None:
    outcomes = [
        gvcdyn.Outcome("x"),
        gvcdyn.Outcome("x", "value", at=7),
        gvcdyn.Outcome("smoothed", "change", at=12),
        gvcdyn.Outcome("x", "max"),
        gvcdyn.Outcome("y", "min", at=15),
        gvcdyn.Outcome("x", "mean", at=10),
        gvcdyn.Outcome("smoothed", "peak_time"),
    ]
    X = _design(space, 64)
    Y, status = model.evaluator(space, outcomes)(X)
    ds = _run(model, space, X)
    x, sm, y = ds["x"], ds["smoothed"], ds["y"]
    expected = np.column_stack(
        [
            x.isel(time=-1),
            x.sel(time=7),
            sm.sel(time=12) - sm.isel(time=0),
            x.max("time"),
            y.sel(time=slice(None, 15)).min("time"),
            x.sel(time=slice(None, 10)).mean("time"),
            sm.time.values[sm.argmax("time").values],
        ]
    )
    assert status.tolist() == ds["status"].values.tolist()
    np.testing.assert_allclose(Y, expected, rtol=1e-12, atol=0)


def test_per_run_horizons_read_each_runs_own_row(
    model: gvcdyn.Model, space: gvcdyn.ParameterSpace
) -> None:
    X = _design(space, 6, seed=1)
    times = np.array([0.0, 3.0, 20.0, 11.0, 5.0, 17.0])
    outcomes = [gvcdyn.Outcome("x", "value", at="run"), gvcdyn.Outcome("x", "max", at="run")]
    f = model.evaluator(space, outcomes)
    assert f.per_run_times
    Y, _ = f(X, times=times)
    ds = _run(model, space, X)
    for r, t in enumerate(times):
        series = ds["x"].isel(run=r)
        assert Y[r, 0] == series.sel(time=t).item()
        assert Y[r, 1] == series.sel(time=slice(None, t)).max().item()


def test_evaluator_final_time_override_and_rk4(
    model: gvcdyn.Model, space: gvcdyn.ParameterSpace
) -> None:
    X = _design(space, 5, seed=2)
    f = model.evaluator(space, [gvcdyn.Outcome("x")], method="rk4", final_time=8)
    Y, _ = f(X)
    ds = _run(model, space, X, method="rk4", final_time=8)
    np.testing.assert_array_equal(Y[:, 0], ds["x"].isel(time=-1).values)
    assert ds["time"].values[-1] == 8


@pytest.mark.parametrize(
    ("outcome", "words"),
    [
        (gvcdyn.Outcome("x", "value", at=2.5), "not a saved time"),
        (gvcdyn.Outcome("growth"), "constant"),
    ],
)
def test_evaluator_refuses_unreadable_outcomes(model, space, outcome, words) -> None:
    with pytest.raises(OutcomeError, match=words):
        model.evaluator(space, [outcome])


def test_outcome_definitions_are_checked(model, space) -> None:
    with pytest.raises(OutcomeError, match="reduction"):
        gvcdyn.Outcome("x", "median")
    with pytest.raises(OutcomeError, match="at="):
        gvcdyn.Outcome("x", at="end")
    with pytest.raises(UnknownVariableError, match="'x'"):
        model.evaluator(space, [gvcdyn.Outcome("xx")])
    with pytest.raises(OutcomeError, match="labelled"):
        model.evaluator(space, [gvcdyn.Outcome("x"), gvcdyn.Outcome("x")])
    f = model.evaluator(space, [gvcdyn.Outcome("x", at="run")])
    with pytest.raises(OutcomeError, match="times="):
        f(_design(space, 2))
    with pytest.raises(OutcomeError, match="one time per run"):
        f(_design(space, 2), times=np.array([1.0]))


# --------------------------------------------------------------------------- structural


def test_simulate_refuses_rows_that_change_a_structural_parameter(model: gvcdyn.Model) -> None:
    matrix = np.tile(model.defaults(), (3, 1))
    matrix[2, model.parameter("order").column] = 4
    with pytest.raises(ParameterValueError, match=r"'order'.*run 2"):
        model.simulate(matrix)
    matrix[2, model.parameter("order").column] = 3
    assert model.simulate(matrix).status.tolist() == [0, 0, 0]


# --------------------------------------------------------------------------- pickling

CHILD = """
import json, pickle, sys
import numpy as np
f = pickle.loads(open(sys.argv[1], "rb").read())
X = np.load(sys.argv[2])
Y, status = f(X)
np.save(sys.argv[3], Y)
stats = f.model.kernel("euler").stats
print(json.dumps({"hits": sum(stats.cache_hits.values()),
                  "misses": sum(stats.cache_misses.values())}))
"""


def test_evaluator_pickles_into_a_new_process_without_recompiling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("GVCDYN_CACHE_DIR", str(cache))
    text = EQUATIONS.replace("{tag}", uuid.uuid4().hex)  # a kernel nobody compiled yet
    model = gvcdyn.load(write_mdl(tmp_path, text, final_time=20, time_step=0.25, saveper=1))
    space = gvcdyn.ParameterSpace(model, ["growth", "wobble"])
    f = model.evaluator(space, [gvcdyn.Outcome("x"), gvcdyn.Outcome("smoothed", "max")])
    X = _design(space, 16, seed=3)
    Y, _ = f(X)  # compiles here, once

    (tmp_path / "f.pkl").write_bytes(pickle.dumps(f))
    np.save(tmp_path / "X.npy", X)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(tmp_path / "f.pkl"),
            str(tmp_path / "X.npy"),
            str(tmp_path / "Y.npy"),
        ],
        env={**os.environ, "GVCDYN_CACHE_DIR": str(cache)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"hits": 1, "misses": 0}
    np.testing.assert_array_equal(np.load(tmp_path / "Y.npy"), Y)


def test_model_pickles_and_runs_the_same(model: gvcdyn.Model) -> None:
    again = pickle.loads(pickle.dumps(model))
    assert again.source == model.source
    a, b = model.run({"growth": 0.4}), again.run({"growth": 0.4})
    np.testing.assert_array_equal(a["x"].values, b["x"].values)


def test_errors_are_gvcdyn_errors() -> None:
    for error in (OutcomeError, ParameterValueError, UnknownParameterError):
        assert issubclass(error, GvcdynError)


@pytest.mark.parametrize("reduction", ["value", "change", "max", "min", "mean", "peak_time"])
def test_a_nan_in_the_window_reads_nan(reduction: str) -> None:
    """A run that failed inside the window never reads as a plausible number."""
    from gvcdyn.outcomes import reduce

    series = np.array([[1.0, 2.0, np.nan, 4.0], [1.0, 3.0, 2.0, np.nan]])
    rows = np.array([3, 2])  # run 0 reads through its NaN; run 1 stops before its NaN
    got = reduce(gvcdyn.Outcome("x", reduction, at="run"), series, rows, np.arange(4.0))
    if reduction in ("value", "change"):
        assert got[0] == (4.0 if reduction == "value" else 3.0)  # the NaN is not at row 3
    else:
        assert np.isnan(got[0])
    assert np.isfinite(got[1])
