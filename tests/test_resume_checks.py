"""What ``--resume`` checks before it reuses a single saved chunk (issue 23).

A resume mixes numbers computed by two processes, so it must be refused when anything
that decides a number changed (integration method, scenario, a data file the model
reads...), and say which field changed, old and new; a chunk file must be the one that
was saved; a job that is still running cannot be resumed or started over by another.
The interrupted jobs are left by the command run in this process with its final write
failing (every chunk stays in ``<out>.job/``); the resumes go through the installed
``gvcdyn`` console script, as a user would run them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from executor_helpers import Polynomial, design
from mdl_helpers import write_mdl

from gvcdyn.cli import run_cli
from gvcdyn.errors import CheckpointError
from gvcdyn.execute import (
    Checkpoint,
    checkpoint_dir,
    fingerprint,
    map_runs,
    refuse_unfinished_job,
    release_checkpoints,
)

TESTS = Path(__file__).resolve().parent
ISHIGAMI = TESTS / "models" / "ishigami.mdl"
SENSITIVITY = ["sensitivity", str(ISHIGAMI), "--vars", "Accumulated Ishigami", "--n", "8"]
SENSITIVITY += ["--seed", "1"]

# a constant read from a CSV file (GET DIRECT CONSTANTS) and a lever swept over 5 runs
DATA_MODEL = """
k = GET DIRECT CONSTANTS('c.csv', ',', 'B2')
	~	Widgets/Month
	~	Inflow read from a data file.
	|
growth = 0.1
	~	1/Month [0, 0.5]
	~	Growth rate.
	|
x = INTEG(growth * x + k, 1)
	~	Widgets
	~		|
"""
SWEEP = ["--sweep", "growth=0:0.5:5", "--workers", "0"]


def gvcdyn(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the installed console script, as a user would; stderr on one line."""
    exe = shutil.which("gvcdyn")
    assert exe, "the gvcdyn console script is not on PATH: pip install -e '.[test]'"
    env = {**os.environ, "COLUMNS": "500"}
    done = subprocess.run(
        [exe, *map(str, args)], capture_output=True, text=True, timeout=300, env=env
    )
    done.stderr = " ".join(done.stderr.split())  # rich wraps long messages
    return done


def _leave_chunks(argv: list[str], monkeypatch: pytest.MonkeyPatch, module, name: str) -> None:
    """Run the command here with its final write failing: its chunks stay for --resume
    (and its lock goes, as when the command's process ends)."""

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(module, name, disk_full)
        assert run_cli(argv) != 0
    release_checkpoints(argv[argv.index("--out") + 1])


@pytest.fixture
def data_model(tmp_path: Path) -> Path:
    (tmp_path / "c.csv").write_text("name,v\nrow,1.5\n")
    return write_mdl(tmp_path, DATA_MODEL, final_time=4.0, time_step=0.25, name="data")


# --------------------------------------------------------------- what a resume must match


@pytest.mark.slow  # console-script runs
def test_sensitivity_resume_with_another_integration_or_scenario_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: both resumes were accepted and gave indices other than an uninterrupted
    run's (the fingerprint had neither the method nor the base values)."""
    import gvcdyn.sensitivity.dataset as dataset

    out = tmp_path / "sa.nc"
    argv = [*SENSITIVITY, "--out", str(out)]
    _leave_chunks(argv, monkeypatch, dataset, "write")
    assert list(checkpoint_dir(out).glob("chunk-*.npz"))

    rk4 = gvcdyn(*argv, "--resume", "--integration", "rk4")
    assert rk4.returncode == 2, rk4.stderr
    assert "integration method was euler, now rk4" in rk4.stderr
    assert str(checkpoint_dir(out)) in rk4.stderr and "Traceback" not in rk4.stderr

    scenario = tmp_path / "a5.toml"
    scenario.write_text("[parameters]\nA = 5\n")
    other_base = gvcdyn(*argv, "--resume", "--scenario", scenario)
    assert other_base.returncode == 2, other_base.stderr
    assert "fixed parameter 'A' was 7.0, now 5.0" in other_base.stderr

    same = gvcdyn(*argv, "--resume")
    assert same.returncode == 0, same.stderr
    assert out.is_file() and not checkpoint_dir(out).exists()


@pytest.mark.slow  # console-script runs
def test_sweep_resume_after_its_data_file_changed_is_refused(
    data_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: accepted, and the resumed runs used the new data, the saved ones the old
    (only the .mdl file's hash was in the fingerprint)."""
    import gvcdyn.io.results_io as results_io

    out = tmp_path / "sweep.nc"
    argv = ["run", str(data_model), *SWEEP, "--out", str(out)]
    _leave_chunks(argv, monkeypatch, results_io, "write_netcdf")
    (tmp_path / "c.csv").write_text("name,v\nrow,2.5\n")
    refused = gvcdyn(*argv, "--resume")
    assert refused.returncode == 2, refused.stderr
    assert "a data file of the model changed: data file 'c.csv' was " in refused.stderr
    assert "generated kernel" not in refused.stderr  # the cause is named, not its effect
    assert not out.exists() and checkpoint_dir(out).is_dir()


def test_a_refusal_names_every_changed_field_with_old_and_new(tmp_path: Path) -> None:
    """Before: one 60-character cut of the whole configuration, which here did not reach
    the field that changed."""
    X = design(20)
    long_value = "a long setting " * 10

    def fp(**config):
        parts = {"label": long_value, "n": 64, "zeta": 1, **config}
        return fingerprint(model="m", config=parts, seed=3, n_runs=20, chunk_size=10, X=X)

    Checkpoint.open(tmp_path / "out.nc", fp())
    with pytest.raises(CheckpointError) as caught:
        Checkpoint.open(tmp_path / "out.nc", fp(zeta=2, label=long_value + "!"), resume=True)
    message = str(caught.value)
    assert "'zeta' was 1, now 2" in message
    assert "'label' was \"a long setting" in message and 'setting !"' in message
    assert len(message) < 400


def test_a_function_other_than_the_fingerprinted_one_is_refused(tmp_path: Path) -> None:
    class Identified(Polynomial):
        def __init__(self, method: str) -> None:
            self.method = method

        def identity(self):
            return {"method": self.method, "outputs": list(self.names)}

    X = design(20)
    fp = fingerprint(
        model="m",
        config={},
        seed=None,
        n_runs=20,
        chunk_size=10,
        X=X,
        computation=Identified("euler").identity(),
    )
    checkpoint = Checkpoint.open(tmp_path / "out.nc", fp)
    with pytest.raises(CheckpointError, match="integration method was euler, now rk4"):
        map_runs(Identified("rk4"), X, chunk_size=10, checkpoint=checkpoint)


def test_a_checkpoint_of_an_older_gvcdyn_is_refused_clearly(tmp_path: Path) -> None:
    X = design(20)
    fp = fingerprint(model="m", config={}, seed=None, n_runs=20, chunk_size=10, X=X)
    checkpoint = Checkpoint.open(tmp_path / "out.nc", fp)
    manifest = checkpoint.path / "manifest.json"
    body = json.loads(manifest.read_text())
    body["format"] = 1
    manifest.write_text(json.dumps(body))
    with pytest.raises(CheckpointError, match=r"made by an older gvcdyn.*delete that folder"):
        Checkpoint.open(tmp_path / "out.nc", fp, resume=True)


# --------------------------------------------------------------- chunk contents


def test_an_altered_or_float32_chunk_is_computed_again(tmp_path: Path) -> None:
    """Before: both files were used as saved (the resumed result held their values)."""
    X = design(30)
    fp = fingerprint(model="m", config={}, seed=None, n_runs=30, chunk_size=10, X=X)
    checkpoint = Checkpoint.open(tmp_path / "out.nc", fp)
    for i in range(3):
        checkpoint.save(i, *Polynomial()(X[10 * i : 10 * (i + 1)]))
    with np.load(checkpoint.chunk_path(1)) as saved:
        Y, status = saved["Y"].copy(), saved["status"]
    Y[0, 0] += 1.0
    np.savez(checkpoint.chunk_path(1), Y=Y, status=status)
    with np.load(checkpoint.chunk_path(2)) as saved:
        np.savez(checkpoint.chunk_path(2), Y=saved["Y"].astype(np.float32), status=saved["status"])

    resumed = Checkpoint.open(tmp_path / "out.nc", fp, resume=True)
    with pytest.warns(UserWarning, match=r"chunk-00000[12]\.npz does not match its digest"):
        result = map_runs(Polynomial(), X, chunk_size=10, checkpoint=resumed)
    assert (result.reused, result.computed) == (1, 2)
    assert result.Y.tobytes() == Polynomial()(X)[0].tobytes()


@pytest.mark.slow  # console-script runs
def test_cli_resume_recomputes_a_float32_copy_of_a_chunk(
    data_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gvcdyn.io.results_io as results_io

    whole = tmp_path / "whole.nc"
    assert run_cli(["run", str(data_model), *SWEEP, "--out", str(whole)]) == 0
    out = tmp_path / "sweep.nc"
    argv = ["run", str(data_model), *SWEEP, "--out", str(out)]
    _leave_chunks(argv, monkeypatch, results_io, "write_netcdf")
    (chunk,) = checkpoint_dir(out).glob("chunk-*.npz")
    with np.load(chunk) as saved:
        np.savez(chunk, Y=saved["Y"].astype(np.float32), status=saved["status"])

    resumed = gvcdyn(*argv, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{chunk.name} does not match its digest" in resumed.stderr
    # one line as the commands print warnings, not Python's "checkpoint.py:534:
    # UserWarning:" and the source line it was raised from
    assert f"warning: {checkpoint_dir(out) / chunk.name} does not" in resumed.stderr
    assert "UserWarning" not in resumed.stderr and "self._load(" not in resumed.stderr
    with xr.open_dataset(whole) as a, xr.open_dataset(out) as b:
        assert a["x"].values.tobytes() == b["x"].values.tobytes()


# --------------------------------------------------------------- a job that is running

HOLDER = """
import sys, time
import gvcdyn.whatif.chunks as chunks
from gvcdyn.cli import run_cli

class Sleeps(chunks.SweepRuns):
    def __call__(self, X):
        time.sleep(600)  # a long chunk: the job is running when the test looks

chunks.SweepRuns = Sleeps
sys.exit(run_cli(sys.argv[1:]))
"""


@pytest.mark.slow  # console-script runs
def test_a_second_job_to_the_same_output_is_refused_while_the_first_runs(
    data_model: Path, tmp_path: Path
) -> None:
    """Before: the second job was told to --resume the running one (and --resume would
    have run the same chunks twice, both writing them)."""
    out = tmp_path / "sweep.nc"
    argv = ["run", str(data_model), *SWEEP, "--out", str(out)]
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    holder = subprocess.Popen(
        [sys.executable, str(script), *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        lock = checkpoint_dir(out) / "lock"
        for _ in range(1200):  # until the first job holds its folder (or it ended)
            if holder.poll() is not None or (lock.is_file() and lock.read_text().strip()):
                break
            time.sleep(0.1)
        assert holder.poll() is None, holder.communicate()
        for extra in ([], ["--resume"]):
            second = gvcdyn(*argv, *extra)
            assert second.returncode == 2, second.stderr
            assert "is running now" in second.stderr, second.stderr
            assert f"process {holder.pid}" in second.stderr
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate()
    # killed: its lock went with it, and its unfinished job waits for a resume
    after = gvcdyn(*argv)
    assert after.returncode == 2
    assert "holds an unfinished job" in after.stderr and "running" not in after.stderr


def test_a_checkpointed_function_must_say_what_decides_its_numbers(tmp_path: Path) -> None:
    """Execution fingerprints the function it runs; one without identity() would be
    fingerprinted by less than what decides its numbers, so it is refused."""
    from gvcdyn.execute import Execution

    X = design(20)
    execution = Execution(output=tmp_path / "out.nc")
    with pytest.raises(CheckpointError, match=r"Polynomial cannot be checkpointed.*identity\(\)"):
        execution.map(Polynomial(), X, config={}, seed=None, chunk_size=10)
    assert not checkpoint_dir(tmp_path / "out.nc").exists()
    result = Execution().map(Polynomial(), X, config={}, seed=None, chunk_size=10)
    assert result.Y.tobytes() == Polynomial()(X)[0].tobytes()  # no checkpoint: no identity


def test_a_changed_config_text_names_the_line_that_changed(tmp_path: Path) -> None:
    """A config or mapping file is fingerprinted whole; the refusal showed both texts
    shortened to their starts ("cases = ...eed = 13"), the same whatever changed further
    down (bootstrap = 6 -> 7 in a calibration config): now it names the first line that
    differs, old and new."""
    text = 'cases = "c.csv"\n[uncertainty]\nbootstrap = 6\nseed = 7\n'

    def fp(config_text: str):
        return fingerprint(
            model="m", config={"config": config_text}, seed=1, n_runs=2, chunk_size=1,
            X=np.zeros((2, 1)),
        )  # fmt: skip

    out = tmp_path / "fit.nc"
    Checkpoint.open(out, fp(text)).release()
    for changed, said in [
        (text.replace("= 6", "= 7"), '\'config\' line 3 was "bootstrap = 6", now "bootstrap = 7"'),
        (text + "[fit]\n", "'config' line 5 was (no such line), now \"[fit]\""),
    ]:
        with pytest.raises(CheckpointError) as refused:
            Checkpoint.open(out, fp(changed), resume=True)
        assert said in str(refused.value), str(refused.value)


def test_an_unfinished_job_is_resumed_with_its_own_command(tmp_path: Path) -> None:
    """Another command writing to the same output was told to continue the job waiting
    there with ITS OWN command plus --resume (a sweep, for a sensitivity study's chunks),
    which is then refused as a changed job: the advice is the job's recorded command."""
    out = tmp_path / "study.nc"
    fp = fingerprint(model="m", config={}, seed=1, n_runs=2, chunk_size=1, X=np.zeros((2, 1)))
    study = "gvcdyn sensitivity m.mdl --vars X -o study.nc --resume"
    Checkpoint.open(out, fp, resume_command=study).release()
    sweep = "gvcdyn run m.mdl --sweep 'A=0:1:3' -o study.nc --resume"
    with pytest.raises(CheckpointError, match="holds an unfinished job") as refused:
        refuse_unfinished_job(out, resume=False, resume_command=sweep)
    assert f"continue it with: {study}," in str(refused.value)
    with pytest.raises(CheckpointError, match="holds an unfinished job") as refused:
        Checkpoint.open(out, fp, resume_command=sweep)
    assert f"continue it with: {study}," in str(refused.value)
