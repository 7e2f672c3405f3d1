"""A dask cluster that goes away mid-job: one error saying what is kept and how to resume.

Killing the scheduler under ``sensitivity --scheduler`` ended in a traceback of dask's
``FutureCancelledError`` ("cancelled for reason: scheduler-connection-lost"), exit 1;
the finished chunks were kept, but nothing said so or how to resume.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from distributed.client import FutureCancelledError
from executor_helpers import Polynomial, design

from gvcdyn.errors import ExecutorError
from gvcdyn.execute import Checkpoint, DaskExecutor, InProcessExecutor, fingerprint, map_runs


class _Future:
    """A finished dask future, or one the scheduler cancelled when its connection went."""

    def __init__(self, result: tuple | None) -> None:
        self._result = result

    def result(self) -> tuple:
        if self._result is None:
            raise FutureCancelledError("gvcdyn-chunk-3", "scheduler-connection-lost")
        return self._result

    def release(self) -> None:
        pass


def test_a_cancelled_chunk_is_an_executor_error_naming_the_cluster() -> None:
    executor = DaskExecutor.__new__(DaskExecutor)  # no cluster: only _collect is exercised
    executor.address, executor.max_in_flight = "tcp://10.0.0.5:8786", 2
    done, gone = _Future(("Y", "status")), _Future(None)
    futures = {done: 0, gone: 3}
    collected = executor._collect(iter([done, gone]), futures, lambda: False)
    assert next(collected) == (0, "Y", "status")
    with pytest.raises(ExecutorError, match="scheduler-connection-lost") as caught:
        next(collected)
    assert "tcp://10.0.0.5:8786" in str(caught.value) and "chunk 3" in str(caught.value)


class _GoesAway(InProcessExecutor):
    """Runs ``good`` chunks, then fails as a cluster that went away does."""

    def __init__(self, good: int) -> None:
        self.good = good

    def map_chunks(self, f, chunks) -> Iterator[tuple]:
        for n, result in enumerate(super().map_chunks(f, chunks)):
            if n == self.good:
                raise ExecutorError("the dask cluster at tcp://h:1 cancelled chunk 2 (gone)")
            yield result


def test_an_executor_failure_says_what_is_kept_and_how_to_resume(tmp_path: Path) -> None:
    X = design(50, seed=3)
    fp = fingerprint(model="m", config={"N": 50}, seed=1, n_runs=50, chunk_size=10, X=X)
    out = tmp_path / "sa.nc"
    command = "gvcdyn sensitivity m.mdl -o sa.nc --resume"
    checkpoint = Checkpoint.open(out, fp, resume_command=command)
    with pytest.raises(ExecutorError) as caught:
        map_runs(Polynomial(), X, executor=_GoesAway(2), chunk_size=10, checkpoint=checkpoint)
    message = str(caught.value)
    assert message.startswith("the dask cluster at tcp://h:1 cancelled chunk 2 (gone); ")
    assert f"2 of 5 chunks are saved in {out}.job; resume with: {command}" in message

    resumed = map_runs(
        Polynomial(),
        X,
        chunk_size=10,
        checkpoint=Checkpoint.open(out, fp, resume=True, resume_command=command),
    )
    assert resumed.reused == 2
    np.testing.assert_array_equal(resumed.Y, Polynomial()(X)[0])
