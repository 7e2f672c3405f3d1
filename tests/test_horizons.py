"""A run's horizon (FINAL TIME, TIME STEP, SAVEPER) that is not a number never runs.

Every way a horizon reaches the kernel is tried with NaN, infinity and a negative or
zero value: the settings of ``Model.run``, ``Model.simulate``'s grid, ``Model.evaluator``
and the per-run read times of its calls, parameters that the model's controls read (from
``run``, a raw parameter matrix, a scenario file, the command line). Each is refused
before the run with a ``GvcdynError`` that names the setting (and the parameter, where the
user set a parameter), never a batch of NaN rows reported with status 0.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

import gvcdyn
from gvcdyn.backend.timegrid import TimeGrid, make_grid
from gvcdyn.errors import (
    OutcomeError,
    ParameterValueError,
    ScenarioFormatError,
    SimulationSettingsError,
    UnknownParameterError,
)
from gvcdyn.status import NONFINITE_FINAL_TIME, describe

NAN, INF = float("nan"), float("inf")

#: Growth whose horizon and step are parameters: FINAL TIME = horizon, TIME STEP = step.
CONTROLS_FROM_PARAMETERS = """{UTF-8}
x = INTEG(r * x, 1)
	~	Widgets
	~		|
r = 0.1
	~	1/Month [0,1]
	~		|
horizon = 10
	~	Month [1,100]
	~		|
step = 1
	~	Month [0.1,2]
	~		|
FINAL TIME = horizon
	~	Month
	~		|
INITIAL TIME = 0
	~	Month
	~		|
SAVEPER = TIME STEP
	~	Month
	~		|
TIME STEP = step
	~	Month
	~		|
"""

#: A FINAL TIME that depends on time (and on a parameter): the kernel evaluates it per run.
DYNAMIC_FINAL_TIME = CONTROLS_FROM_PARAMETERS.replace(
    "FINAL TIME = horizon", "FINAL TIME = IF THEN ELSE(Time >= 3, horizon, 10)"
)


def load_text(factory: pytest.TempPathFactory, name: str, text: str) -> gvcdyn.Model:
    """The model of the ``.mdl`` ``text``, written to a fresh folder as ``name.mdl``."""
    path = factory.mktemp("horizons") / f"{name}.mdl"
    path.write_text(text, encoding="utf-8")
    return gvcdyn.load(path)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> gvcdyn.Model:
    return load_text(tmp_path_factory, "controls_from_parameters", CONTROLS_FROM_PARAMETERS)


def test_the_model_runs_on_its_parameters_horizon(model: gvcdyn.Model) -> None:
    """The baseline the refusals below depart from: horizon 10, step 0.5 saves 21 times."""
    ds = model.run({"step": 0.5})
    assert ds["time"].values[-1] == 10.0 and len(ds["time"]) == 21
    assert (ds["status"].values == 0).all() and np.isfinite(ds["x"].values).all()


# ------------------------------------------------------------------ explicit settings


BAD_SETTINGS = [
    ("final_time", NAN, "FINAL TIME must be a finite number"),
    ("final_time", INF, "FINAL TIME must be a finite number"),
    ("final_time", -1.0, "is before INITIAL TIME"),
    ("time_step", NAN, "TIME STEP must be a finite number"),
    ("time_step", -INF, "TIME STEP must be a finite number"),
    ("time_step", 0.0, "TIME STEP must be positive"),
    ("time_step", -0.5, "TIME STEP must be positive"),
    ("saveper", NAN, "SAVEPER must be a finite number"),
    ("saveper", -1.0, "SAVEPER must be positive"),
    ("final_time", "10", "FINAL TIME must be a number"),
]


@pytest.mark.parametrize(("setting", "value", "message"), BAD_SETTINGS)
def test_run_refuses_a_setting_that_is_not_a_horizon(
    model: gvcdyn.Model, setting: str, value: object, message: str
) -> None:
    with pytest.raises(SimulationSettingsError, match=message):
        model.run(**{setting: value})


@pytest.mark.parametrize(("setting", "value", "message"), BAD_SETTINGS[:6])
def test_an_evaluator_refuses_a_setting_that_is_not_a_horizon_when_built(
    model: gvcdyn.Model, setting: str, value: object, message: str
) -> None:
    space = gvcdyn.ParameterSpace(model, ["r"])
    with pytest.raises(SimulationSettingsError, match=message):
        model.evaluator(space, [gvcdyn.Outcome("x")], **{setting: value})


@pytest.mark.parametrize("bad", [NAN, INF, -3.0, 4.5])
def test_an_evaluator_refuses_per_run_read_times_off_the_grid(
    model: gvcdyn.Model, bad: float
) -> None:
    f = model.evaluator(gvcdyn.ParameterSpace(model, ["r"]), [gvcdyn.Outcome("x", at="run")])
    X = np.array([[0.1], [0.2]])
    Y, status = f(X, times=np.array([5.0, 10.0]))
    assert np.isfinite(Y).all() and (status == 0).all()
    with pytest.raises(OutcomeError, match="x value@run"):
        f(X, times=np.array([5.0, bad]))


# ------------------------------------------------------------------ hand-made grids


def test_a_hand_made_grid_with_a_nan_horizon_is_refused() -> None:
    good = make_grid(0.0, 10.0, 1.0, 1.0)
    fields = {k: getattr(good, k) for k in TimeGrid.__dataclass_fields__}
    TimeGrid(**fields)  # a copy of a real grid is accepted
    for field, value in [("final_time", NAN), ("time_step", INF), ("saveper", 0.0)]:
        with pytest.raises(SimulationSettingsError):
            TimeGrid(**{**fields, field: value})


def test_a_hand_made_grid_whose_rows_do_not_fit_its_steps_is_refused() -> None:
    """The kernel trusts ``save_rows`` and ``n_steps`` (no bounds checks in compiled code):
    a mismatch used to write out of bounds and crash the process."""
    good = make_grid(0.0, 10.0, 1.0, 1.0)
    fields = {k: getattr(good, k) for k in TimeGrid.__dataclass_fields__}
    for change in [
        {"n_steps": 20},
        {"n_steps": -1},
        {"save_rows": np.arange(11) + 5},
        {"save_rows": np.arange(11.0)},
        {"save_times": np.array([])},
    ]:
        with pytest.raises(SimulationSettingsError, match="not a valid time grid"):
            TimeGrid(**{**fields, **change})


# ------------------------------------------------------------------ parameters the controls read


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"horizon": NAN}, r"FINAL TIME must be a finite number.*'horizon' = nan"),
        ({"horizon": INF}, r"FINAL TIME must be a finite number.*'horizon' = inf"),
        ({"horizon": -5.0}, r"before INITIAL TIME.*'horizon' = -5"),
        ({"step": NAN}, r"TIME STEP must be a finite number.*'step' = nan"),
        ({"step": 0.0}, r"TIME STEP must be positive.*'step' = 0"),
        ({"step": -1.0}, r"TIME STEP must be positive.*'step' = -1"),
        ({"horizon": [10.0, NAN]}, "'horizon', which must then be the same in all runs"),
    ],
)
def test_a_parameter_the_controls_read_is_refused_by_name(
    model: gvcdyn.Model, params: dict, message: str
) -> None:
    with pytest.raises(SimulationSettingsError, match=message):
        model.run(params, allow_out_of_range=True)
    matrix = np.tile(model.defaults(), (np.size(next(iter(params.values()))), 1))
    for name, value in params.items():
        matrix[:, model.parameter(name).column] = value
    with pytest.raises(SimulationSettingsError, match=message):
        model.simulate(matrix)  # the raw path: no range checks, same refusal


def test_run_refuses_a_nan_parameter_unless_out_of_range_values_are_allowed(
    model: gvcdyn.Model,
) -> None:
    with pytest.raises(ParameterValueError, match="'horizon': NaN is not a valid value"):
        model.run({"horizon": NAN})
    with pytest.raises(ParameterValueError, match="'horizon'"):
        gvcdyn.ParameterSpace(model, ["r"], base={"horizon": NAN})


def test_a_scenario_file_cannot_bring_a_horizon_that_is_not_a_number(
    model: gvcdyn.Model, tmp_path: Path
) -> None:
    from gvcdyn.whatif.scenarios import build_batch, read_scenario

    cases = {
        "nan_lever": ("horizon = nan", ScenarioFormatError, "must be a finite number"),
        "setting": ('"FINAL TIME" = 5', UnknownParameterError, "simulation setting"),
    }
    for name, (line, kind, message) in cases.items():
        path = tmp_path / f"{name}.toml"
        path.write_text(f"[parameters]\n{line}\n", encoding="utf-8")
        with pytest.raises(kind, match=message) as caught:
            build_batch(model, [read_scenario(path)], allow_out_of_range=True)
        assert path.name in str(caught.value)
    path = tmp_path / "negative_step.toml"
    path.write_text("[parameters]\nstep = -1\n", encoding="utf-8")
    batch = build_batch(model, [read_scenario(path)], allow_out_of_range=True)
    with pytest.raises(SimulationSettingsError, match="'step' = -1"):
        model.run(batch.params, allow_out_of_range=True)


@pytest.mark.parametrize(
    "args", [["--final-time", "nan"], ["--time-step", "-1"], ["--set", "horizon=nan"]]
)
def test_the_cli_refuses_a_horizon_that_is_not_a_number_in_one_line(
    model: gvcdyn.Model, args: list[str]
) -> None:
    from gvcdyn.cli import run_cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run_cli(["run", str(model.path), *args, "--allow-out-of-range"])
    message = err.getvalue().strip()
    assert code == 2 and message.startswith("error: ") and "\n" not in message, message


# ------------------------------------------------------------------ per-run FINAL TIME


@pytest.fixture(scope="module")
def dynamic(tmp_path_factory: pytest.TempPathFactory) -> gvcdyn.Model:
    return load_text(tmp_path_factory, "dynamic_final_time", DYNAMIC_FINAL_TIME)


def test_a_dynamic_final_time_ends_each_run_at_its_own_horizon(dynamic: gvcdyn.Model) -> None:
    """The kernel evaluates a FINAL TIME that depends on time per run: horizon 5 stops at
    5, horizon 8 at 8, and the rows after are NaN (not reached)."""
    ds = dynamic.run({"horizon": [5.0, 8.0]})
    x = ds["x"].values
    times = ds["time"].values
    assert np.isfinite(x[0, times <= 5]).all() and np.isnan(x[0, times > 5]).all()
    assert np.isfinite(x[1, times <= 8]).all() and np.isnan(x[1, times > 8]).all()


def test_a_dynamic_final_time_that_is_nan_gives_the_run_a_non_zero_status(
    dynamic: gvcdyn.Model,
) -> None:
    """A NaN FINAL TIME stops the run like a reached horizon would; the status says so,
    so the run is not mistaken for one that ended normally."""
    ds = dynamic.run({"horizon": [5.0, NAN]}, allow_out_of_range=True)
    status = ds["status"].values
    assert status[0] == 0 and status[1] == NONFINITE_FINAL_TIME, status
    assert "FINAL TIME" in describe(int(status[1]))
    x, times = ds["x"].values[1], ds["time"].values  # FINAL TIME turns NaN at time 3
    assert np.isfinite(x[times <= 3]).all() and np.isnan(x[times > 3]).all()


def test_a_dynamic_final_time_that_is_infinite_gives_the_run_a_non_zero_status(
    dynamic: gvcdyn.Model,
) -> None:
    """Plus infinity never reaches the stopping test; the run would go on to the grid's
    end as if that were its horizon."""
    ds = dynamic.run({"horizon": [5.0, INF, -INF]}, allow_out_of_range=True)
    assert list(ds["status"].values) == [0, NONFINITE_FINAL_TIME, NONFINITE_FINAL_TIME]
