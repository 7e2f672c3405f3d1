"""``gvcdyn run --sweep`` on the executors: chunks, checkpoints, streaming, the same numbers.

A sweep through ``gvcdyn.whatif.run_in_chunks`` must give bitwise the dataset of the one
batch ``run_batch`` runs today, whether its chunks run in this process or on dask, and
whether the result is held in memory or streamed to netCDF cell by cell. An interrupted
sweep keeps its finished chunks, resumes to the same numbers, and a resume of another
sweep is refused.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from mdl_helpers import write_mdl

import gvcdyn.whatif as whatif
import gvcdyn.whatif.chunks as chunks
from gvcdyn.cli import common, run_cli
from gvcdyn.errors import CheckpointError, JobInterrupted, OutputWriteError
from gvcdyn.execute import DaskExecutor, Execution, checkpoint_dir
from gvcdyn.whatif import prepare_what_if, run_batch, run_in_chunks

# A subscripted stock, a scalar stock, an auxiliary that never changes, two levers.
MODEL = """
Region: north, south
	~	~	|
growth = 0.1
	~	1/Month [0, 0.5]
	~	Growth rate.
	|
share[Region] = 0.3, 0.7
	~	Dmnl
	~	Share of each region.
	|
scale = 2
	~	Widgets [1, 5]
	~	Scale of the start.
	|
start = scale * 10
	~	Widgets
	~	Computed once per run.
	|
stock[Region] = INTEG(growth * stock[Region] * share[Region] - drain, start * share[Region])
	~	Widgets
	~	The regional stocks.
	|
drain = 0.5 + 0.1 * SIN(Time)
	~	Widgets/Month
	~		|
total = INTEG(growth * SUM(stock[Region!]), 0)
	~	Widgets
	~	A scalar stock.
	|
"""
SWEEPS = ["growth=0:0.5:5", "scale=1:5:3"]  # 15 runs
CHUNK = 4  # 4 chunks, the last one short


@pytest.fixture(scope="module")
def mdl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sweep")
    return write_mdl(folder, MODEL, final_time=6.0, time_step=0.25, saveper=1.0, name="sweep")


@pytest.fixture(scope="module")
def request_(mdl: Path) -> whatif.WhatIf:
    return prepare_what_if(mdl, sweeps=SWEEPS, command_line=["gvcdyn", "run"])


@pytest.fixture(scope="module")
def one_batch(request_: whatif.WhatIf) -> xr.Dataset:
    return run_batch(request_)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def assert_same_dataset(a: xr.Dataset, b: xr.Dataset) -> None:
    """Every variable and coordinate bitwise equal; attributes equal but the timestamp."""
    assert set(a.variables) == set(b.variables)
    for name in a.variables:
        if a[name].dtype.kind in "US":
            assert list(a[name].values) == list(b[name].values), name
        else:
            assert _same_bits(a[name].values, b[name].values), name
    drop = {"created"}
    assert {k: v for k, v in a.attrs.items() if k not in drop} == {
        k: v for k, v in b.attrs.items() if k not in drop
    }


def test_chunks_in_process_give_the_one_batch_dataset(request_, one_batch) -> None:
    assert request_.n_runs == 15
    chunked = run_in_chunks(request_, chunk_size=CHUNK)
    assert_same_dataset(one_batch, chunked)


def test_a_streamed_sweep_holds_the_same_numbers_cell_by_cell(
    request_, one_batch, tmp_path: Path
) -> None:
    output = tmp_path / "sweep.nc"
    streamed = run_in_chunks(
        request_, Execution(output=output), stream=True, chunk_size=CHUNK
    ).load()
    assert output.is_file() and not checkpoint_dir(output).exists()
    for region in ("north", "south"):
        expected = one_batch["stock"].sel(Region=region).values
        assert _same_bits(streamed[f"stock[{region}]"].values, expected)
    assert _same_bits(streamed["total"].values, one_batch["total"].values)
    # an auxiliary constant in time is one value per run in memory, a series on disk
    start = streamed["start"].values
    assert np.all(start == start[:, :1])
    assert _same_bits(start[:, 0], one_batch["start"].values)
    assert np.array_equal(streamed["status"].values, one_batch["status"].values)
    # the run labels and lever values are coordinates, as in the in-memory dataset
    assert list(streamed["scenario"].values) == list(one_batch["scenario"].values)
    assert _same_bits(streamed["lever_value"].values, one_batch["lever_value"].values)
    assert "lever_value" in streamed.coords and "scenario" in streamed.coords
    assert streamed["stock[north]"].attrs["units"] == "Widgets"
    assert streamed["stock[north]"].attrs["kind"] == "stock"
    assert streamed["time"].attrs["units"] == "Month"
    assert streamed.attrs["model_sha256"] == one_batch.attrs["model_sha256"]


class _StopsOnCall(whatif.SweepRuns):
    """The sweep's chunk function, interrupted (as by Ctrl-C) on call number ``stop``."""

    stop = 0
    calls = 0

    def __call__(self, X):
        type(self).calls += 1
        if type(self).calls == type(self).stop:
            raise KeyboardInterrupt
        return super().__call__(X)


@pytest.mark.parametrize("stream", [False, True], ids=["memory", "streamed"])
def test_an_interrupted_sweep_resumes_to_the_same_result(
    request_, one_batch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stream: bool
) -> None:
    output = tmp_path / "sweep.nc"
    monkeypatch.setattr(chunks, "SweepRuns", _StopsOnCall)
    _StopsOnCall.calls, _StopsOnCall.stop = 0, 3
    execution = Execution(output=output, resume_command="gvcdyn run ... --resume")
    with pytest.raises(JobInterrupted, match=r"2 of 4 chunks .* gvcdyn run \.\.\. --resume"):
        run_in_chunks(request_, execution, stream=stream, chunk_size=CHUNK)
    assert not output.exists() and checkpoint_dir(output).is_dir()

    _StopsOnCall.calls, _StopsOnCall.stop = 0, 0  # never stops; counts the chunks computed
    resumed = run_in_chunks(
        request_, Execution(output=output, resume=True), stream=stream, chunk_size=CHUNK
    )
    assert _StopsOnCall.calls == 2  # only the missing chunks
    assert not checkpoint_dir(output).exists()
    if stream:
        resumed = resumed.load()
        assert _same_bits(resumed["total"].values, one_batch["total"].values)
        assert _same_bits(resumed["stock[south]"].values, one_batch["stock"].values[:, :, 1])
    else:
        assert_same_dataset(one_batch, resumed)


def test_a_resume_of_another_sweep_is_refused(
    mdl: Path, request_, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "sweep.nc"
    monkeypatch.setattr(chunks, "SweepRuns", _StopsOnCall)
    _StopsOnCall.calls, _StopsOnCall.stop = 0, 2
    with pytest.raises(JobInterrupted):
        run_in_chunks(request_, Execution(output=output), chunk_size=CHUNK)
    other = prepare_what_if(mdl, sweeps=["growth=0:0.4:5", "scale=1:5:3"])
    with pytest.raises(CheckpointError, match="parameter sets to run changed"):
        run_in_chunks(other, Execution(output=output, resume=True), chunk_size=CHUNK)
    rk4 = prepare_what_if(mdl, sweeps=SWEEPS, method="rk4")
    with pytest.raises(CheckpointError, match="configuration changed"):
        run_in_chunks(rk4, Execution(output=output, resume=True), chunk_size=CHUNK)


def test_results_too_big_for_memory_need_an_output(
    request_, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunks, "STREAM_BYTES", 100)
    with pytest.raises(OutputWriteError, match="--out"):
        run_in_chunks(request_)


def test_two_dask_workers_give_the_one_batch_dataset(request_, one_batch) -> None:
    with DaskExecutor(workers=2, numba_threads=1) as executor:
        chunked = run_in_chunks(request_, Execution(executor), chunk_size=CHUNK)
    assert_same_dataset(one_batch, chunked)


# ---------------------------------------------------------------------- the command line


@pytest.fixture
def printed(monkeypatch: pytest.MonkeyPatch) -> dict[str, io.StringIO]:
    """What the command printed on its two rich consoles (bound to streams at import)."""
    streams = {"out": io.StringIO(), "err": io.StringIO()}
    monkeypatch.setattr(common.out, "file", streams["out"])
    monkeypatch.setattr(common.err, "file", streams["err"])
    return streams


def test_cli_sweep_on_the_executors_writes_the_one_batch_file(mdl: Path, tmp_path: Path) -> None:
    sweeps = [arg for s in SWEEPS for arg in ("--sweep", s)]
    assert run_cli(["run", str(mdl), *sweeps, "--out", str(tmp_path / "a.nc")]) == 0
    code = run_cli(["run", str(mdl), *sweeps, "--out", str(tmp_path / "b.nc"), "--workers", "0"])
    assert code == 0
    with xr.open_dataset(tmp_path / "a.nc") as a, xr.open_dataset(tmp_path / "b.nc") as b:
        assert "Region" in b["stock"].dims  # not the streamed layout: the one-batch file
        for name in a.data_vars:
            assert _same_bits(a[name].values, b[name].values), name


def test_cli_streams_a_large_sweep_and_summarises_it(
    mdl: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, printed, capsys
) -> None:
    monkeypatch.setattr(chunks, "STREAM_BYTES", 100)
    out = tmp_path / "big.nc"
    code = run_cli(["run", str(mdl), "--sweep", SWEEPS[0], "--out", str(out), "--vars", "stock"])
    assert code == 0, capsys.readouterr().err
    summary = printed["out"].getvalue()
    assert "stock[north]" in summary and "growth=0.5" in summary
    assert "5/5" in printed["err"].getvalue()  # the progress bar
    with xr.open_dataset(out) as ds:
        assert {"stock[north]", "stock[south]"} <= set(ds.data_vars)


def test_cli_interrupt_prints_the_resume_command(
    mdl: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, printed, capsys
) -> None:
    monkeypatch.setattr(chunks, "SweepRuns", _StopsOnCall)
    monkeypatch.setattr(chunks, "MAX_CHUNK_RUNS", CHUNK)
    _StopsOnCall.calls, _StopsOnCall.stop = 0, 2
    out = tmp_path / "s.nc"
    argv = ["run", str(mdl), "--sweep", SWEEPS[0], "--sweep", SWEEPS[1], "--out", str(out)]
    monkeypatch.setattr("sys.argv", ["gvcdyn", *argv, "--workers", "0"])
    assert run_cli([*argv, "--workers", "0"]) == 130
    err = printed["err"].getvalue()
    assert "1 of 4 chunks are saved" in err and "--workers 0 --resume" in err
    # without --resume the unfinished job is not overwritten, even on the one-batch road
    assert run_cli(argv) == 2
    assert "--resume" in capsys.readouterr().err
    _StopsOnCall.stop = 0
    assert run_cli([*argv, "--resume"]) == 0
    assert out.is_file() and not checkpoint_dir(out).exists()


def test_cli_resume_needs_out(mdl: Path, capsys) -> None:
    assert run_cli(["run", str(mdl), "--sweep", SWEEPS[0], "--resume"]) == 2
    assert "--out" in capsys.readouterr().err


def test_cli_a_failed_write_keeps_the_finished_chunks(
    mdl: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, printed, capsys
) -> None:
    """The runs are all in but the file cannot be written (disk full): the chunks stay, and
    --resume writes the file without running any of them again."""
    import gvcdyn.io.results_io as results_io

    real_write = results_io.write_netcdf

    def disk_full(ds, path, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(chunks, "MAX_CHUNK_RUNS", CHUNK)
    monkeypatch.setattr(results_io, "write_netcdf", disk_full)
    out = tmp_path / "s.nc"
    argv = ["run", str(mdl), "--sweep", SWEEPS[0], "--sweep", SWEEPS[1], "--out", str(out)]
    assert run_cli([*argv, "--workers", "0"]) != 0
    assert "No space left" in capsys.readouterr().err
    assert not out.exists() and len(list(checkpoint_dir(out).glob("chunk-*.npz"))) == 4

    monkeypatch.setattr(results_io, "write_netcdf", real_write)
    monkeypatch.setattr(chunks, "SweepRuns", _StopsOnCall)
    _StopsOnCall.calls, _StopsOnCall.stop = 0, 1  # any chunk run again would stop the job
    assert run_cli([*argv, "--resume"]) == 0
    assert _StopsOnCall.calls == 0
    assert out.is_file() and not checkpoint_dir(out).exists()


def test_cli_refuses_an_unfinished_job_before_starting_workers(
    mdl: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import gvcdyn.cli.whatif as cli_whatif

    started: list[object] = []
    monkeypatch.setattr(
        cli_whatif, "executor_from_options", lambda *a, **k: started.append(a) or 1 / 0
    )
    out = tmp_path / "s.nc"
    checkpoint_dir(out).mkdir()
    argv = ["run", str(mdl), "--sweep", SWEEPS[0], "--out", str(out), "--workers", "2"]
    monkeypatch.setattr("sys.argv", ["gvcdyn", *argv])
    assert run_cli(argv) == 2
    assert started == []
    message = capsys.readouterr().err
    assert "holds an unfinished job" in message and "--workers 2 --resume" in message
    assert "resume=True" not in message  # the user's words, not the library's


def test_chunks_of_a_sweep_of_chosen_variables_report_the_unsettable_constants(
    tmp_path: Path,
) -> None:
    """``Model.run`` reports every constant, including those no parameter sets (Vensim's
    ``==``: the kernel computes them); a chunked sweep of chosen variables reports the
    same dataset."""
    text = MODEL + "\nfixed == 3\n\t~\tWidgets\n\t~\tNot a parameter.\n\t|\n"
    path = write_mdl(tmp_path, text, final_time=6.0, time_step=0.25, saveper=1.0, name="eq")
    request = prepare_what_if(path, sweeps=SWEEPS, variables=["total"])
    one = run_batch(request)
    assert "fixed" in one and (one["fixed"].values == 3).all()
    assert_same_dataset(one, run_in_chunks(request, chunk_size=CHUNK))
