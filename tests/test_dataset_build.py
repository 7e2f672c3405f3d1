"""``Model.run``'s dataset, assembled without xarray's merge, is what the public
constructor builds: same variables in the same order, dims, coordinates, indexes, attrs.

The model has subscripts, a partly defined variable (NaN cells), subscripted constants
(taken from the parameter matrix), a constant auxiliary (reported once per run) and
time-varying ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from mdl_helpers import write_mdl

import gvcdyn
from gvcdyn import dataset
from gvcdyn.errors import ParameterValueError

EQUATIONS = """
Region: north, south, east
	~
	~		|
Sector: farm, mill
	~
	~		|
pop[Region] = INTEG(growth[Region], start[Region])
	~	People
	~	Population by region.
	|
start[Region] = 10, 20, 30
	~	People [0,100]
	~		|
rate[Region, Sector] = 0.1
	~	1/Year [0,1]
	~		|
growth[north] = rate[north, farm] * pop[north]
	~	People/Year
	~		|
growth[south] = rate[south, mill] * pop[south]
	~	People/Year
	~		|
output[Region, Sector] = rate[Region, Sector] * pop[Region]
	~	Widgets
	~		|
scale = 2 * speed
	~	Dmnl
	~	A constant auxiliary.
	|
speed = 3
	~	Dmnl [0,10]
	~		|
total = SUM(pop[Region!]) * scale
	~	People
	~		|
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> gvcdyn.Model:
    root = tmp_path_factory.mktemp("dataset")
    return gvcdyn.load(write_mdl(root, EQUATIONS, final_time=5, time_step=0.5, name="sub"))


def _public(model: gvcdyn.Model, ds: xr.Dataset, variables: list[str] | None) -> xr.Dataset:
    """The same batch through ``xr.Dataset(data_vars, coords, attrs)``."""
    params = {"speed": ds["speed"].values}
    matrix = model.parameter_matrix(params)
    reported = model.reported_variables(variables)
    raw = model.simulate(
        matrix, grid=model.grid(matrix), columns=model._columns(model.computed_variables(reported))
    )
    layout = dataset._layout(model, reported)
    data_vars, coords = dataset._pieces(layout, raw, matrix)
    public = xr.Dataset(data_vars, coords=coords, attrs=dict(ds.attrs))
    public["time"].attrs["units"] = model.ir.controls.time_units
    return public


@pytest.mark.parametrize("variables", [None, ["growth", "scale"], ["output"]])
def test_identical_to_the_public_constructor(
    model: gvcdyn.Model, variables: list[str] | None
) -> None:
    ds = model.run({"speed": [1.0, 2.0, 3.0]}, variables=variables)
    public = _public(model, ds, variables)
    xr.testing.assert_identical(ds, public)
    assert list(ds.variables) == list(public.variables)
    assert list(ds.dims) == list(public.dims)
    assert list(ds.coords) == list(public.coords)
    for name, index in public.xindexes.items():
        assert ds.xindexes[name].equals(index)
        assert ds.indexes[name].dtype == public.indexes[name].dtype
    assert ds["time"].attrs == {"units": "Month"}
    assert float(ds.sel(Region="south", run=1)["start"]) == 20.0  # the indexes work


def test_values_and_shapes(model: gvcdyn.Model) -> None:
    ds = model.run({"speed": [1.0, 2.0]})
    assert ds["pop"].dims == ("run", "time", "Region")
    assert ds["rate"].dims == ("run", "Region", "Sector")
    assert ds["scale"].dims == ("run",)
    np.testing.assert_array_equal(ds["scale"].values, [2.0, 4.0])
    assert np.isnan(ds["growth"].sel(Region="east")).all()
    np.testing.assert_array_equal(ds["start"].isel(run=1).values, [10.0, 20.0, 30.0])
    assert ds["pop"].attrs == {"units": "People", "description": "Population by region.",
                               "kind": "stock"}  # fmt: skip
    assert ds.attrs["model"] == "sub" and ds.attrs["method"] == "euler"


def test_results_do_not_share_attrs(model: gvcdyn.Model) -> None:
    """Editing one result's attrs leaves the next result (same cached layout) alone."""
    first = model.run()
    first["pop"].attrs["units"] = "changed"
    first["time"].attrs["units"] = "changed"
    first["status"].attrs["flag_values"][0] = 99
    first.attrs["model"] = "changed"
    second = model.run()
    assert second["pop"].attrs["units"] == "People"
    assert second["time"].attrs["units"] == "Month"
    assert second["status"].attrs["flag_values"][0] == 0
    assert second.attrs["model"] == "sub"


def test_model_file_is_resolved_in_the_working_directory_of_the_run(
    model: gvcdyn.Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As ``Path.resolve`` at each run (the resolved path is cached per directory)."""
    folder = model.path.parent
    monkeypatch.chdir(folder.parent)
    relative = gvcdyn.load(Path(folder.name) / model.path.name)
    assert relative.run().attrs["model_file"] == str(model.path.resolve())
    monkeypatch.chdir(folder)
    assert relative.run().attrs["model_file"] == str(relative.path.resolve())
    assert relative.run().attrs["model_file"] != str(model.path.resolve())


# ------------------------------------------------- Model.run's inputs (checked per batch)


def test_frame_inputs_of_every_kind(model: gvcdyn.Model) -> None:
    """A float frame, an int/bool frame and an object frame of numbers give one matrix."""
    expected = model.parameter_matrix({"speed": [1.0, 0.0]})
    for frame in (
        pd.DataFrame({"speed": [1.0, 0.0]}),
        pd.DataFrame({"speed": [1, 0]}),
        pd.DataFrame({"speed": [True, False]}),
        pd.DataFrame({"speed": np.array([1.0, 0.0], dtype=object)}),
    ):
        np.testing.assert_array_equal(model.parameter_matrix(frame), expected)


def test_frame_errors(model: gvcdyn.Model) -> None:
    with pytest.raises(ParameterValueError, match="'speed': values must be numbers"):
        model.parameter_matrix(pd.DataFrame({"start[north]": [1.0], "speed": ["fast"]}))
    with pytest.raises(ParameterValueError, match="'speed' = 11 is outside its range"):
        model.run(pd.DataFrame({"speed": [1.0, 11.0]}))
    with pytest.raises(ParameterValueError, match="'speed': NaN is not a valid value"):
        model.run(pd.DataFrame({"speed": [np.nan]}))


def test_first_parameter_out_of_range_is_named(model: gvcdyn.Model) -> None:
    """All columns are checked at once; the error names the first bad one given."""
    with pytest.raises(ParameterValueError, match="'start\\[south\\]' = 200"):
        model.run({"start[north]": [5.0, 50.0], "start[south]": [200.0, 1.0], "speed": -1.0})
    with pytest.raises(ParameterValueError, match="'speed' = -1"):
        model.run({"speed": -1.0, "start[south]": [200.0, 1.0]})
    ds = model.run({"speed": -1.0}, allow_out_of_range=True)
    assert float(ds["speed"][0]) == -1.0


def test_variables_lists_are_kept_apart(model: gvcdyn.Model) -> None:
    """Model.run remembers what each list of variables reports, one list per entry."""
    assert set(model.run(variables="total").data_vars) == {"total", "start", "rate", "speed",
                                                           "status"}  # fmt: skip
    assert "growth" in model.run(variables=(v for v in ["growth"])).data_vars
    assert "total" not in model.run(variables=["growth"]).data_vars
    assert "pop" in model.run().data_vars
