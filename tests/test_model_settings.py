"""A model's settings file, ``<stem>.settings.toml`` beside its ``.mdl`` (issue 21).

It declares the integration method runs use when they name none, including gvcdyn's
adaptive methods, which Vensim's settings section cannot hold. Precedence: a method
named for the computation > the settings file > the ``.mdl``'s Vensim setting > Euler.
A bad file is refused when the model loads, naming the file and the key. The method it
sets is the one results record and chunked jobs are identified by.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from console import gvcdyn as gvcdyn_cli
from mdl_helpers import GROWTH, write_mdl, write_reference

import gvcdyn
import gvcdyn.whatif as whatif
import gvcdyn.whatif.chunks as chunks
from gvcdyn.errors import CheckpointError, JobInterrupted, SimulationSettingsError
from gvcdyn.execute import Execution
from gvcdyn.model_settings import settings_path
from gvcdyn.outcomes import Outcome
from gvcdyn.space import ParameterSpace
from gvcdyn.whatif import prepare_what_if, run_in_chunks

REPO = Path(__file__).resolve().parents[1]


#: a Vensim settings tail declaring RK4 (integration type 1 on the ``15:`` line)
RK4_SETTINGS = (
    "\\\\\\---/// Sketch information - do not modify anything except names\n"
    "V300  Do not put anything below this section - it will be ignored\n"
    "*View 1\n"
    "///---\\\\\\\n"
    ":L<%^E!@\n"
    "15:0,0,0,1,0,0\n"
)


def _model(tmp_path: Path, settings: str | None = None, *, declares_rk4: bool = False) -> Path:
    path = write_mdl(tmp_path, GROWTH, final_time=20.0, time_step=0.5, name="growth")
    if declares_rk4:
        path.write_text(path.read_text(encoding="utf-8") + RK4_SETTINGS, encoding="utf-8")
    if settings is not None:
        (tmp_path / "growth.settings.toml").write_text(settings, encoding="utf-8")
    return path


def test_the_settings_file_is_found_beside_the_model(tmp_path: Path) -> None:
    assert settings_path(tmp_path / "m.mdl") == tmp_path / "m.settings.toml"
    assert settings_path("models/gvc_upgrading.mdl") == Path("models/gvc_upgrading.settings.toml")


def test_the_settings_file_sets_the_method_runs_use(tmp_path: Path) -> None:
    model = gvcdyn.load(_model(tmp_path, 'integration = "rk4"\n'))
    assert model.integration == "rk4" and model.vensim_integration == "euler"
    assert model.settings.path == tmp_path / "growth.settings.toml"
    default, rk4, euler = (model.run(method=m) for m in (None, "rk4", "euler"))
    assert default.attrs["method"] == "rk4"
    assert np.array_equal(default["x"].values, rk4["x"].values)
    assert not np.allclose(default["x"].values, euler["x"].values, rtol=1e-6)
    space = ParameterSpace(model, ["rate"])
    assert model.evaluator(space, [Outcome("x", "value", at=20.0)]).method == "rk4"
    assert prepare_what_if(model.path).method == "rk4"
    # an unpickled model (a dask worker's) keeps the settings it was loaded with
    assert pickle.loads(pickle.dumps(model)).integration == "rk4"


def test_an_adaptive_method_with_its_tolerance(tmp_path: Path) -> None:
    model = gvcdyn.load(_model(tmp_path, '# the basis\nintegration = "rk23:1e-6"\n'))
    assert model.integration == "rk23:1e-6"
    ds = model.run()
    assert ds.attrs["method"] == "rk23:1e-6"
    assert "TOLERANCE = 1e-06" in model.kernel_source()


def test_a_named_method_beats_the_file_which_beats_the_mdl(tmp_path: Path) -> None:
    model = gvcdyn.load(_model(tmp_path, 'integration = "euler"\n', declares_rk4=True))
    assert model.vensim_integration == "rk4"  # what the .mdl says, still known
    assert model.integration == "euler"  # the settings file wins over the .mdl
    assert model.run().attrs["method"] == "euler"
    assert model.run(method="rk4").attrs["method"] == "rk4"  # a named method wins over both
    assert prepare_what_if(model.path, method="rk23").method == "rk23"
    assert model.integration_method(vensim=True) == "rk4"
    # a file without the key leaves the .mdl's
    (tmp_path / "growth.settings.toml").write_text("# nothing set\n", encoding="utf-8")
    assert gvcdyn.load(model.path).integration == "rk4"


def test_the_cli_uses_the_file_unless_told(tmp_path: Path) -> None:
    path = _model(tmp_path, 'integration = "rk23"\n', declares_rk4=True)
    for extra, method in (([], "rk23"), (["--integration", "euler"], "euler")):
        out = tmp_path / f"{method}.nc"
        result = gvcdyn_cli("run", path, *extra, "--out", out)
        assert result.returncode == 0, result.stderr
        with xr.open_dataset(out) as ds:
            assert ds.attrs["method"] == method


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("integration = rk23\n", r"not valid TOML"),
        ('integration = "rk23"\nstep = 0.25\n', r"unknown key 'step' .*'integration'"),
        ('integration = "rk3"\n', r"'integration': unknown integration method 'rk3'.*rk23"),
        ('integration = "rk23:2"\n', r"'integration': .*tolerance after ':'"),
        ("integration = 4\n", r"'integration' must be a method in quotes"),
    ],
    ids=["malformed", "unknown-key", "unknown-method", "bad-tolerance", "not-a-string"],
)
def test_a_bad_settings_file_is_refused_naming_it(tmp_path: Path, text: str, expected: str) -> None:
    path = _model(tmp_path, text)
    settings = tmp_path / "growth.settings.toml"
    with pytest.raises(SimulationSettingsError, match=expected) as raised:
        gvcdyn.load(path)
    assert str(settings) in str(raised.value)
    assert raised.value.file == str(settings)
    result = gvcdyn_cli("run", path, "--vars", "x")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and str(settings) in lines[0], lines[0]


def test_a_settings_method_the_model_cannot_run_names_the_file(tmp_path: Path) -> None:
    """rk23 from the settings file refused for a model with random functions: the error
    says where rk23 came from (the user named no method); a named method still runs."""
    path = write_mdl(
        tmp_path, GROWTH.replace("rate = 0.8", "rate = 0.8 + RANDOM UNIFORM(-0.1, 0.1, 3)"),
        final_time=20.0, time_step=0.5, name="growth",
    )  # fmt: skip
    settings = tmp_path / "growth.settings.toml"
    settings.write_text('integration = "rk23"\n', encoding="utf-8")
    model = gvcdyn.load(path)
    with pytest.raises(SimulationSettingsError, match="random functions") as raised:
        model.run()
    assert raised.value.file == str(settings)  # before: no file (nothing said why rk23)
    assert model.run(method="euler").attrs["method"] == "euler"
    result = gvcdyn_cli("run", path, "--vars", "x")
    assert result.returncode == 2 and str(settings) in result.stderr, result.stderr


def test_vensim_s_own_method_is_what_a_comparison_with_its_output_runs(tmp_path: Path) -> None:
    """Vensim wrote its output with the .mdl's method (RK4 here), whatever the settings
    file beside it says: ``check_model`` compares a run of that method."""
    from gvcdyn.checks.replication import check_model

    path = _model(tmp_path, 'integration = "euler"\n', declares_rk4=True)
    rk4 = gvcdyn.load(path).run(None, method="rk4")
    reference = write_reference(tmp_path / "vensim.csv", rk4, "x")
    comparison = check_model(path, reference)
    assert comparison.passed and comparison.n_compared_columns == 1, comparison.summary()


class _StopsOnCall(whatif.SweepRuns):
    """The sweep's chunk function, interrupted (as by Ctrl-C) on its second call."""

    calls = 0

    def __call__(self, X):
        type(self).calls += 1
        if type(self).calls == 2:
            raise KeyboardInterrupt
        return super().__call__(X)


def test_a_resume_after_the_file_changed_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The method a what-if ran with is the settings file's when it names none, and is part
    of the job's identity: results of two methods are never mixed in one file."""
    path = _model(tmp_path, 'integration = "rk23"\n')
    sweep = ["rate=0.2:1.8:8"]
    request = prepare_what_if(path, sweeps=sweep)
    assert request.method == "rk23"
    assert chunks.SweepRuns(request).identity()["method"] == "rk23"
    output = tmp_path / "sweep.nc"
    monkeypatch.setattr(chunks, "SweepRuns", _StopsOnCall)
    with pytest.raises(JobInterrupted):
        run_in_chunks(request, Execution(output=output), chunk_size=2)
    settings = tmp_path / "growth.settings.toml"
    settings.write_text('integration = "rk4"\n', encoding="utf-8")
    changed = prepare_what_if(path, sweeps=sweep)
    assert changed.method == "rk4"
    with pytest.raises(CheckpointError, match="configuration changed"):
        run_in_chunks(changed, Execution(output=output, resume=True), chunk_size=2)


def test_the_gvc_model_runs_rk23_by_default() -> None:
    """The shipped model's settings file: rk23 at its default tolerance (basis in the
    file's comments), while its .mdl stays Euler as Vensim reads it."""
    model = gvcdyn.load(REPO / "models" / "gvc_upgrading.mdl")
    assert model.integration == "rk23"
    assert model.vensim_integration == "euler"
    assert prepare_what_if(model).method == "rk23"
    text = (REPO / "models" / "gvc_upgrading.settings.toml").read_text(encoding="utf-8")
    assert "integration_accuracy.py" in text  # the basis: the command that measured it
