"""Ctrl-C on a job with ``--workers``: one line from gvcdyn, nothing from the workers.

A terminal sends Ctrl-C to every process of the job. The local cluster's worker
processes ignore it (they are started with SIGINT ignored, which they inherit), and what
the workers and nannies log while the cluster closes (a heartbeat to a closed scheduler,
cancelled tasks) is silenced: this process catches the Ctrl-C and says in one line what
is kept.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from mdl_helpers import LOGISTIC, write_mdl

from gvcdyn.execute import DaskExecutor

pytestmark = pytest.mark.slow  # starts local dask clusters


def test_local_workers_ignore_ctrl_c_and_this_process_keeps_it() -> None:
    with DaskExecutor(workers=1) as executor:
        handlers = executor._client.run(lambda: signal.getsignal(signal.SIGINT))
        assert list(handlers.values()) == [signal.SIG_IGN]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_to_the_whole_job_prints_one_line_and_no_worker_traceback(
    tmp_path: Path,
) -> None:
    slow = write_mdl(tmp_path, LOGISTIC, final_time=1000, time_step=0.01, saveper=100)
    exe = shutil.which("gvcdyn")
    assert exe
    command = [exe, "run", str(slow), "--sweep", "a=0:1:300", "--sweep", "b=0:1:300"]
    command += ["-o", str(tmp_path / "w.nc"), "--workers", "2"]
    env = {**os.environ, "TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "120"}
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    seen = b""
    while b"/90000" not in seen:  # the bar is drawn: the workers are up
        chunk = os.read(process.stderr.fileno(), 4096)
        assert chunk, seen.decode(errors="replace")
        seen += chunk
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: to gvcdyn and its workers alike
    _, rest = process.communicate(timeout=300)
    stderr = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", (seen + rest).decode(errors="replace"))
    assert process.returncode == 130, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    # 'interrupted: N of M chunks are saved ...; resume with: ...' once the chunks run,
    # 'interrupted: no results written' if the Ctrl-C came before the first was sent
    assert lines[-1].startswith("interrupted: "), lines[-1]
    for noise in ("Traceback", "KeyboardInterrupt", "CancelledError", "ERROR", "distributed"):
        assert noise not in stderr, stderr
