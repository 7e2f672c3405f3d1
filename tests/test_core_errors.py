"""Error paths of the core: each raises a ``gvcdyn.errors`` subclass whose message names
the thing that is wrong (the file, the variable, the function, the parameter, the value).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from mdl_helpers import write_mdl

import gvcdyn
from gvcdyn.errors import (
    DataFileNotFoundError,
    GvcdynError,
    ModelFileNotFoundError,
    ModelParseError,
    ModelStructureError,
    ParameterValueError,
    SimulationSettingsError,
    UnknownParameterError,
    UnknownVariableError,
    UnsupportedFeatureError,
)

GOOD = """
growth rate = 0.1
	~	1/Month [0,1]
	~	Fractional growth per month.
	|
capacity = 100
	~	Widgets [1,?]
	~	Carrying capacity.
	|
population = INTEG(net growth, 10)
	~	Widgets
	~		|
net growth = growth rate * population * (1 - population / capacity)
	~	Widgets/Month
	~		|
"""


def _loose(text: str) -> str:
    """Lower case, underscores as spaces: Vensim names compare case/underscore-insensitively."""
    return re.sub(r"\s+", " ", text.replace("_", " ").lower())


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> gvcdyn.Model:
    """A small logistic model with documented ranges, loaded once."""
    return gvcdyn.load(
        write_mdl(tmp_path_factory.mktemp("errors"), GOOD, final_time=5, name="logistic")
    )


def _load_error(tmp_path: Path, equations: str, name: str = "bad") -> GvcdynError:
    path = write_mdl(tmp_path, equations, name=name)
    with pytest.raises(GvcdynError) as info:
        gvcdyn.load(path)
    return info.value


# ---------------------------------------------------------------------- reading the file


def test_missing_file(tmp_path: Path) -> None:
    """A path that does not exist: ModelFileNotFoundError (also a FileNotFoundError) naming it."""
    path = tmp_path / "nowhere" / "absent_model.mdl"
    with pytest.raises(ModelFileNotFoundError, match=r"absent_model\.mdl") as info:
        gvcdyn.load(path)
    assert isinstance(info.value, FileNotFoundError)


def test_not_an_mdl_file(tmp_path: Path) -> None:
    """An existing file that is not .mdl: ModelParseError naming the file and '.mdl'."""
    path = tmp_path / "model.txt"
    path.write_text(GOOD)
    with pytest.raises(ModelParseError) as info:
        gvcdyn.load(path)
    assert "model.txt" in str(info.value)
    assert ".mdl" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_malformed_mdl(tmp_path: Path) -> None:
    """An equation PySD's translator cannot parse: ModelParseError naming the file."""
    error = _load_error(tmp_path, "y = (1 + \n ~ ~ |\n", name="malformed")
    assert isinstance(error, ModelParseError)
    assert "malformed.mdl" in str(error)


# ---------------------------------------------------------------------- model structure


def test_undefined_variable(tmp_path: Path) -> None:
    """A reference to a name nothing defines: ModelStructureError naming both names."""
    error = _load_error(
        tmp_path,
        """
y = undefined thing * 2
	~	Dmnl
	~		|
""",
    )
    assert isinstance(error, ModelStructureError)
    message = _loose(str(error))
    assert "undefined thing" in message
    assert "'y'" in message


def test_algebraic_loop(tmp_path: Path) -> None:
    """Two auxiliaries defined by each other: ModelStructureError naming both."""
    error = _load_error(
        tmp_path,
        """
alpha = beta + 1
	~	Dmnl
	~		|
beta = alpha * 2
	~	Dmnl
	~		|
x = INTEG(alpha, 0)
	~	Dmnl
	~		|
""",
    )
    assert isinstance(error, ModelStructureError)
    message = _loose(str(error))
    assert "alpha" in message and "beta" in message
    assert "loop" in message


def test_loop_through_a_stock_is_fine(tmp_path: Path) -> None:
    """A feedback loop that passes through a stock is not an algebraic loop."""
    path = write_mdl(
        tmp_path,
        """
alpha = 0.5 * x
	~	Dmnl
	~		|
x = INTEG(alpha, 1)
	~	Dmnl
	~		|
""",
        final_time=2,
        name="feedback",
    )
    ds = gvcdyn.load(path).run()
    assert ds["x"].isel(run=0).values.tolist() == [1.0, 1.5, 2.25]


def test_unsupported_function(tmp_path: Path) -> None:
    """RANDOM POISSON: UnsupportedFeatureError naming the function and the variable."""
    error = _load_error(
        tmp_path,
        """
Dim: a1, a2
	~	~	|
noise[Dim] = RANDOM POISSON(0, 10, 2, 0, 1, 5)
	~	Dmnl
	~		|
""",
    )
    assert isinstance(error, UnsupportedFeatureError)
    message = _loose(str(error))
    assert "random poisson" in message
    assert "noise" in message


def test_external_data_file_missing(tmp_path: Path) -> None:
    """GET XLS CONSTANTS of a missing file: DataFileNotFoundError naming file and variable."""
    error = _load_error(
        tmp_path,
        """
ext = GET XLS CONSTANTS('data.xlsx', 'Sheet1', 'B2')
	~	Dmnl
	~		|
""",
    )
    assert isinstance(error, DataFileNotFoundError)
    assert "data.xlsx" in str(error)
    assert "'ext'" in str(error)


# ---------------------------------------------------------------------- parameters


def test_unknown_parameter_suggests_closest(model: gvcdyn.Model) -> None:
    """A misspelled parameter: UnknownParameterError naming it and suggesting the real one."""
    with pytest.raises(UnknownParameterError) as info:
        model.run({"growth rat": 0.2})
    message = str(info.value)
    assert "growth rat" in message
    assert "did you mean" in message and "'growth rate'" in message
    assert isinstance(info.value, KeyError)


def test_stock_is_not_a_parameter(model: gvcdyn.Model) -> None:
    """Only constants are parameters: a stock's name is rejected as a parameter."""
    with pytest.raises(UnknownParameterError, match="population"):
        model.run({"population": 3.0})


def test_value_above_range(model: gvcdyn.Model) -> None:
    """growth rate is documented [0,1]: 1.5 is rejected naming the parameter, value and range."""
    with pytest.raises(ParameterValueError) as info:
        model.run({"growth rate": 1.5})
    message = str(info.value)
    assert "growth rate" in message and "1.5" in message and "[0, 1]" in message


def test_value_below_open_range_in_batch(model: gvcdyn.Model) -> None:
    """capacity is [1,?]: one bad value in a batch is reported; the upper side is open."""
    with pytest.raises(ParameterValueError, match=r"capacity.*0\.5"):
        model.run({"capacity": np.array([50.0, 0.5, 200.0])})
    ds = model.run({"capacity": np.array([50.0, 1e9])})
    assert ds["status"].values.tolist() == [0, 0]


def test_allow_out_of_range(model: gvcdyn.Model) -> None:
    """allow_out_of_range=True accepts the value and simulates with it."""
    ds = model.run({"growth rate": 1.5}, allow_out_of_range=True)
    assert float(ds["growth rate"][0]) == 1.5
    # one Euler step by hand: 10 + 1 * 1.5 * 10 * (1 - 10/100) = 23.5
    assert float(ds["population"].isel(run=0, time=1)) == pytest.approx(23.5, rel=1e-15)


def test_arrays_of_different_lengths(model: gvcdyn.Model) -> None:
    """Parameter arrays of lengths 2 and 3: ParameterValueError naming both lengths."""
    with pytest.raises(ParameterValueError) as info:
        model.run({"growth rate": [0.1, 0.2], "capacity": [10.0, 20.0, 30.0]})
    assert "2" in str(info.value) and "3" in str(info.value)
    assert "length" in str(info.value)


def test_non_numeric_value(model: gvcdyn.Model) -> None:
    """A string value: ParameterValueError naming the parameter."""
    with pytest.raises(ParameterValueError, match="growth rate"):
        model.run({"growth rate": "fast"})


# ---------------------------------------------------------------------- settings


def test_unknown_method(model: gvcdyn.Model) -> None:
    """method='rk99': SimulationSettingsError naming it and the valid methods ('rk45'
    was the example until it became a method, gvcdyn.backend.adaptive)."""
    with pytest.raises(SimulationSettingsError) as info:
        model.run(method="rk99")
    message = str(info.value)
    assert "rk99" in message and "euler" in message and "rk4" in message


@pytest.mark.parametrize("dt", [0.0, -0.5])
def test_non_positive_time_step(model: gvcdyn.Model, dt: float) -> None:
    """TIME STEP <= 0: SimulationSettingsError naming TIME STEP and the value."""
    with pytest.raises(SimulationSettingsError) as info:
        model.run(time_step=dt)
    assert "TIME STEP" in str(info.value)
    assert str(dt) in str(info.value)


def test_non_positive_saveper(model: gvcdyn.Model) -> None:
    """SAVEPER <= 0: SimulationSettingsError naming SAVEPER."""
    with pytest.raises(SimulationSettingsError, match="SAVEPER"):
        model.run(saveper=0.0)


def test_unknown_output_variable(model: gvcdyn.Model) -> None:
    """variables=['net growht']: UnknownVariableError naming it and suggesting 'net growth'."""
    with pytest.raises(UnknownVariableError) as info:
        model.run(variables=["net growht"])
    message = str(info.value)
    assert "net growht" in message and "'net growth'" in message


def test_known_output_variables_select(model: gvcdyn.Model) -> None:
    """A valid selection returns exactly those variables over time, plus the runs'
    parameter values (dims (run,)) and status."""
    ds = model.run(variables=["net growth", "Population"])
    over_time = {name for name, var in ds.data_vars.items() if "time" in var.dims}
    assert over_time == {"net growth", "population"}
    constants = {v.name for v in model.variables if v.kind == "constant"}
    assert set(ds.data_vars) == {"net growth", "population", "status"} | constants


def test_every_error_has_one_root() -> None:
    """All error classes derive from GvcdynError, so callers can catch one type."""
    for cls in (
        ModelFileNotFoundError,
        ModelParseError,
        ModelStructureError,
        UnsupportedFeatureError,
        UnknownParameterError,
        ParameterValueError,
        SimulationSettingsError,
        UnknownVariableError,
    ):
        assert issubclass(cls, GvcdynError)
