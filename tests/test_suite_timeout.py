"""A hung test fails the suite instead of holding CI until its limit (pyproject.toml's
pytest settings: pytest-timeout's thread method, one xdist worker crash ends the run).

The suite's own configuration runs a file whose first test deadlocks, with the timeout
cut to a few seconds: the run must end by itself, name the test and show where it hung.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

HANGS = """
import threading


def test_deadlocks():
    lock = threading.Lock()
    lock.acquire()
    lock.acquire()  # waits for ever: the same thread holds it


def test_after_the_hang():
    pass
"""

PASSES = """
def test_passes():
    pass
"""


def test_a_hung_test_fails_the_run_naming_it(tmp_path: Path) -> None:
    (tmp_path / "test_hangs.py").write_text(HANGS)
    (tmp_path / "test_passes.py").write_text(PASSES)
    run = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-c", str(REPO / "pyproject.toml")),
            *("--rootdir", str(tmp_path), "-p", "no:cacheprovider"),
            *("--timeout=4", "-o", "faulthandler_timeout=2", "--numprocesses=2"),
            str(tmp_path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,  # without the suite's timeout the run never ends: this fails the test
    )
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    assert "crashed while running 'test_hangs.py::test_deadlocks'" in output, output
    assert "test_hangs.py::test_deadlocks" in output.split("short test summary")[-1], output
    assert "in test_deadlocks" in output, output  # faulthandler's stack of the hung thread
    assert "timeout method: thread" in output, output
