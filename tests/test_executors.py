"""Chunked jobs in one process: order, bitwise identity, checkpoints, resume, streaming.

The cluster tests (real scheduler and workers, killed workers and jobs) are in
``test_executors_cluster.py``; here everything runs in-process and fast.
"""

from __future__ import annotations

import contextlib
import signal
import uuid
from pathlib import Path

import numpy as np
import pytest
import typer
import xarray as xr
from executor_helpers import (
    CountingCalls,
    InterruptAfter,
    Polynomial,
    decay_evaluator,
    design,
    write_decay,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gvcdyn.errors import CheckpointError, ExecutorError, GvcdynError, JobInterrupted
from gvcdyn.execute import (
    Checkpoint,
    DaskExecutor,
    InProcessExecutor,
    NetCDFSink,
    TimeSeriesLayout,
    checkpoint_dir,
    chunk_bounds,
    default_chunk_size,
    executor_from_options,
    fingerprint,
    job_checkpoints,
    map_runs,
    refuse_unfinished_job,
    remove_checkpoints,
    resume_command,
)
from gvcdyn.execute.options import ResumeOption, SchedulerOption, WorkersOption


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _fp(X: np.ndarray, chunk: int, **changes) -> object:
    parts = {"model": "abc123", "config": {"method": "euler", "N": 64}, "seed": 7}
    parts.update(changes)
    return fingerprint(**parts, n_runs=len(X), chunk_size=chunk, X=X)


# ----------------------------------------------------------------------------- chunking


@given(st.integers(1, 5000), st.integers(1, 700))
def test_chunk_bounds_cover_every_run_once_in_order(n_runs: int, size: int) -> None:
    bounds = chunk_bounds(n_runs, size)
    covered = np.concatenate([np.arange(a, b) for a, b in bounds])
    assert np.array_equal(covered, np.arange(n_runs))
    assert all(0 < b - a <= size for a, b in bounds)


@given(st.integers(1, 3_000_000), st.integers(1, 64))
def test_default_chunk_size_is_bounded_and_positive(n_runs: int, workers: int) -> None:
    size = default_chunk_size(n_runs, workers)
    assert 1 <= size <= min(n_runs, 20_000)


def test_zero_chunk_size_is_refused() -> None:
    with pytest.raises(ExecutorError, match="chunk size"):
        chunk_bounds(10, 0)


# ----------------------------------------------------------------------------- results


@pytest.mark.parametrize("chunk", [1, 7, 100, 1000])
def test_chunked_result_is_bitwise_the_direct_result(chunk: int) -> None:
    f = Polynomial()
    X = design(257, seed=3)
    times = np.linspace(0, 1, 257)
    direct_Y, direct_status = f(X, times=times)
    result = map_runs(f, X, times=times, chunk_size=chunk)
    assert _same_bits(result.Y, direct_Y)
    assert _same_bits(result.status, direct_status)
    assert result.n_chunks == len(chunk_bounds(257, chunk))
    assert (result.computed, result.reused) == (result.n_chunks, 0)


def test_chunked_model_evaluator_is_bitwise_the_direct_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GVCDYN_CACHE_DIR", str(tmp_path / "cache"))  # a unique model's kernel
    f = decay_evaluator(write_decay(tmp_path, uuid.uuid4().hex))
    X = design(300, seed=1)
    direct_Y, direct_status = f(X)
    result = map_runs(f, X, chunk_size=64)
    assert _same_bits(result.Y, direct_Y)
    assert _same_bits(result.status, direct_status)


def test_a_function_breaking_the_contract_is_named() -> None:
    def bad(X: np.ndarray):
        return np.zeros((len(X) + 1, 2)), np.zeros(len(X), dtype=np.int64)

    with pytest.raises(ExecutorError, match="one row per run"):
        map_runs(bad, design(10), chunk_size=4)


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ExecutorError, match="2-D"):
        map_runs(Polynomial(), np.zeros(5))
    with pytest.raises(ExecutorError, match="one value per run"):
        map_runs(Polynomial(), design(5), times=np.zeros(4))


# ----------------------------------------------------------------------------- checkpoints


def test_interrupt_keeps_finished_chunks_and_resume_finishes_identically(tmp_path: Path) -> None:
    out = tmp_path / "sa.nc"
    X = design(100, seed=5)
    fp = _fp(X, 10)
    expected_Y, expected_status = Polynomial()(X)

    checkpoint = Checkpoint.open(out, fp, resume_command="gvcdyn sensitivity m.mdl --resume")
    with pytest.raises(JobInterrupted) as caught:
        map_runs(InterruptAfter(Polynomial(), 4), X, chunk_size=10, checkpoint=checkpoint)
    message = str(caught.value)
    assert "3 of 10 chunks" in message
    assert "resume with: gvcdyn sensitivity m.mdl --resume" in message
    assert isinstance(caught.value, GvcdynError) and isinstance(caught.value, KeyboardInterrupt)
    assert checkpoint.finished() == [0, 1, 2]

    counting = CountingCalls(Polynomial())
    resumed = Checkpoint.open(out, fp, resume=True)
    result = map_runs(counting, X, chunk_size=10, checkpoint=resumed)
    assert (result.reused, result.computed) == (3, 7)
    assert counting.runs == 70
    assert _same_bits(result.Y, expected_Y) and _same_bits(result.status, expected_status)
    assert not checkpoint_dir(out).exists()  # removed once the result is complete


class CtrlCLostInAFinalizer:
    """On call ``n``, Ctrl-C arrives while Python runs a finalizer, which prints and drops
    the KeyboardInterrupt (simulated: the signal raised inside ``except: pass``)."""

    def __init__(self, f, n: int) -> None:
        self.f, self.n, self.calls = f, n, 0

    def __call__(self, X: np.ndarray):
        self.calls += 1
        if self.calls == self.n:
            with contextlib.suppress(KeyboardInterrupt):
                signal.raise_signal(signal.SIGINT)
        return self.f(X)


def test_a_ctrl_c_whose_keyboard_interrupt_was_dropped_still_stops_the_job(
    tmp_path: Path,
) -> None:
    """Python raises KeyboardInterrupt wherever the main thread is; dropped there, the
    job still stops after the chunk that was running, and keeps what finished."""
    X = design(100, seed=5)
    checkpoint = Checkpoint.open(tmp_path / "sa.nc", _fp(X, 10))
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
    try:
        with pytest.raises(JobInterrupted, match="4 of 10 chunks"):
            f = CtrlCLostInAFinalizer(Polynomial(), 4)
            map_runs(f, X, chunk_size=10, checkpoint=checkpoint)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert checkpoint.finished() == [0, 1, 2, 3]
    assert signal.getsignal(signal.SIGINT) is previous  # the job's handler is gone


def test_an_unfinished_job_is_not_overwritten_without_resume(tmp_path: Path) -> None:
    X = design(20)
    Checkpoint.open(tmp_path / "out.nc", _fp(X, 5))
    with pytest.raises(CheckpointError, match="resume=True") as library:
        Checkpoint.open(tmp_path / "out.nc", _fp(X, 5))
    assert "--resume" not in str(library.value)  # a library caller gets no CLI flag
    command = "gvcdyn run m.mdl --out out.nc --resume"
    with pytest.raises(CheckpointError, match="continue it with: gvcdyn run") as cli:
        Checkpoint.open(tmp_path / "out.nc", _fp(X, 5), resume_command=command)
    assert "resume=True" not in str(cli.value)  # a command-line user gets no library words
    with pytest.raises(CheckpointError, match="continue it with: gvcdyn run"):
        refuse_unfinished_job(tmp_path / "out.nc", resume=False, resume_command=command)
    refuse_unfinished_job(tmp_path / "out.nc", resume=True)  # resuming it is the point


def test_a_kept_checkpoint_outlives_the_runs_until_the_output_is_written(
    tmp_path: Path,
) -> None:
    """A command writes its result after ``map_runs`` returns: until then the finished
    chunks stay on disk, so a failed write (disk full, an error in the analysis) loses none."""
    X = design(30)
    out = tmp_path / "out.nc"
    kept = Checkpoint.open(out, _fp(X, 10), keep=True)
    result = map_runs(Polynomial(), X, chunk_size=10, checkpoint=kept)
    assert checkpoint_dir(out).is_dir() and len(kept.finished()) == 3
    counting = CountingCalls(Polynomial())
    again = map_runs(
        counting, X, chunk_size=10, checkpoint=Checkpoint.open(out, _fp(X, 10), resume=True)
    )
    assert counting.runs == 0 and _same_bits(again.Y, result.Y)  # nothing was lost
    assert not checkpoint_dir(out).exists()  # not kept: removed with the runs all in
    step = tmp_path / "out.nc.bootstrap.job"  # a calibration step's folder goes with it
    step.mkdir()
    Checkpoint.open(out, _fp(X, 10), keep=True)
    assert job_checkpoints(out) == [step, checkpoint_dir(out)]
    remove_checkpoints(out)
    assert job_checkpoints(out) == [] and not step.exists()


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"model": "def456"}, "model changed"),
        ({"config": {"method": "rk4", "N": 64}}, "configuration changed"),
        ({"seed": 8}, "seed changed"),
    ],
)
def test_resume_with_another_model_config_or_seed_is_refused(
    tmp_path: Path, change: dict, words: str
) -> None:
    X = design(40)
    checkpoint = Checkpoint.open(tmp_path / "out.nc", _fp(X, 10))
    checkpoint.save(0, *Polynomial()(X[:10]))
    with pytest.raises(CheckpointError, match=words) as caught:
        Checkpoint.open(tmp_path / "out.nc", _fp(X, 10, **change), resume=True)
    assert str(checkpoint.path) in str(caught.value)
    assert checkpoint.finished() == [0]  # the refused resume deleted nothing


def test_resume_with_other_chunking_or_inputs_is_refused(tmp_path: Path) -> None:
    X = design(40)
    Checkpoint.open(tmp_path / "out.nc", _fp(X, 10))
    with pytest.raises(CheckpointError, match="chunking changed"):
        Checkpoint.open(tmp_path / "out.nc", _fp(X, 20), resume=True)
    with pytest.raises(CheckpointError, match="parameter sets to run changed"):
        Checkpoint.open(tmp_path / "out.nc", _fp(design(40, seed=9), 10), resume=True)


def test_a_damaged_chunk_file_is_computed_again(tmp_path: Path) -> None:
    X = design(30)
    fp = _fp(X, 10)
    checkpoint = Checkpoint.open(tmp_path / "out.nc", fp)
    for i in range(3):
        checkpoint.save(i, *Polynomial()(X[10 * i : 10 * (i + 1)]))
    checkpoint.chunk_path(1).write_bytes(b"not an npz file")
    (checkpoint.path / ".chunk-000002.npz.123.tmp").write_bytes(b"half")  # a killed write
    resumed = Checkpoint.open(tmp_path / "out.nc", fp, resume=True)
    assert not list(resumed.path.glob(".*.tmp"))
    with pytest.warns(UserWarning, match=r"chunk-000001\.npz does not match its digest"):
        result = map_runs(Polynomial(), X, chunk_size=10, checkpoint=resumed)
    assert (result.reused, result.computed) == (2, 1)
    assert _same_bits(result.Y, Polynomial()(X)[0])


def test_an_unreadable_manifest_is_named(tmp_path: Path) -> None:
    X = design(10)
    checkpoint = Checkpoint.open(tmp_path / "out.nc", _fp(X, 5))
    (checkpoint.path / "manifest.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="manifest"):
        Checkpoint.open(tmp_path / "out.nc", _fp(X, 5), resume=True)


# ----------------------------------------------------------------------------- streaming


def test_netcdf_sink_streams_the_same_numbers_to_disk(tmp_path: Path) -> None:
    X = design(1000, seed=2)
    path = tmp_path / "big.nc"
    sink = NetCDFSink(
        path,
        len(X),
        outcomes=Polynomial.names,
        parameters=["k", "inflow"],
        X=X,
        attrs={"model_sha256": "abc"},
        rows_per_block=128,
    )
    result = map_runs(Polynomial(), X, chunk_size=300, sink=sink)
    assert result.output == path and result.Y is None
    Y, status = Polynomial()(X)
    with xr.open_dataset(path, engine="netcdf4") as ds:
        assert _same_bits(ds["value"].values, Y)
        assert _same_bits(ds["status"].values.astype(np.int64), status)
        assert list(ds["outcome"].values) == list(Polynomial.names)
        assert _same_bits(ds["parameter_value"].values, X)
        assert ds.attrs["model_sha256"] == "abc"
    assert [p.name for p in tmp_path.iterdir()] == ["big.nc"]  # no temporary left


def test_time_series_layout_writes_one_variable_per_series(tmp_path: Path) -> None:
    times = [0.0, 1.0, 2.0, 3.0]

    def series(X: np.ndarray):
        grid = np.asarray(times)
        a = X[:, :1] * grid
        b = X[:, 1:2] + grid
        return np.hstack([a, b]), np.zeros(len(X), dtype=np.int64)

    X = design(50)
    sink = NetCDFSink(tmp_path / "ts.nc", 50, layout=TimeSeriesLayout(["A", "B/C"], times))
    map_runs(series, X, chunk_size=16, sink=sink)
    with xr.open_dataset(tmp_path / "ts.nc") as ds:
        assert ds["A"].dims == ("run", "time")
        assert np.array_equal(ds["A"].values, X[:, :1] * np.asarray(times))
        assert np.array_equal(ds["B_C"].values, X[:, 1:2] + np.asarray(times))
        assert ds["B_C"].attrs["vensim_name"] == "B/C"


def test_an_interrupted_stream_leaves_no_file_under_the_name(tmp_path: Path) -> None:
    X = design(40)
    sink = NetCDFSink(tmp_path / "out.nc", 40, outcomes=Polynomial.names)
    with pytest.raises(JobInterrupted, match="no checkpoint"):
        map_runs(InterruptAfter(Polynomial(), 2), X, chunk_size=10, sink=sink)
    assert list(tmp_path.iterdir()) == []


def test_a_sink_in_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ExecutorError, match="missing"):
        NetCDFSink(tmp_path / "nope" / "out.nc", 10)


# ----------------------------------------------------------------------------- options


def test_executor_options() -> None:
    assert isinstance(executor_from_options(), InProcessExecutor)
    assert isinstance(executor_from_options(0), InProcessExecutor)
    assert isinstance(executor_from_options(n_runs=10), InProcessExecutor)
    with pytest.raises(ExecutorError, match="not both"):
        executor_from_options(2, "tcp://127.0.0.1:8786")
    with pytest.raises(ExecutorError, match="must be 0"):
        executor_from_options(-1)
    with pytest.raises(ExecutorError, match="tcp://HOST:PORT"):
        executor_from_options(scheduler="tcp://no-port-here")


def test_an_unreachable_scheduler_is_a_clear_error() -> None:
    with pytest.raises(
        ExecutorError, match=r"cannot reach the dask scheduler at tcp://127\.0\.0\.1:9"
    ):
        DaskExecutor(scheduler="127.0.0.1:9", connect_timeout=2)


def test_resume_command_appends_resume_once() -> None:
    argv = ["/usr/bin/gvcdyn", "sensitivity", "my model.mdl", "--out", "sa.nc"]
    assert resume_command(argv) == "gvcdyn sensitivity 'my model.mdl' --out sa.nc --resume"
    assert resume_command([*argv, "--resume"]).count("--resume") == 1


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 120), st.integers(1, 50), st.integers(0, 2**32 - 1))
def test_chunked_equals_direct_for_any_size(n_runs: int, chunk: int, seed: int) -> None:
    X = design(n_runs, seed=seed)
    result = map_runs(Polynomial(), X, chunk_size=chunk)
    Y, status = Polynomial()(X)
    assert _same_bits(result.Y, Y) and _same_bits(result.status, status)


def test_a_streamed_job_resumes_into_a_complete_file(tmp_path: Path) -> None:
    out = tmp_path / "big.nc"
    X = design(90, seed=6)
    fp = _fp(X, 10)
    sink = NetCDFSink(out, 90, outcomes=Polynomial.names)
    with pytest.raises(JobInterrupted, match="4 of 9 chunks"):
        map_runs(
            InterruptAfter(Polynomial(), 5),
            X,
            chunk_size=10,
            checkpoint=Checkpoint.open(out, fp),
            sink=sink,
        )
    assert not out.exists()
    sink = NetCDFSink(out, 90, outcomes=Polynomial.names)
    result = map_runs(
        Polynomial(), X, chunk_size=10, checkpoint=Checkpoint.open(out, fp, resume=True), sink=sink
    )
    assert (result.reused, result.computed) == (4, 5)
    with xr.open_dataset(out) as ds:
        assert _same_bits(ds["value"].values, Polynomial()(X)[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.nc"]


def test_typer_options_reach_the_executor_helper() -> None:
    app = typer.Typer()

    @app.command()
    def job(
        workers: WorkersOption = None,
        scheduler: SchedulerOption = None,
        resume: ResumeOption = False,
    ) -> None:
        try:
            with executor_from_options(workers, scheduler, n_runs=10) as executor:
                typer.echo(f"{executor.describe()} resume={resume}")
        except GvcdynError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

    runner = CliRunner()
    ok = runner.invoke(app, ["--workers", "0", "--resume"])
    assert ok.exit_code == 0 and "in-process resume=True" in ok.output
    both = runner.invoke(app, ["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"])
    assert both.exit_code == 2 and "not both" in both.output
    negative = runner.invoke(app, ["--workers", "-1"])
    assert negative.exit_code != 0


def test_a_checkpoint_refuses_a_job_other_than_its_fingerprint(tmp_path: Path) -> None:
    X = design(40)
    checkpoint = Checkpoint.open(tmp_path / "out.nc", _fp(X, 10))
    with pytest.raises(CheckpointError, match="chunking"):
        map_runs(Polynomial(), X, chunk_size=20, checkpoint=checkpoint)
    with pytest.raises(CheckpointError, match="parameter sets"):
        map_runs(Polynomial(), design(40, seed=1), chunk_size=10, checkpoint=checkpoint)
