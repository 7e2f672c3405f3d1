"""``--workers N`` far beyond the machine's cores is refused before any worker starts.

``sensitivity --workers 64`` on a 2-core machine spent about four minutes (2 min 46 s of
CPU) starting 64 worker processes and then died with dask's ``OSError: Timed out trying
to connect ... after 30 s`` traceback.
"""

from __future__ import annotations

import time

import pytest

from gvcdyn.errors import ExecutorError
from gvcdyn.execute import executors
from gvcdyn.execute.executors import MAX_WORKERS_PER_CORE, DaskExecutor


def test_too_many_local_workers_are_refused_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executors.os, "cpu_count", lambda: 2)
    start = time.perf_counter()
    with pytest.raises(ExecutorError, match="--workers 64: this machine has 2 cores"):
        DaskExecutor(workers=64)
    assert time.perf_counter() - start < 2


def test_the_limit_leaves_room_for_a_few_workers_per_core() -> None:
    executors._check_local_workers(MAX_WORKERS_PER_CORE, 1)  # e.g. --workers 2 on one core
    with pytest.raises(ExecutorError, match="more than 4 would"):
        executors._check_local_workers(MAX_WORKERS_PER_CORE + 1, 1)
