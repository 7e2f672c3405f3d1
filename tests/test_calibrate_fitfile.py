"""``gvcdyn.calibrate.fitfile``: a fit file read back into the calibration problem it was
made on (``fit_problem``, ``fit_case_table``), the one reader of ``gvcdyn predict`` and
the studies that judge a fit.

Why: a reader that rebuilds another table than the fitted one (revisions left out, or
applied to new cases they do not name) moves every prediction and every study number
without an error; one that takes a changed case file or model judges the fit on inputs
it was not made on. Each refusal must name the file and say what to do.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gvcdyn.calibrate.cases import file_sha256, read_case_csv
from gvcdyn.calibrate.config import load_config
from gvcdyn.calibrate.fitfile import fit_case_table, fit_problem, recorded_file
from gvcdyn.calibrate.predict import predict
from gvcdyn.calibrate.problem import CalibrationProblem
from gvcdyn.errors import CalibrationConfigError, GvcdynError
from gvcdyn.model import load

DATA = Path(__file__).parent / "data" / "calibration"
#: One sourced revision of the toy table: TOY_00's support, coded low, read as high.
REVISIONS = "id,column,coded,revised,source,quote\nTOY_00,support,low,high,a study,it says so\n"


@pytest.fixture
def made(tmp_path: Path) -> tuple[Path, Path]:
    """A fit file of the toy config on the revised toy table, with the attributes
    ``gvcdyn calibrate`` records (the revisions by path and SHA-256 only, as an older fit
    has them), and the folder of its config, case, revisions and model files."""
    folder = tmp_path / "calibration"
    folder.mkdir()
    for name in ("toy_cases.csv", "toy_levers.toml", "toy_upgrading.mdl"):
        shutil.copy(DATA / name, folder / name)
    (folder / "revisions.csv").write_text(REVISIONS)
    text = 'revisions = "revisions.csv"\n' + (DATA / "toy_config.toml").read_text()
    (folder / "toy_config.toml").write_text(text)
    config = load_config(folder / "toy_config.toml")
    model = load(folder / "toy_upgrading.mdl")
    attrs = {
        "config_text": text,
        "config_path": str(folder / "toy_config.toml"),
        "mapping_text": (folder / "toy_levers.toml").read_text(),
        "mapping_path": str(folder / "toy_levers.toml"),
        "model_path": str(folder / "toy_upgrading.mdl"),
        "model_sha256": model.ir.source_hash,
        "case_file": str(config.cases),
        "case_file_sha256": file_sha256(config.cases),
        "case_revisions": str(config.revisions),
        "case_revisions_sha256": file_sha256(config.revisions),
        "method": "euler",
        "objective": 1.0,
    }
    names = ["Learning Rate", "Innovation Rate"]
    problem = CalibrationProblem.from_config(config, model)
    fit = xr.Dataset(
        {
            "estimate": ("parameter", [0.3, 0.2]),
            "cutpoint": (("outcome", "cut"), [[-0.5, 0.5], [-0.5, 0.5]]),
            # the cases the fit read, as ``gvcdyn calibrate`` records them
            "observed": (("case", "outcome"), problem.levels),
            "weight": ("case", problem.weights),
            "horizon": ("case", problem.cases.horizon),
            "lever_value": (("case", "lever"), problem.case_levers),
        },
        {
            "parameter": names,
            "case": list(problem.cases.ids),
            "lever": list(problem.cases.levers),
        },
        attrs,
    )
    fit.to_netcdf(tmp_path / "fit.nc")
    return tmp_path / "fit.nc", folder


def test_the_fits_own_problem_is_the_calibrations(made: tuple[Path, Path]) -> None:
    """With no case file given, the problem is the one the config calibrates (its revised
    table, its mapping and weights), at the fit's method."""
    fit_path, folder = made
    rebuilt = fit_problem(fit_path)
    reference = CalibrationProblem.from_config(load_config(folder / "toy_config.toml"))
    assert rebuilt.table.revisions == str(folder / "revisions.csv")
    assert rebuilt.table.frame.set_index("id").loc["TOY_00", "support"] == "high"
    assert list(rebuilt.cases.ids) == list(reference.cases.ids)
    np.testing.assert_array_equal(rebuilt.problem.levels, reference.levels)
    np.testing.assert_array_equal(rebuilt.problem.weights, reference.weights)
    np.testing.assert_array_equal(rebuilt.problem.case_levers, reference.case_levers)
    assert rebuilt.config.method == "euler" and rebuilt.model_current


def test_predict_rebuilds_the_case_table_as_the_fit_reads_it(
    made: tuple[Path, Path], tmp_path: Path
) -> None:
    """The fit's own case file gets its revisions (TOY_00's support is high); a table of
    new cases (another SHA-256) is read as it is, unless the caller says it is the fit's
    table (``revise=True``); predict reports which."""
    fit_path, folder = made
    cases = folder / "toy_cases.csv"
    fit = xr.load_dataset(fit_path)
    own = fit_case_table(fit, cases)
    assert own.revisions and own.frame.set_index("id").loc["TOY_00", "support"] == "high"
    new = tmp_path / "new_cases.csv"
    new.write_text("".join(cases.read_text().splitlines(keepends=True)[:6]))
    plain = fit_case_table(fit, new)
    assert plain.revisions == ""
    assert plain.frame.equals(read_case_csv(new))
    assert fit_case_table(fit, new, revise=True).frame.loc[0, "support"] == "high"
    assert predict(fit_path, cases).meta["case_revisions"] == str(folder / "revisions.csv")
    assert predict(fit_path, new).meta["case_revisions"] == ""
    own_rows = _probabilities(predict(fit_path, cases).table)
    new_rows = _probabilities(predict(fit_path, new).table)
    not_revised = ["TOY_01", "TOY_02", "TOY_03", "TOY_04"]  # the same numbers
    assert np.allclose(own_rows.loc[not_revised], new_rows.loc[not_revised])
    assert not np.allclose(own_rows.loc["TOY_00"], new_rows.loc["TOY_00"])


def _probabilities(table: pd.DataFrame) -> pd.DataFrame:
    """The probability columns of a prediction table (``p_<level>``, ``p<level>_<column>``)
    by case id."""
    return table.set_index("id").filter(regex=r"^p(\d|_)").astype(float)


def test_a_changed_case_file_is_refused_naming_it(made: tuple[Path, Path]) -> None:
    fit_path, folder = made
    cases = folder / "toy_cases.csv"
    cases.write_text(cases.read_text() + "TOY_99,1990,2000,low,none,,0,stay,high\n")
    with pytest.raises(CalibrationConfigError) as error:
        fit_problem(fit_path)
    said = str(error.value)
    assert f"case file {cases} changed since the fit {fit_path}" in said
    assert "restore the file the fit was made on, or refit" in said


def test_a_changed_or_missing_model_is_refused_naming_it(made: tuple[Path, Path]) -> None:
    """A changed model is refused unless the caller takes it (a study that runs no model);
    a missing one is named with what to do."""
    fit_path, folder = made
    model = folder / "toy_upgrading.mdl"
    model.write_text(model.read_text().replace("Erosion Rate = 0.05", "Erosion Rate = 0.06"))
    with pytest.raises(CalibrationConfigError, match="changed since the fit") as error:
        fit_problem(fit_path)
    assert str(model) in str(error.value)
    assert not fit_problem(fit_path, changed_model=True).model_current
    model.unlink()
    with pytest.raises(CalibrationConfigError) as error:
        fit_problem(fit_path)
    assert f"the fit's model {model} does not exist" in str(error.value)
    assert "checkout the fit was made in" in str(error.value)


def test_a_file_that_is_no_fit_is_refused_naming_it(tmp_path: Path) -> None:
    runs = tmp_path / "runs.nc"
    xr.Dataset({"x": ("time", [0.0, 1.0])}).to_netcdf(runs)
    with pytest.raises(CalibrationConfigError, match="is not a gvcdyn calibration fit") as error:
        fit_problem(runs)
    assert str(runs) in str(error.value)
    with pytest.raises(CalibrationConfigError, match="not found"):
        fit_problem(tmp_path / "none.nc")


def test_a_fit_made_elsewhere_reads_the_repositorys_files_of_its_sha(
    made: tuple[Path, Path], tmp_path: Path
) -> None:
    """Recorded files that are gone are taken from ``repo``'s folder of the same name
    only when their SHA-256 is the recorded one: the revisions file is found as the case
    file and the model are."""
    fit_path, folder = made
    repo = tmp_path / "repo"
    shutil.move(folder, repo / "calibration")
    rebuilt = fit_problem(fit_path, repo=repo)
    assert rebuilt.table.path == repo / "calibration" / "toy_cases.csv"
    assert rebuilt.table.revisions == str(repo / "calibration" / "revisions.csv")
    assert rebuilt.table.frame.set_index("id").loc["TOY_00", "support"] == "high"
    revisions = repo / "calibration" / "revisions.csv"
    revisions.write_text(revisions.read_text().replace("it says so", "it says"))
    with pytest.raises(CalibrationConfigError, match="SHA-256 differs") as error:
        fit_problem(fit_path, repo=repo)
    assert str(revisions) in str(error.value)
    with pytest.raises(CalibrationConfigError, match="does not exist, nor does"):
        recorded_file(folder / "gone.csv", "0" * 64, "case file", repo)


def test_the_problem_leaves_the_checks_out_when_asked(made: tuple[Path, Path]) -> None:
    """A study that runs no model does not need the config's reality checks, which may
    be gone; fit_problem reads them by default."""
    fit_path, _ = made
    fit = xr.load_dataset(fit_path)
    fit.attrs["config_text"] = 'checks = "no_such.checks.toml"\n' + fit.attrs["config_text"]
    rebuilt = fit_problem(fit, checks=False)
    assert rebuilt.config.checks is None and rebuilt.problem.checks is None
    with pytest.raises(GvcdynError, match=r"no_such\.checks\.toml"):
        fit_problem(fit)


def test_predict_does_not_read_the_reality_checks(made: tuple[Path, Path], tmp_path: Path) -> None:
    """predict judges no candidate by the config's reality checks, so it neither reads
    nor needs their file (reading it was half of a predict call): a fit whose checks file
    is gone predicts as one without checks."""
    fit_path, folder = made
    fit = xr.load_dataset(fit_path)
    plain = predict(fit_path, folder / "toy_cases.csv").table
    fit.attrs["config_text"] = 'checks = "no_such.checks.toml"\n' + fit.attrs["config_text"]
    gone = tmp_path / "fit_checks_gone.nc"
    fit.to_netcdf(gone)
    with pytest.raises(GvcdynError, match=r"no_such\.checks\.toml"):
        fit_problem(gone)
    pd.testing.assert_frame_equal(predict(gone, folder / "toy_cases.csv").table, plain)


def test_a_fit_made_elsewhere_reads_the_repositorys_checks_file_of_its_sha(
    made: tuple[Path, Path], tmp_path: Path
) -> None:
    """The config's reality-check file is looked up as the model and the case file are: a
    fit whose checkout is gone reads ``repo``'s checks file of the recorded SHA-256 (it
    was refused with 'reality-check file not found' naming the gone path), and one of
    another SHA-256 is refused naming it and what to do."""
    fit_path, folder = made
    checks = folder / "toy.checks.toml"
    checks.write_text(
        '[[check]]\nname = "skill stays below 2"\nexpect = "bound"\n'
        "value = 'run[\"Skill\"] @ 10'\nmax = 2.0\n"
    )
    fit = xr.load_dataset(fit_path)
    fit.attrs["config_text"] = 'checks = "toy.checks.toml"\n' + fit.attrs["config_text"]
    fit.attrs["checks_sha256"] = file_sha256(checks)
    here = fit_problem(fit)
    assert here.config.checks == checks and here.problem.checks is not None
    repo = tmp_path / "repo"
    shutil.move(folder, repo / "calibration")
    rebuilt = fit_problem(fit, repo=repo)
    assert rebuilt.config.checks == repo / "calibration" / "toy.checks.toml"
    assert rebuilt.problem.checks is not None
    moved = repo / "calibration" / "toy.checks.toml"
    moved.write_text(moved.read_text().replace("max = 2.0", "max = 3.0"))
    with pytest.raises(CalibrationConfigError, match="SHA-256 differs") as error:
        fit_problem(fit, repo=repo)
    assert f"the fit's checks file {checks} does not exist" in str(error.value)


def _edit(path: Path, case: str, column: str, value: str, out: Path | None = None) -> Path:
    """``path`` (a case CSV) with ``case``'s ``column`` set to ``value``, written to
    ``out`` (``path`` itself by default)."""
    frame = read_case_csv(path)
    frame.loc[frame["id"] == case, column] = value
    out = path if out is None else out
    frame.to_csv(out, index=False)
    return out


def _gain_a_column(path: Path, out: Path | None = None) -> Path:
    """``path`` with a column the mapping does not read added (other bytes, the same
    values the fit reads), as calibration/gvc_cases.csv gained two in 10491cc."""
    frame = read_case_csv(path)
    frame["later_note"] = "a note"
    out = path if out is None else out
    frame.to_csv(out, index=False)
    return out


def test_a_case_file_that_gained_a_column_is_the_fits_table_with_a_note(
    made: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Rule 1: a case file whose bytes changed but whose every value the fit read is the
    same (a column added, a weight code changed to another of the same weight) is the
    fit's table, revised, with one note naming it (it was refused on the SHA-256)."""
    fit_path, folder = made
    cases = _gain_a_column(folder / "toy_cases.csv")
    _edit(cases, "TOY_01", "confidence", "high")  # medium and high both weigh 1.0
    rebuilt = fit_problem(fit_path)
    assert rebuilt.table.revisions == str(folder / "revisions.csv")
    assert rebuilt.table.frame.set_index("id").loc["TOY_00", "support"] == "high"
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1, notes
    assert f"case file {cases} changed since the fit, but every value the fit read" in notes[0]
    assert str(fit_path) in notes[0] and rebuilt.table.note in notes[0]


@pytest.mark.parametrize(
    ("case", "column", "value", "said"),
    [
        ("TOY_03", "trigger_year", "1978", "case TOY_03: its Shock Year is 5 in the fit, 6 now"),
        ("TOY_02", "outcome_class", "stay", "its outcome_class is 'rise' in the fit, 'stay' now"),
        ("TOY_03", "confidence", "high", "case TOY_03: its weight is 0.5 in the fit, 1 now"),
        ("TOY_04", "period_end", "2000", "case TOY_04: its horizon is 18 in the fit, 19 now"),
        ("TOY_01", "support", "unknown", "case TOY_01 of the fit is not mapped now"),
    ],
)
def test_a_case_file_whose_values_changed_is_refused_naming_the_case_and_value(
    made: tuple[Path, Path], case: str, column: str, value: str, said: str
) -> None:
    """Rule 1: any value the fit read that differs (a lever, an outcome, a weight, a
    horizon, a case gone) refuses the table, naming the file, the first case and value
    and what to do, even when the file also gained a column."""
    fit_path, folder = made
    cases = _gain_a_column(folder / "toy_cases.csv")
    _edit(cases, case, column, value)
    with pytest.raises(CalibrationConfigError) as error:
        fit_problem(fit_path)
    message = str(error.value)
    assert f"case file {cases} changed since the fit {fit_path}" in message
    assert said in message
    assert "restore the file the fit was made on, or refit" in message


def _studies_table(
    made: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> tuple[object, xr.Dataset, Path]:
    """studies/v3_fit_measures (as ``fm``) reading a repository whose case table is the
    fit's with a column added, the fit, and that table."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "studies"))
    import v3_fit_measures as fm

    fit_path, folder = made
    repo = fit_path.parent / "repo"
    (repo / "calibration").mkdir(parents=True)
    table = _gain_a_column(folder / "toy_cases.csv", repo / "calibration" / "gvc_cases.csv")
    monkeypatch.setattr(fm, "REPO", repo)
    monkeypatch.setattr(fm.fv, "CASES", table)
    return fm, xr.load_dataset(fit_path), table


def test_the_studies_read_the_repositorys_table_under_the_same_check(
    made: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rule 1 in studies/v3_fit_measures.fit_cases: the repository's table is taken with
    a note when only its bytes changed, and refused naming the case when a value the fit
    read changed (it was taken with no check)."""
    fm, fit, table = _studies_table(made, monkeypatch)
    frame = fm.fit_cases(fit)
    assert frame.set_index("id").loc["TOY_00", "support"] == "high"
    assert f"case file {table} changed since the fit" in capsys.readouterr().err
    _edit(table, "TOY_03", "trigger_year", "1978")
    with pytest.raises(CalibrationConfigError, match="case TOY_03: its Shock Year") as error:
        fm.fit_cases(fit)
    assert str(table) in str(error.value)


def test_the_studies_check_a_changed_table_with_their_model_only_when_it_is_the_fits(
    made: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """studies/v3_fit_measures.fit_cases given the study's model: on a changed table its
    check reads that model when its SHA-256 is the fit's (the fit's recorded model is not
    loaded a second time), and loads the recorded one for any other model; the table and
    the note are the same either way."""
    import gvcdyn.model

    fm, fit, _ = _studies_table(made, monkeypatch)
    folder = made[1]
    same = load(folder / "toy_upgrading.mdl")
    other_path = folder / "other.mdl"
    other_path.write_text((folder / "toy_upgrading.mdl").read_text() + "\n")
    other = load(other_path)
    assert other.ir.source_hash != fit.attrs["model_sha256"] == same.ir.source_hash
    loaded: list[Path] = []
    real = gvcdyn.model.load
    monkeypatch.setattr(
        gvcdyn.model, "load", lambda path, *a, **k: loaded.append(Path(path)) or real(path, *a, **k)
    )
    frames = {}
    for name, model in (("none", None), ("same", same), ("other", other)):
        loaded.clear()
        frames[name] = fm.fit_cases(fit, model)
        assert loaded == ([] if name == "same" else [folder / "toy_upgrading.mdl"]), name
        assert "every value the fit read is the same" in capsys.readouterr().err
    pd.testing.assert_frame_equal(frames["same"], frames["none"])
    pd.testing.assert_frame_equal(frames["other"], frames["none"])


def test_predict_revises_the_fits_own_table_whatever_its_bytes(
    made: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rule 2: the fit's table with a column added (another SHA-256, the same values) is
    predicted with the fit's revisions, as the file itself is (they were dropped); a
    table of new cases keeps them out, with a note naming the revisions file when they
    revise some of its ids that the fit has, and none otherwise."""
    fit_path, folder = made
    cases = folder / "toy_cases.csv"
    grown = _gain_a_column(cases, tmp_path / "grown.csv")
    own, same = predict(fit_path, cases), predict(fit_path, grown)
    assert same.meta["case_revisions"] == str(folder / "revisions.csv")
    pd.testing.assert_frame_equal(_probabilities(own.table), _probabilities(same.table))
    capsys.readouterr()
    new = tmp_path / "new_cases.csv"
    new.write_text("".join(cases.read_text().splitlines(keepends=True)[:6]))
    assert predict(fit_path, new).meta["case_revisions"] == ""
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and str(folder / "revisions.csv") in notes[0], notes
    assert str(new) in notes[0] and "TOY_00" in notes[0]
    lines = cases.read_text().splitlines(keepends=True)
    other = tmp_path / "other_cases.csv"
    other.write_text("".join([lines[0], *lines[2:6]]))  # TOY_00, the revised case, left out
    predict(fit_path, other)
    assert "note:" not in capsys.readouterr().err


@pytest.mark.parametrize("given", [False, True])
def test_a_changed_case_file_is_mapped_once_for_its_check_and_the_problem(
    made: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: bool
) -> None:
    """The fit's table with a column added, as the fit's own (``cases`` None) or given
    (``predict``'s path): the cases its check mapped are the problem's, not mapped again
    (1.1 s of CPU on 10,000 rows of v3's mapping), and the problem is the one of the fit's
    own file."""
    import gvcdyn.calibrate.fitfile as fitfile

    fit_path, folder = made
    cases = folder / "toy_cases.csv"
    reference = fit_problem(fit_path)
    grown = _gain_a_column(cases, None if not given else tmp_path / "grown.csv")
    calls = []
    mapping = fitfile.apply_mapping
    monkeypatch.setattr(
        fitfile, "apply_mapping", lambda *a, **k: calls.append(1) or mapping(*a, **k)
    )
    rebuilt = fit_problem(fit_path, grown if given else None)
    assert len(calls) == 1
    assert rebuilt.table.note and rebuilt.table.revisions == reference.table.revisions
    assert rebuilt.cases.ids == reference.cases.ids and rebuilt.cases.invalid == ()
    np.testing.assert_array_equal(rebuilt.problem.case_levers, reference.problem.case_levers)
    np.testing.assert_array_equal(rebuilt.problem.levels, reference.problem.levels)
    np.testing.assert_array_equal(rebuilt.problem.weights, reference.problem.weights)


def test_a_changed_case_file_with_a_bad_new_row_is_refused_as_strict_mapping_refuses_it(
    made: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad row the fit never had (its values the fit's, checked not strictly) is still
    the strict problem's error, naming it; ``strict=False`` lists it and keeps the rest."""
    from gvcdyn.errors import CaseDataError

    fit_path, folder = made
    cases = _gain_a_column(folder / "toy_cases.csv")
    cases.write_text(cases.read_text() + "TOY_99,1990,2000,bogus,none,,0,stay,high,a note\n")
    with pytest.raises(CaseDataError, match=r"1 bad row\(s\): .*TOY_99.*'bogus' has no"):
        fit_problem(fit_path)
    assert "every value the fit read is the same" in capsys.readouterr().err
    loose = fit_problem(fit_path, strict=False)
    assert [issue.case_id for issue in loose.cases.invalid] == ["TOY_99"]
    assert "TOY_99" not in loose.cases.ids and len(loose.cases.ids) == 40


def test_a_recorded_file_is_taken_only_of_its_sha_else_the_repositorys(
    made: tuple[Path, Path], tmp_path: Path
) -> None:
    """Rule 3: a recorded file that exists but changed gives way to ``repo``'s of the
    recorded SHA-256 (the checkout moved on, the repository holds the fit's file); with
    neither of it, the existing one is taken and refused or checked as before."""
    fit_path, folder = made
    repo = tmp_path / "repo"
    shutil.copytree(folder, repo / "calibration")
    model = folder / "toy_upgrading.mdl"
    model.write_text(model.read_text().replace("Erosion Rate = 0.05", "Erosion Rate = 0.06"))
    _edit(folder / "toy_cases.csv", "TOY_03", "trigger_year", "1978")
    sha = file_sha256(repo / "calibration" / "toy_upgrading.mdl")
    assert recorded_file(model, sha, "model", repo) == repo / "calibration" / model.name
    rebuilt = fit_problem(fit_path, repo=repo)
    assert rebuilt.model_current and rebuilt.table.path == repo / "calibration" / "toy_cases.csv"
    assert recorded_file(model, sha, "model") == model  # no repo: the existing one
    with pytest.raises(CalibrationConfigError, match="changed since the fit"):
        fit_problem(fit_path)


def test_a_changed_model_given_is_named_as_loaded(made: tuple[Path, Path], tmp_path: Path) -> None:
    """Rule 4: the refusal of a model of another SHA-256 names the model loaded, not
    only the path the fit recorded."""
    fit_path, folder = made
    other = tmp_path / "other.mdl"
    text = (folder / "toy_upgrading.mdl").read_text()
    other.write_text(text.replace("Erosion Rate = 0.05", "Erosion Rate = 0.06"))
    with pytest.raises(CalibrationConfigError) as error:
        fit_problem(fit_path, model=load(other))
    message = str(error.value)
    assert f"the model {other} is not the one fit {fit_path} was made with" in message
    assert str(folder / "toy_upgrading.mdl") in message


@pytest.mark.parametrize(
    ("attribute", "text", "what"),
    [
        ("config_text", "cases = [", "calibration config"),
        ("mapping_text", "[case\nid = 1", "case mapping"),
        ("mapping_text", None, "case mapping"),
        ("mapping_text", 'model = "toy_upgrading.mdl"\nno_such_option = 1\n', "case mapping"),
    ],
)
def test_a_stored_config_or_mapping_that_cannot_be_read_names_the_fit(
    made: tuple[Path, Path], tmp_path: Path, attribute: str, text: str | None, what: str
) -> None:
    """Rule 4: a fit whose stored config or mapping cannot be parsed (TOML, a missing
    attribute, an unknown option) is a CalibrationConfigError naming the fit file and what
    to do, not a TOML error or a KeyError."""
    fit_path, _ = made
    fit = xr.load_dataset(fit_path)
    if text is None:
        del fit.attrs[attribute]
    else:
        fit.attrs[attribute] = text
    damaged = tmp_path / "damaged.nc"
    fit.to_netcdf(damaged)
    with pytest.raises(CalibrationConfigError) as error:
        fit_problem(damaged)
    message = str(error.value)
    assert f"fit {damaged}: the {what} stored in it cannot be read" in message
    assert message.endswith("refit")
