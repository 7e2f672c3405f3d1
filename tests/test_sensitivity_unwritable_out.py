"""``sensitivity --out`` in a folder that cannot be made or written: one line, before the runs.

The output was checked for its extension and for a file among its parents only; the
first write was the checkpoint folder beside it, after the kernel was loaded, and its
``FileNotFoundError`` / ``PermissionError`` came out as a traceback; a ``--plot`` there
failed after every run, losing the indices when there was no ``--out``. ``/proc`` stands in
for such a folder (no one, root included, can create one there).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from console import assert_one_line_error, gvcdyn

import gvcdyn as gd
from gvcdyn.errors import OutputWriteError
from gvcdyn.execute import Execution
from gvcdyn.sensitivity import study as sens

ISHIGAMI = Path(__file__).parent / "models" / "ishigami.mdl"
UNWRITABLE = Path("/proc/gvcdyn-test/indices.nc")

pytestmark = pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")


@pytest.mark.parametrize("option", ["--out", "--plot"])
def test_the_command_refuses_an_unwritable_output_before_any_run(option: str) -> None:
    path = UNWRITABLE if option == "--out" else UNWRITABLE.with_suffix(".png")
    result = gvcdyn(
        "sensitivity", ISHIGAMI, "--vars", "Ishigami", "--n", "8", "--seed", "1", option, path
    )
    # nothing on stdout: refused before the design ran (no table of indices)
    assert_one_line_error(result, f"cannot write {path}", stdout_empty=True)


def test_a_checkpoint_folder_that_cannot_be_made_is_an_output_error() -> None:
    study = sens.prepare(gd.load(ISHIGAMI), ["Ishigami"])
    with pytest.raises(OutputWriteError, match=r"indices\.nc\.job: No such file"):
        sens.sobol(study, 8, seed=1, execution=Execution(output=UNWRITABLE))
