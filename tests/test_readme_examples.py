"""The README's library examples run as written and print what they claim.

Each ```python block that follows a ``<!-- readme-example: NAME -->`` marker is executed
in a fresh process from the repository root, so the documentation cannot drift from the
API without a failing test.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MARKED = re.compile(r"<!-- readme-example: (\S+) -->\s*```python\n(.*?)```", re.DOTALL)


def _examples() -> dict[str, str]:
    return dict(MARKED.findall((REPO / "README.md").read_text(encoding="utf-8")))


def test_readme_has_the_seam_examples() -> None:
    assert {"sobol", "de-fit"} <= set(_examples())


@pytest.mark.parametrize("name", sorted(_examples()))
def test_readme_example_runs(name: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _examples()[name]],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip(), "the example prints its result"
