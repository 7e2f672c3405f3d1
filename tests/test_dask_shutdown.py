"""Closing a local dask cluster prints nothing (issue 21: a ``CommClosedError`` traceback
was printed at dask shutdown, with exit code 0).

What dask, tornado and asyncio log while the client and the cluster close is noise once
the job's results are in: ``DaskExecutor.close`` keeps it below CRITICAL from stderr,
asyncio's records too (its logger has no handler, so Python's last resort printed them,
out of reach of the handler level dask sets), in this process and in the local workers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mdl_helpers import LOGISTIC, write_mdl

# A DaskExecutor whose client and cluster log, as they close, what dask's do when a comm
# is already closed; then one error after the close, which must print
NOISY_CLOSE = """
import logging
import distributed  # dask's logging configuration, as in a job
from distributed.comm.core import CommClosedError
from gvcdyn.execute.executors import DaskExecutor

class Noisy:
    def close(self):
        for name in ("distributed.client", "distributed.core", "tornado.application",
                     "asyncio"):
            try:
                raise CommClosedError("in <TLS (closed) ConnectionPool.heartbeat_worker>")
            except CommClosedError:
                logging.getLogger(name).exception("Exception in callback (%s)", name)

executor = DaskExecutor.__new__(DaskExecutor)
executor._client, executor._cluster = Noisy(), Noisy()
executor.close()
logging.getLogger("distributed.client").error("an error after the close")
"""


def test_what_dask_logs_while_the_executor_closes_is_not_printed() -> None:
    """Fails before: asyncio's records printed their CommClosedError tracebacks (dask's
    and tornado's share the handler whose level close() raised)."""
    done = subprocess.run(
        [sys.executable, "-c", NOISY_CLOSE], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "CommClosedError" not in done.stderr, done.stderr
    assert "an error after the close" in done.stderr  # quiet only while it closes


# A chunk that logs to asyncio and to dask in its worker, on a local cluster
WORKER_LOGS = """
import numpy as np
from gvcdyn.execute.executors import Chunk, DaskExecutor

def f(X):
    import logging
    import numpy as np
    logging.getLogger("asyncio").error("asyncio in a worker")
    logging.getLogger("distributed.worker").error("dask in a worker")
    return X, np.zeros(len(X), dtype=np.int64)

if __name__ == "__main__":
    with DaskExecutor(workers=1) as executor:
        chunks = [Chunk(0, 0, 1, np.zeros((1, 1)))]
        assert [index for index, *_ in executor.map_chunks(f, chunks)] == [0]
"""


@pytest.mark.slow  # starts a local cluster
def test_a_local_workers_asyncio_records_are_not_printed(tmp_path: Path) -> None:
    """The workers' asyncio records (no handler: Python's last resort printed them, a
    CommClosedError as a worker closes among them) are quiet as their dask records are.
    Fails before: 'asyncio in a worker' on stderr."""
    script = tmp_path / "worker_logs.py"
    script.write_text(WORKER_LOGS)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "in a worker" not in done.stderr, done.stderr


@pytest.mark.slow  # starts a local cluster of two workers
def test_a_job_on_local_workers_ends_without_a_traceback(tmp_path: Path) -> None:
    """``gvcdyn run --sweep ... --workers 2``: exit code 0 and nothing from dask on stderr.
    (Passes before too on this machine: the issue's traceback did not recur in 20 runs of
    such jobs; this guards the shutdown as a whole.)"""
    model = write_mdl(tmp_path, LOGISTIC, final_time=100, time_step=0.1, saveper=10)
    exe = shutil.which("gvcdyn")
    assert exe
    command = [exe, "run", str(model), "--sweep", "a=0:1:100", "--sweep", "b=0:1:100"]
    command += ["-o", str(tmp_path / "sweep.nc"), "--workers", "2"]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert done.returncode == 0, done.stderr
    for noise in ("Traceback", "CommClosedError", "ERROR", "distributed."):
        assert noise not in done.stderr, done.stderr
    assert (tmp_path / "sweep.nc").exists()
