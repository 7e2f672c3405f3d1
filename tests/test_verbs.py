"""The public verbs take plain data and give the command line's numbers (issue 18):
``gvcdyn.what_if`` is ``gvcdyn run``, ``gvcdyn.calibrate`` is ``gvcdyn calibrate`` and
``gvcdyn.sensitivity`` is ``gvcdyn sensitivity``, on small models."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from mdl_helpers import SIR, write_mdl
from toy_calibration import DATA

import gvcdyn
from gvcdyn.cli import run_cli
from gvcdyn.errors import SpecSyntaxError, UnknownParameterError


@pytest.fixture(scope="module")
def sir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_mdl(tmp_path_factory.mktemp("verbs"), SIR, final_time=20)


def _same(a: xr.Dataset, b: xr.Dataset, names: list[str]) -> None:
    for name in names:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


def test_what_if_gives_gvcdyn_run(sir: Path, tmp_path: Path) -> None:
    scenario = tmp_path / "low.toml"
    scenario.write_text('description = "low"\n[parameters]\ngamma = 0.05\n')
    out = tmp_path / "run.nc"
    argv = ["run", str(sir), "-s", str(scenario), "--set", "beta=0.6"]
    assert run_cli([*argv, "--sweep", "population=500:1500:3", "--out", str(out)]) == 0
    ds = gvcdyn.what_if(
        sir, [scenario], sets={"beta": 0.6}, sweeps={"population": [500.0, 1000.0, 1500.0]}
    )
    with xr.open_dataset(out) as cli:
        _same(ds, cli.load(), ["S", "I", "infection", "lever_value", "status"])
        assert list(ds["scenario"].values) == list(cli["scenario"].values)


def test_what_if_takes_a_model_and_mappings(sir: Path) -> None:
    model = gvcdyn.load(sir)
    ds = gvcdyn.what_if(model, [{"gamma": 0.2}, {"gamma": 0.3}], sets={"beta": 0.6})
    assert list(ds["scenario"].values) == ["scenario 1", "scenario 2"]
    expected = model.run({"gamma": [0.2, 0.3], "beta": [0.6, 0.6]})
    _same(ds, expected, ["S", "I"])
    with pytest.raises(UnknownParameterError, match=r"sets\['betta'\]: key 'betta'"):
        gvcdyn.what_if(model, sets={"betta": 0.6})
    with pytest.raises(SpecSyntaxError, match=r"sweeps\['beta'\]: give a sequence"):
        gvcdyn.what_if(model, sweeps={"beta": [[0.1, 0.2]]})


#: the toy calibration with one short search and no profiles or bootstrap
QUICK = {"seeds": [1], "popsize": 5, "maxiter": 5}


def test_calibrate_gives_gvcdyn_calibrate(tmp_path: Path) -> None:
    doc = tomllib.loads((DATA / "toy_config.toml").read_text())
    doc["cases"] = str(DATA / "toy_cases.csv")
    doc["mapping"] = str(DATA / "toy_levers.toml")
    doc["fit"].update(QUICK)
    doc["uncertainty"].update(profile_points=0, bootstrap=0)
    config = tmp_path / "quick.toml"
    config.write_text(_toml(doc))
    out = tmp_path / "fit.nc"
    assert run_cli(["calibrate", str(config), "--out", str(out)]) == 0
    fit = gvcdyn.calibrate(doc)
    with xr.open_dataset(out) as cli:
        _same(fit, cli.load(), ["estimate"])
        assert fit.attrs["objective"] == cli.attrs["objective"]
        assert fit.attrs["n_runs"] == cli.attrs["n_runs"]
    again = gvcdyn.calibrate(config)  # a file as well as a mapping
    np.testing.assert_array_equal(again["estimate"].values, fit["estimate"].values)


def test_sensitivity_gives_gvcdyn_sensitivity(sir: Path, tmp_path: Path) -> None:
    out = tmp_path / "sens.nc"
    argv = ["sensitivity", str(sir), "--vars", "I", "--params", "beta,gamma", "--n", "8"]
    assert run_cli([*argv, "--seed", "3", "--out", str(out)]) == 0
    ds = gvcdyn.sensitivity(sir, ["beta", "gamma"], ["I"], n=8, seed=3)
    with xr.open_dataset(out) as cli:
        _same(ds, cli.load(), ["S1", "ST", "S1_conf", "ST_conf"])
    morris = gvcdyn.sensitivity(sir, ["beta", "gamma"], ["I"], method="morris", n=4, seed=3)
    assert "mu_star" in morris


def _toml(doc: dict) -> str:
    """The few TOML shapes of the toy config (tables of scalars, lists and inline
    tables, an array of outcome tables)."""

    def value(v: object) -> str:
        if isinstance(v, dict):
            return "{ " + ", ".join(f'"{k}" = {value(x)}' for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, bool):
            return "true" if v else "false"
        return f'"{v}"' if isinstance(v, str) else repr(v)

    lines = [f"{k} = {value(v)}" for k, v in doc.items() if not isinstance(v, dict | list)]
    for key, table in doc.items():
        if isinstance(table, dict):
            lines += [f"[{key}]", *(f'"{k}" = {value(v)}' for k, v in table.items())]
        elif isinstance(table, list):
            for row in table:
                lines += [f"[[{key}]]", *(f'"{k}" = {value(v)}' for k, v in row.items())]
    return "\n".join(lines) + "\n"
