"""A model's declared integration method (issue 21): what runs use unless told otherwise.

Vensim keeps the Model Settings dialog's integration type in the .mdl's settings section
(the fourth number of the line ``15:...`` after ``:L<%^E!@``). A model that declares
RK4 there runs RK4 at its TIME STEP in ``Model.run``, evaluators, what-ifs, reality
checks, sensitivity studies and calibrations that name no method; naming one still
wins; a method gvcdyn has no kernel for (RK2) is refused when a run would use it, with
the choices named. Models without the section stay Euler, and so does the shipped GVC
model's .mdl (its settings file beside it names rk23: tests/test_model_settings.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from console import gvcdyn as gvcdyn_cli
from mdl_helpers import GROWTH, write_mdl, write_reference

import gvcdyn
from gvcdyn.errors import SimulationSettingsError
from gvcdyn.language.frontend import declared_integration
from gvcdyn.outcomes import Outcome
from gvcdyn.space import ParameterSpace
from gvcdyn.whatif import prepare_what_if


def _settings(code: int | None, delete: bool = False) -> str:
    """A Vensim sketch and settings tail declaring integration type ``code``."""
    tail = (
        "\\\\\\---/// Sketch information - do not modify anything except names\n"
        "V300  Do not put anything below this section - it will be ignored\n"
        "*View 1\n"
        "$192-192-192,0,Times New Roman|12||0-0-0|0-0-0|0-0-255|-1--1--1|-1--1--1|72,72,100,0\n"
        "///---\\\\\\\n"
        f":L{chr(0x7F) if delete else ''}<%^E!@\n"
        "1:Current.vdf\n"
        "9:Z:\\models\\Current\n"
    )
    if code is not None:
        tail += f"15:0,0,0,{code},0,0\n"
    return tail + "19:100,0\n27:2,\n34:0,\n4:Time\n5:x\n"


def _model_file(tmp_path, code: int | None, name: str = "growth"):
    path = write_mdl(tmp_path, GROWTH, final_time=20.0, time_step=0.5, name=name)
    path.write_text(path.read_text(encoding="utf-8") + _settings(code), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("code", "method"),
    [(None, "euler"), (0, "euler"), (2, "euler"), (1, "rk4"), (5, "rk4"), (3, "rk2"), (4, "rk2")],
)
def test_the_settings_section_declares_the_method(code: int | None, method: str) -> None:
    assert declared_integration("x = 1\n~~|\n" + _settings(code)) == method
    assert declared_integration("x = 1\n~~|\n" + _settings(code, delete=True)) == method


def test_text_without_settings_is_euler() -> None:
    assert declared_integration("x = 1\n~~|\n15:0,0,0,1,0,0\n") == "euler"  # not a setting


def test_a_model_declaring_rk4_runs_rk4_by_default(tmp_path) -> None:
    model = gvcdyn.load(_model_file(tmp_path, 1))
    assert model.integration == "rk4"
    default, rk4, euler = (model.run(method=m) for m in (None, "rk4", "euler"))
    assert default.attrs["method"] == "rk4"
    assert np.array_equal(default["x"].values, rk4["x"].values)
    assert not np.allclose(default["x"].values, euler["x"].values, rtol=1e-6)
    space = ParameterSpace(model, ["rate"])
    evaluator = model.evaluator(space, [Outcome("x", "value", at=20.0)])
    assert evaluator.method == "rk4"
    assert (
        model.evaluator(space, [Outcome("x", "value", at=20.0)], method="euler").method == "euler"
    )
    assert prepare_what_if(model.path).method == "rk4"
    assert prepare_what_if(model.path, method="euler").method == "euler"


def test_the_cli_uses_the_declared_method_unless_told(tmp_path) -> None:
    path = _model_file(tmp_path, 5)

    for extra in ([], ["--integration", "euler"]):
        name = "euler.nc" if extra else "declared.nc"
        result = gvcdyn_cli("run", path, *extra, "--out", tmp_path / name)
        assert result.returncode == 0, result.stderr
    with xr.open_dataset(tmp_path / "declared.nc") as declared:
        assert declared.attrs["method"] == "rk4"
    with xr.open_dataset(tmp_path / "euler.nc") as euler:
        assert euler.attrs["method"] == "euler"


def test_an_unsupported_declared_method_is_refused_with_the_choices(tmp_path) -> None:
    model = gvcdyn.load(_model_file(tmp_path, 3))
    assert model.integration == "rk2"
    with pytest.raises(SimulationSettingsError, match=r"RK2 .*euler, rk4"):
        model.run()
    assert model.run(method="euler")["status"].values.tolist() == [0]


def test_models_without_a_declaration_stay_euler(tmp_path) -> None:
    path = write_mdl(tmp_path, GROWTH, final_time=20.0, time_step=0.5)
    model = gvcdyn.load(path)
    assert model.integration == "euler"
    assert model.run().attrs["method"] == "euler"
    shipped = Path(__file__).resolve().parents[1] / "models" / "gvc_upgrading.mdl"
    # the shipped .mdl still declares Euler to Vensim; gvcdyn runs it at rk23, the method
    # its settings file beside it names (issue 21, tests/test_model_settings.py)
    assert gvcdyn.load(shipped).vensim_integration == "euler"


def test_check_against_a_vensim_output_runs_the_declared_method(tmp_path) -> None:
    """Vensim wrote its output with the method the model declares, so ``gvcdyn check``
    compares a run with that method (here RK4: an Euler run misses by ~1e-2)."""
    from gvcdyn.checks.replication import check_model

    path = _model_file(tmp_path, 1)
    rk4 = gvcdyn.load(path).run(None, method="rk4")
    euler = gvcdyn.load(path).run(None, method="euler")
    assert np.max(np.abs(rk4["x"].values - euler["x"].values)) > 1e-2
    reference = write_reference(tmp_path / "vensim.csv", rk4, "x")
    comparison = check_model(path, reference)
    assert comparison.passed and comparison.n_compared_columns == 1, comparison.summary()
