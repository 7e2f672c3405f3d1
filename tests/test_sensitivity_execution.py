"""A sensitivity study survives interruption: finished chunks are kept and resumed.

The study's runs go through ``gvcdyn.execute`` (``Execution``): with an output, each
finished chunk is saved in ``<output>.job/``; Ctrl-C keeps them and says how to resume;
a resume computes only what is missing and gives bitwise the uninterrupted indices; a
resume of a different study (another seed) is refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gvcdyn
from gvcdyn.cli import run_cli
from gvcdyn.errors import CheckpointError, JobInterrupted
from gvcdyn.execute import Execution, InProcessExecutor
from gvcdyn.sensitivity import study as sens

ISHIGAMI = Path(__file__).parent / "models" / "ishigami.mdl"
N = 64  # 64 * (3 + 2) = 320 runs, chunks of 50: 7 chunks


class _StopsAfter:
    """The study's evaluator, interrupted (as by Ctrl-C) on its call number ``calls``."""

    def __init__(self, evaluator, calls: int) -> None:
        self.evaluator, self.calls, self.seen = evaluator, calls, 0

    def __getattr__(self, name: str):  # model, names, grid, method...: the evaluator's
        return getattr(self.evaluator, name)

    def __call__(self, X, times=None):
        self.seen += 1
        if self.seen == self.calls:
            raise KeyboardInterrupt
        return self.evaluator(X)


@pytest.fixture(scope="module")
def study():
    return sens.prepare(gvcdyn.load(ISHIGAMI), ["Ishigami"])


def test_interrupted_study_resumes_to_the_same_indices(study, tmp_path: Path) -> None:
    whole = sens.sobol(study, N, seed=5, chunk=50)
    output = tmp_path / "indices.nc"
    real = study.evaluator
    study.evaluator = _StopsAfter(real, calls=4)
    try:
        with pytest.raises(JobInterrupted, match="3 of 7 chunks"):
            sens.sobol(study, N, seed=5, chunk=50, execution=Execution(output=output))
    finally:
        study.evaluator = real
    job = output.with_name("indices.nc.job")
    assert job.is_dir()

    counting = _StopsAfter(real, calls=0)  # never stops; counts the chunks computed
    study.evaluator = counting
    try:
        resumed = sens.sobol(
            study, N, seed=5, chunk=50, execution=Execution(output=output, resume=True)
        )
    finally:
        study.evaluator = real
    assert counting.seen == 4  # only the chunks that were missing
    assert not job.exists()  # the checkpoint goes once the study is complete
    for name in ("S1", "ST", "S1_conf", "ST_conf"):
        np.testing.assert_array_equal(resumed[name].values, whole[name].values)


def test_resume_of_another_study_is_refused(study, tmp_path: Path) -> None:
    output = tmp_path / "indices.nc"
    real = study.evaluator
    study.evaluator = _StopsAfter(real, calls=2)
    try:
        with pytest.raises(JobInterrupted):
            sens.sobol(study, N, seed=5, chunk=50, execution=Execution(output=output))
    finally:
        study.evaluator = real
    with pytest.raises(CheckpointError):
        sens.sobol(study, N, seed=6, chunk=50, execution=Execution(output=output, resume=True))
    with pytest.raises(CheckpointError, match="resume=True"):  # a fresh start must not clobber it
        sens.sobol(study, N, seed=5, chunk=50, execution=Execution(output=output))


def test_cli_resume_needs_out(capsys) -> None:
    code = run_cli(["sensitivity", str(ISHIGAMI), "--vars", "Ishigami", "--n", "8", "--resume"])
    assert code == 2
    assert "--out" in capsys.readouterr().err


def test_cli_a_failed_write_keeps_the_finished_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """The runs are all in but the indices cannot be written: the chunks stay for --resume."""
    import gvcdyn.sensitivity.dataset as dataset

    real_write = dataset.write

    def disk_full(ds, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dataset, "write", disk_full)
    out = tmp_path / "indices.nc"
    argv = ["sensitivity", str(ISHIGAMI), "--vars", "Ishigami", "--n", "8", "--seed", "1"]
    argv += ["--out", str(out)]
    assert run_cli(argv) == 2
    assert "No space left" in capsys.readouterr().err
    job = out.with_name("indices.nc.job")
    assert not out.exists() and list(job.glob("chunk-*.npz"))
    assert run_cli(argv) == 2  # a fresh start is refused, in the command's words
    refused = capsys.readouterr().err
    assert "--resume" in refused and "resume=True" not in refused

    monkeypatch.setattr(dataset, "write", real_write)
    assert run_cli([*argv, "--resume"]) == 0
    assert out.is_file() and not job.exists()


class _CountingExecutor(InProcessExecutor):
    """In-process, counting the chunks it ran and whether it was closed."""

    def __init__(self) -> None:
        self.chunks, self.closed = 0, False

    def map_chunks(self, f, chunks):
        for result in super().map_chunks(f, chunks):
            self.chunks += 1
            yield result

    def close(self) -> None:
        self.closed = True


def test_analyse_runs_on_the_executor_sized_for_its_design(tmp_path: Path) -> None:
    """``executor_for_runs`` gets the design's number of runs (what ``gvcdyn sensitivity``
    sizes its executor by), the runs go to the executor it gives, which is closed after;
    the indices are those of an in-process study. A job left beside the output is refused
    before any executor is asked for."""
    model = gvcdyn.load(ISHIGAMI)
    made: list[tuple[int, _CountingExecutor]] = []

    def executor_for_runs(n_runs: int) -> _CountingExecutor:
        made.append((n_runs, _CountingExecutor()))
        return made[-1][1]

    output = tmp_path / "indices.nc"
    kept = Execution(output=output, keep_checkpoint=True)  # the job folder stays
    settings = {"n": 8, "seed": 2, "second_order": True}
    ds = sens.analyse(
        model, None, ["Ishigami"], execution=kept, executor_for_runs=executor_for_runs, **settings
    )
    ((n_runs, executor),) = made
    assert n_runs == 8 * (2 * 3 + 2)  # a Saltelli block of 3 inputs with S2: 2 D + 2 rows
    assert executor.chunks > 0 and executor.closed
    alone = sens.analyse(model, None, ["Ishigami"], **settings)
    for name in ("S1", "ST", "S2", "S1_conf", "ST_conf"):
        np.testing.assert_array_equal(ds[name].values, alone[name].values)

    with pytest.raises(CheckpointError, match="holds an unfinished job"):
        sens.analyse(
            model,
            None,
            ["Ishigami"],
            execution=Execution(output=output),
            executor_for_runs=executor_for_runs,
            **settings,
        )
    assert len(made) == 1  # refused before an executor (a cluster) was started

    sens.analyse(model, None, ["Ishigami"], method="morris", n=4, seed=2,
                 executor_for_runs=executor_for_runs)  # fmt: skip
    assert made[-1][0] == 4 * (3 + 1)  # a Morris trajectory: D + 1 runs
