"""The installed console script, run as a user runs it: one helper for the CLI tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def gvcdyn(
    *args: str | Path, cwd: Path | None = None, columns: int = 200
) -> subprocess.CompletedProcess[str]:
    """Run ``gvcdyn ARGS`` with a terminal ``columns`` wide (tables are not cut)."""
    exe = shutil.which("gvcdyn")
    assert exe, "the gvcdyn console script is not on PATH: pip install -e '.[test]'"
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run(
        [exe, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300, env=env
    )


def assert_one_line_error(
    result: subprocess.CompletedProcess[str], *fragments: str, stdout_empty: bool = False
) -> str:
    """Exit 2, no traceback, exactly one non-empty stderr line 'error: ...' naming
    ``fragments``, without a box around it (and nothing on stdout with ``stdout_empty``)."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    if stdout_empty:
        assert result.stdout == "", result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    (line,) = lines
    assert line.startswith("error: "), line
    assert not set(line) & set("╭╮╰╯│─"), line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line
