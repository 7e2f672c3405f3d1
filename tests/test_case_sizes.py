"""Hostile case tables (issue 23): a period ending in the year 1e7 or 1e308, a table of
many rows, every row unmappable, a ``--out`` that clashes with the metadata file.

Each gets a short error naming the case and column (or a note on its row while the
other cases are predicted) and bounded memory. Anything that could allocate the issue's
95 GiB if a check regressed runs as the console script with its address space capped,
or in-process with a small ``GVCDYN_MEMORY_LIMIT``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_size_limits import run_console
from toy_calibration import quick_toy_config

import gvcdyn
from gvcdyn import limits
from gvcdyn.calibrate.cases import apply_mapping, read_case_csv, read_mapping
from gvcdyn.calibrate.predict import predict
from gvcdyn.calibrate.study import calibrate
from gvcdyn.cli import run_cli
from gvcdyn.errors import CaseDataError
from gvcdyn.evaluator import Evaluator
from gvcdyn.io.results_io import write_netcdf

DATA = Path(__file__).parent / "data" / "calibration"
TOY_CASES = pd.read_csv(DATA / "toy_cases.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def toy_model():
    return gvcdyn.load(DATA / "toy_upgrading.mdl")


@pytest.fixture(scope="module")
def fit_path(tmp_path_factory):
    """A quick fit of the toy model with 3 bootstrap replicates (4 draws per case)."""
    config = quick_toy_config(popsize=4, maxiter=2, bootstrap=3)
    ds = calibrate(config)
    return write_netcdf(ds, tmp_path_factory.mktemp("fit") / "fit.nc")


def new_cases(tmp_path: Path, n: int, **cells: str) -> Path:
    """``n`` rows cycled from the toy cases (outcome columns dropped, ids made unique),
    with ``cells`` = {"<row>:<column>": value} set."""
    frame = TOY_CASES.drop(columns=["skill_upg", "outcome_class"])
    frame = frame.iloc[np.arange(n) % len(frame)].reset_index(drop=True)
    frame["id"] = [f"C{i:06d}" for i in range(n)]
    for where, value in cells.items():
        row, column = where.split(":")
        frame.loc[int(row), column] = value
    path = tmp_path / f"cases_{n}.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("end", ["1e7", "1e308"])
def test_a_period_longer_than_the_model_runs_names_the_case_and_column(tmp_path, toy_model, end):
    path = new_cases(tmp_path, 4, **{"2:period_end": end})
    frame = read_case_csv(path)
    with pytest.raises(CaseDataError) as caught:
        apply_mapping(frame, read_mapping(DATA / "toy_levers.toml"), model=toy_model)
    message = str(caught.value)
    assert "1 bad row(s): case 'C000002', column 'period_end'" in message
    assert "longer than the model runs (FINAL TIME 40 - INITIAL TIME 0 = 40)" in message
    lenient = apply_mapping(
        frame, read_mapping(DATA / "toy_levers.toml"), model=toy_model, strict=False
    )
    assert len(lenient) == 3 and [i.case_id for i in lenient.invalid] == ["C000002"]


def test_a_period_as_long_as_the_model_runs_is_accepted(tmp_path, toy_model):
    path = new_cases(tmp_path, 2, **{"0:period_start": "1960", "0:period_end": "2000"})
    cases = apply_mapping(
        read_case_csv(path), read_mapping(DATA / "toy_levers.toml"), model=toy_model
    )
    assert cases.horizon[0] == 40.0


def test_console_calibrate_refuses_a_year_1e7_and_leaves_no_job_folder(tmp_path):
    """It tried 95 GiB (a traceback) and left fit.nc.fit-starts.job/, which then made
    the rerun ask for --resume. Capped at 4 GiB: a regression fails in the subprocess."""
    for name in ("toy_config.toml", "toy_levers.toml", "toy_upgrading.mdl"):
        shutil.copy(DATA / name, tmp_path / name)
    frame = TOY_CASES.copy()
    frame.loc[3, "period_end"] = "1e7"
    frame.to_csv(tmp_path / "toy_cases.csv", index=False)
    for _attempt in range(2):  # the rerun gets the same answer, not "unfinished job"
        done = run_console(["calibrate", "toy_config.toml", "--out", "fit.nc"], cwd=tmp_path)
        assert done.returncode == 2, done.stderr[-3000:]
        assert "Traceback" not in done.stderr
        assert f"case '{frame['id'][3]}', column 'period_end'" in done.stderr
        assert "longer than the model runs" in done.stderr
        assert not list(tmp_path.glob("*.job")) and not (tmp_path / "fit.nc").exists()


def test_predict_reports_an_impossible_period_and_predicts_the_other_cases(tmp_path, fit_path):
    """A period ending in 1e308 aborted the whole prediction without naming the case."""
    cases = new_cases(tmp_path, 5, **{"1:period_end": "1e308"})
    prediction = predict(fit_path, cases)
    table = prediction.table
    assert [(p.case_id, p.column) for p in prediction.problems] == [("C000001", "period_end")]
    assert table.loc[1, "note"].startswith("period_end: the period 1980 to 1e+308 lasts")
    assert np.isnan(table.loc[1, "p_rise"]) and table.loc[1, "pred_outcome_class"] == ""
    good = table.drop(index=1)
    np.testing.assert_allclose(good[["p_decline", "p_stay", "p_rise"]].sum(axis=1), 1.0)


def test_predict_runs_a_large_table_in_blocks_with_the_same_numbers(
    tmp_path, fit_path, monkeypatch
):
    """A million rows allocated 9.4 GiB (every draw x every case in one batch). With a
    4 MiB limit the cases go through in blocks; the numbers are those of one batch."""
    cases = new_cases(tmp_path, 3000)
    model = gvcdyn.load(DATA / "toy_upgrading.mdl")  # loaded before the limit is lowered
    whole = predict(fit_path, cases, model=model).table
    sizes = []
    real = Evaluator.__call__

    def recording(self, X, times=None):
        sizes.append(len(X))
        return real(self, X, times=times)

    monkeypatch.setattr(Evaluator, "__call__", recording)
    monkeypatch.setenv(limits.ENV_VAR, "4MiB")
    blocked = predict(fit_path, cases, model=model).table
    assert sum(sizes) == 4 * 3000 and len(sizes) > 10
    # a run holds 30 saved years x 2 cells x 8 B; a piece at most an eighth of the limit
    assert max(sizes) * 30 * 2 * 8 <= 4 * 2**20 // 8
    pd.testing.assert_frame_equal(blocked, whole)


def test_predict_notes_every_unmappable_row_in_linear_time(tmp_path, fit_path, monkeypatch):
    """Each problem compared the whole id column (40,000 unmappable rows: 84 s): count
    the column comparisons, which must not grow with the number of rows."""
    comparisons = []
    real = pd.Series.__eq__

    def counting(self, other):
        comparisons.append(1)
        return real(self, other)

    counts = []
    for n in (40, 80):
        cells = {f"{i}:support": "enormous" for i in range(n)}
        path = new_cases(tmp_path, n, **cells)
        comparisons.clear()
        monkeypatch.setattr(pd.Series, "__eq__", counting)
        prediction = predict(fit_path, path)
        monkeypatch.setattr(pd.Series, "__eq__", real)
        counts.append(len(comparisons))
        assert prediction.meta["n_predicted"] == 0
        assert all(
            note.startswith("support: value 'enormous'") for note in prediction.table["note"]
        )
    assert counts[0] == counts[1]


@pytest.mark.parametrize("name", ["pred.json", "pred.JSON"])
def test_predict_refuses_an_out_whose_metadata_would_overwrite_it(tmp_path, fit_path, name, capsys):
    """``--out pred.json`` wrote the CSV, then its metadata JSON over it."""
    cases = new_cases(tmp_path, 3)
    out = tmp_path / name
    assert (
        run_cli(["predict", "--fit", str(fit_path), "--cases", str(cases), "--out", str(out)]) == 2
    )
    err = capsys.readouterr().err
    assert err.startswith(f"error: --out {out}: the predictions are a CSV")
    assert "pred.csv" in err and not out.exists()
    code = run_cli(
        ["predict", "--fit", str(fit_path), "--cases", str(cases), "--out", str(tmp_path / "p.csv")]
    )
    assert code == 0 and (tmp_path / "p.csv").is_file() and (tmp_path / "p.json").is_file()
    assert pd.read_csv(tmp_path / "p.csv")["id"].tolist() == ["C000000", "C000001", "C000002"]


class FailAfter:
    """Computes ``n - 1`` chunks, then fails as a job refused mid-way would."""

    def __init__(self, n: int) -> None:
        from executor_helpers import Polynomial

        self.f, self.n, self.calls = Polynomial(), n, 0

    def __call__(self, X, times=None):
        self.calls += 1
        if self.calls == self.n:
            raise CaseDataError("a failure inside the job")
        return self.f(X)


@pytest.mark.parametrize(("fail_at", "kept"), [(1, False), (3, True)])
def test_a_failed_job_leaves_its_folder_only_when_it_holds_finished_chunks(tmp_path, fail_at, kept):
    """A job that failed before any chunk finished left an empty folder that made the
    rerun ask for --resume (calibrate after the 95 GiB failure); one with finished chunks
    keeps them for the resume."""
    from executor_helpers import design

    from gvcdyn.execute import map_runs
    from gvcdyn.execute.checkpoint import Checkpoint, checkpoint_dir, fingerprint

    out, X = tmp_path / "fit.nc", design(40)
    fp = fingerprint(model="m", config={}, seed=1, n_runs=40, chunk_size=10, X=X)
    with pytest.raises(CaseDataError, match="inside the job"):
        map_runs(FailAfter(fail_at), X, chunk_size=10, checkpoint=Checkpoint.open(out, fp))
    assert checkpoint_dir(out).exists() is kept
    if not kept:
        Checkpoint.open(out, fp)  # the rerun starts afresh, with no --resume
