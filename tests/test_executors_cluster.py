"""Real processes: a dask scheduler and workers on loopback, killed workers, killed jobs.

Every process is started by the test, on 127.0.0.1, and every wait is bounded. The
functions run on workers come from ``executor_helpers`` (the workers get this folder on
``PYTHONPATH``). Each test writes a model whose text is unique, so its kernel is compiled
into the test's own empty ``GVCDYN_CACHE_DIR``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from executor_helpers import (
    TESTS,
    CountsUnpickling,
    Slow,
    decay_evaluator,
    design,
    write_decay,
)
from recording_progress import RecordedTask, Recorder

from gvcdyn.errors import ExecutorError, JobInterrupted
from gvcdyn.execute import Checkpoint, DaskExecutor, checkpoint_dir, fingerprint, map_runs

pytestmark = pytest.mark.slow

START_TIMEOUT = 90.0  # s: scheduler, workers, model load on a busy 2-core machine
JOB_TIMEOUT = 300.0


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["GVCDYN_CACHE_DIR"] = str(cache)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["NUMBA_NUM_THREADS"] = "1"
    return env


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def _stop(processes: list[subprocess.Popen]) -> None:
    """Stop processes, last started first (workers before their scheduler, so that no
    worker waits for a scheduler that is gone); kill what does not stop in 20 s."""
    for process in reversed(processes):
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "kernel-cache"
    monkeypatch.setenv("GVCDYN_CACHE_DIR", str(path))
    return path


def _start_scheduler(spawn, scheduler_file: Path) -> str:
    """Start ``dask scheduler`` on a free loopback port; return its address."""
    spawn(
        "scheduler",
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)],
    )  # fmt: skip
    _wait_for(scheduler_file.is_file, START_TIMEOUT, "the scheduler file")
    _wait_for(lambda: "address" in scheduler_file.read_text(), 10, "the scheduler address")
    return json.loads(scheduler_file.read_text())["address"]


@pytest.fixture
def cluster(tmp_path: Path, cache: Path) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """``dask scheduler`` and two ``dask worker`` processes (no nanny: a kill is final)."""
    logs = tmp_path / "logs"
    logs.mkdir()
    env = _env(cache)
    scheduler_file = tmp_path / "scheduler.json"
    processes: list[subprocess.Popen] = []

    def spawn(name: str, args: list[str]) -> subprocess.Popen:
        out = (logs / f"{name}.log").open("w")
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        processes.append(process)
        return process

    try:
        address = _start_scheduler(spawn, scheduler_file)
        workers = [
            spawn(
                f"worker{i}",
                [
                    sys.executable,
                    "-m",
                    "distributed.cli.dask_worker",
                    address,
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                    "--death-timeout",
                    "60",
                ],
            )
            for i in range(2)
        ]
        from distributed import Client

        with Client(address, timeout=START_TIMEOUT, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=START_TIMEOUT)
        yield address, workers
    finally:
        _stop(processes)


def test_a_job_on_an_existing_cluster_survives_a_killed_worker(
    tmp_path: Path, cluster: tuple[str, list[subprocess.Popen]]
) -> None:
    address, workers = cluster
    f = decay_evaluator(write_decay(tmp_path, uuid.uuid4().hex))
    X = design(3000, seed=4)
    expected_Y, expected_status = f(X)  # in-process, one batch; also compiles into the cache
    killed_at: list[int] = []

    def kill_one_worker(runs: RecordedTask) -> None:
        done = runs.completed // 100  # chunks
        if done == 3 and not killed_at:
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait(timeout=30)
            killed_at.append(done)

    with DaskExecutor(scheduler=address, job_timeout=JOB_TIMEOUT) as executor:
        assert executor.n_workers == 2
        result = map_runs(
            Slow(f, 0.3), X, executor=executor, chunk_size=100, progress=Recorder(kill_one_worker)
        )
        survivors = executor._client.scheduler_info()["workers"]
    assert killed_at == [3] and workers[0].returncode == -signal.SIGKILL
    assert result.computed == 30 > killed_at[0]  # the kill came mid-job
    assert len(survivors) == 1
    assert _same_bits(result.Y, expected_Y)
    assert _same_bits(result.status, expected_status)


class NumbaThreads:
    """Reports the numba thread count a chunk ran with (to check oversubscription)."""

    def __call__(self, X: np.ndarray):
        import numba

        n = numba.get_num_threads()
        return np.full((len(X), 1), float(n)), np.zeros(len(X), dtype=np.int64)


def test_local_cluster_is_bitwise_in_process_and_shares_the_cores(
    tmp_path: Path, cache: Path
) -> None:
    f = decay_evaluator(write_decay(tmp_path, uuid.uuid4().hex))
    X = design(2000, seed=8)
    expected_Y, expected_status = f(X)
    out = tmp_path / "sa.nc"
    fp = fingerprint(model="m", config={}, seed=1, n_runs=len(X), chunk_size=150, X=X)

    def ctrl_c_after_three(runs: RecordedTask) -> None:
        if len(runs.steps) == 3:  # three chunks in
            raise KeyboardInterrupt  # as Ctrl-C arrives in the main thread

    with DaskExecutor(workers=2, job_timeout=JOB_TIMEOUT) as executor:
        result = map_runs(f, X, executor=executor, chunk_size=150)
        threads = map_runs(NumbaThreads(), X[:40], executor=executor, chunk_size=5)
        unpickled = map_runs(CountsUnpickling(), X[:40], executor=executor, chunk_size=4)
        checkpoint = Checkpoint.open(out, fp, resume_command="again --resume")
        with pytest.raises(JobInterrupted, match="3 of 14 chunks are saved"):
            map_runs(
                f,
                X,
                executor=executor,
                chunk_size=150,
                checkpoint=checkpoint,
                progress=Recorder(ctrl_c_after_three),
            )
        resumed = map_runs(
            f,
            X,
            executor=executor,
            chunk_size=150,
            checkpoint=Checkpoint.open(out, fp, resume=True),
        )
    assert _same_bits(result.Y, expected_Y)
    assert _same_bits(result.status, expected_status)
    cores = os.cpu_count() or 1
    assert set(threads.Y.ravel()) == {float(max(1, cores // 2))}
    assert set(unpickled.Y.ravel()) == {1.0}  # once per worker, for 10 chunks
    assert (resumed.reused, resumed.computed) == (3, 11)
    assert _same_bits(resumed.Y, expected_Y)


NEW_MODEL_ON_WORKERS = """
import sys
import numpy as np
import gvcdyn  # numba is imported here, before the cluster starts: spawn re-imports this
sys.path.insert(0, {tests!r})
from executor_helpers import decay_evaluator, design
from gvcdyn.execute import DaskExecutor, map_runs

if __name__ == "__main__":
    f = decay_evaluator(sys.argv[1])
    X = design(200, seed=3)
    with DaskExecutor(workers=2, job_timeout=300) as executor:
        result = map_runs(f, X, executor=executor, chunk_size=50)
    np.save(sys.argv[2], result.Y)
"""


def test_workers_compile_a_new_model_for_a_script_that_imported_gvcdyn(
    tmp_path: Path, cache: Path
) -> None:
    """The kernel of a model no process has compiled yet is compiled on the workers, for
    a script (or the ``gvcdyn`` command) that imported gvcdyn, hence numba, before the
    local cluster started; the numbers are those of this process."""
    model = write_decay(tmp_path, uuid.uuid4().hex)
    script = tmp_path / "new_model.py"
    script.write_text(NEW_MODEL_ON_WORKERS.format(tests=str(TESTS)))
    out = tmp_path / "Y.npy"
    env = _env(cache)
    del env["NUMBA_NUM_THREADS"]  # as a user's shell: numba's default, the core count
    done = subprocess.run(
        [sys.executable, str(script), str(model), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=JOB_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    expected, _ = decay_evaluator(model)(design(200, seed=3))
    assert _same_bits(np.load(out), expected)


# ----------------------------------------------------------------------------- killed jobs

JOB_SCRIPT = """
import json, signal, sys
import numpy as np
signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C as in a terminal, even
# when the tests run in a background job (which starts its children with SIGINT ignored)
sys.path.insert(0, {tests!r})
from executor_helpers import Slow, decay_evaluator, design
from gvcdyn.errors import GvcdynError
from gvcdyn.execute import Checkpoint, fingerprint, map_runs

model_path, out, resume, delay = sys.argv[1], sys.argv[2], sys.argv[3] == "1", float(sys.argv[4])
f = decay_evaluator(model_path)
X = design(3000, seed=11)
fp = fingerprint(model=f.model.ir.source_hash, config={{"outcomes": list(f.names)}}, seed=11,
                 n_runs=len(X), chunk_size=100, X=X)
try:
    checkpoint = Checkpoint.open(out, fp, resume=resume, resume_command="job.py --resume")
    result = map_runs(Slow(f, delay), X, chunk_size=100, checkpoint=checkpoint)
except GvcdynError as exc:
    print("error:", exc, file=sys.stderr)
    sys.exit(130 if isinstance(exc, KeyboardInterrupt) else 2)
np.savez(out, Y=result.Y, status=result.status)
print(json.dumps({{"computed": result.computed, "reused": result.reused}}))
"""


def _job(tmp_path: Path, cache: Path, model: Path, resume: bool, delay: float):
    script = tmp_path / "job.py"
    script.write_text(JOB_SCRIPT.format(tests=str(TESTS)))
    out = tmp_path / "job.npz"
    args = [sys.executable, str(script), str(model), str(out), "1" if resume else "0", str(delay)]
    return subprocess.Popen(
        args, env=_env(cache), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ), out


def _saved_chunks(out: Path) -> int:
    folder = checkpoint_dir(out)
    return len(list(folder.glob("chunk-*.npz"))) if folder.is_dir() else 0


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_a_killed_job_resumes_to_the_uninterrupted_result(
    tmp_path: Path, cache: Path, how: signal.Signals
) -> None:
    model = write_decay(tmp_path, uuid.uuid4().hex)
    job, out = _job(tmp_path, cache, model, resume=False, delay=0.3)
    try:
        _wait_for(lambda: _saved_chunks(out) >= 3, START_TIMEOUT, "three saved chunks")
        job.send_signal(how)
        _, stderr = job.communicate(timeout=60)
    finally:
        _stop([job])
    saved = _saved_chunks(out)
    assert 3 <= saved < 30
    if how == signal.SIGKILL:
        assert job.returncode == -signal.SIGKILL
    else:  # Ctrl-C: a clean stop that says how to resume
        assert job.returncode == 130
        assert f"{saved} of 30 chunks are saved" in stderr
        assert "resume with: job.py --resume" in stderr
        assert "Traceback" not in stderr
    assert not out.exists()

    resumed, _ = _job(tmp_path, cache, model, resume=True, delay=0.0)
    stdout, stderr = resumed.communicate(timeout=JOB_TIMEOUT)
    assert resumed.returncode == 0, stderr
    counts = json.loads(stdout.strip().splitlines()[-1])
    assert counts == {"computed": 30 - saved, "reused": saved}
    assert not checkpoint_dir(out).exists()

    f = decay_evaluator(model)
    expected_Y, expected_status = map_runs(f, design(3000, seed=11)).Y, f(design(3000, seed=11))[1]
    with np.load(out) as data:
        assert _same_bits(data["Y"], expected_Y)
        assert _same_bits(data["status"], expected_status)


# ----------------------------------------------------------------------------- compile race

COMPILE_SCRIPT = """
import json, sys, time
from pathlib import Path
import numpy as np
import gvcdyn
go = Path(sys.argv[2])
deadline = time.monotonic() + 120
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.01)
model = gvcdyn.load(sys.argv[1])
ds = model.run({"k": [0.5, 1.5], "inflow": [1.0, 3.0]}, method="rk4")
np.save(sys.argv[3], ds["x"].values)
stats = model.kernel("rk4").stats
print(json.dumps({"misses": sum(stats.cache_misses.values()),
                  "hits": sum(stats.cache_hits.values())}))
"""


def test_processes_compiling_one_new_model_at_once_agree(tmp_path: Path, cache: Path) -> None:
    """Two workers meeting a new model at the same moment, on an empty cache."""
    n_processes = 2
    model = write_decay(tmp_path, uuid.uuid4().hex)
    script = tmp_path / "compile.py"
    script.write_text(COMPILE_SCRIPT)
    go = tmp_path / "go"
    outputs = [tmp_path / f"x{i}.npy" for i in range(n_processes)]
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), str(model), str(go), str(out)],
            env=_env(cache),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for out in outputs
    ]
    try:
        time.sleep(2.0)  # let every process import gvcdyn before the start signal
        go.touch()
        results = [p.communicate(timeout=JOB_TIMEOUT) for p in processes]
    finally:
        _stop(processes)
    for process, (_, stderr) in zip(processes, results, strict=True):
        assert process.returncode == 0, stderr
    first = np.load(outputs[0])
    assert all(_same_bits(np.load(out), first) for out in outputs[1:])
    assert not list(cache.rglob("*.tmp"))

    # a later process finds a complete, valid cache: it loads, compiles nothing
    later = subprocess.run(
        [sys.executable, str(script), str(model), str(go), str(tmp_path / "later.npy")],
        env=_env(cache),
        capture_output=True,
        text=True,
        timeout=JOB_TIMEOUT,
    )
    assert later.returncode == 0, later.stderr
    assert json.loads(later.stdout.strip().splitlines()[-1])["misses"] == 0
    assert _same_bits(np.load(tmp_path / "later.npy"), first)


class OnCluster:
    """Stands in for a study's evaluator: the same call, its chunks run by ``executor``."""

    def __init__(self, f, executor: DaskExecutor) -> None:
        self.f = f
        self.executor = executor
        self.chunks = 0

    def __getattr__(self, name: str):  # grid, names, space...: the evaluator's own
        return getattr(self.f, name)

    def __call__(self, X: np.ndarray):
        result = map_runs(self.f, X, executor=self.executor, chunk_size=64)
        self.chunks += result.n_chunks
        return result.Y, result.status


def test_a_sobol_study_through_the_scheduler_matches_in_process(
    tmp_path: Path, cluster: tuple[str, list[subprocess.Popen]]
) -> None:
    import gvcdyn
    from gvcdyn.sensitivity import prepare, sobol

    address, _ = cluster
    model = gvcdyn.load(write_decay(tmp_path, uuid.uuid4().hex))
    local = sobol(prepare(model, ["x"], params=["k", "inflow"], at="all"), 64, seed=3)
    study = prepare(model, ["x"], params=["k", "inflow"], at="all")
    with DaskExecutor(scheduler=address, job_timeout=JOB_TIMEOUT) as executor:
        study.evaluator = OnCluster(study.evaluator, executor)
        remote = sobol(study, 64, seed=3)
    assert study.evaluator.chunks == 4  # N (k + 2) = 256 runs went out in chunks of 64
    for name in ("S1", "ST"):
        assert _same_bits(remote[name].values, local[name].values)


def test_a_scheduler_without_workers_is_a_clear_error(tmp_path: Path, cache: Path) -> None:
    processes: list[subprocess.Popen] = []

    def spawn(name: str, args: list[str]) -> subprocess.Popen:
        out = (tmp_path / f"{name}.log").open("w")
        process = subprocess.Popen(args, env=_env(cache), stdout=out, stderr=subprocess.STDOUT)
        processes.append(process)
        return process

    try:
        address = _start_scheduler(spawn, tmp_path / "scheduler.json")
        with pytest.raises(ExecutorError, match="has no workers; start some with `dask worker"):
            DaskExecutor(scheduler=address, connect_timeout=3)
    finally:
        _stop(processes)
