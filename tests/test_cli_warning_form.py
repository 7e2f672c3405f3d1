"""How the console script prints a warning raised in gvcdyn's code (cli._show_warning).

gvcdyn's own notices (UserWarning) are one line ``warning: ...``, as the commands print
theirs. A warning of another category raised there (numpy's RuntimeWarning ``invalid value
encountered in divide`` is attributed to the gvcdyn line that divided) keeps its category
in that line (``warning: RuntimeWarning: ...``): without it the message read as gvcdyn's
own words. A file outside the package keeps Python's form, and "outside" is by folder: a
sibling folder whose name starts with the package's (``gvcdyn_x/``) is outside.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from gvcdyn import cli
from gvcdyn.cli import _show_warning

PACKAGE = Path(__file__).resolve().parents[1] / "gvcdyn"
INSIDE = str(PACKAGE / "calibrate" / "predict.py")


def _shown(message: str, category: type[Warning], filename: str) -> str:
    stream = io.StringIO()
    _show_warning(message, category, filename, 12, file=stream)
    return stream.getvalue()


def test_gvcdyns_own_notice_is_its_message() -> None:
    assert _shown("chunk 3 recomputed", UserWarning, INSIDE) == "warning: chunk 3 recomputed\n"


@pytest.mark.parametrize("category", [RuntimeWarning, DeprecationWarning, FutureWarning])
def test_another_category_keeps_its_name(category) -> None:
    said = _shown("invalid value encountered in divide", category, INSIDE)
    assert said == f"warning: {category.__name__}: invalid value encountered in divide\n"


@pytest.mark.parametrize("folder", ["gvcdyn_x", "gvcdyn.egg-info"])
def test_a_sibling_folder_with_the_packages_prefix_is_not_gvcdyn(folder, monkeypatch) -> None:
    """Handed to Python's own showwarning (the one at import; under pytest its recorder,
    so it is replaced here by one that says what it was given)."""
    passed: list[tuple] = []
    monkeypatch.setattr(cli, "_python_showwarning", lambda *given: passed.append(given))
    filename = str(PACKAGE.parent / folder / "module.py")
    assert _shown("careful", UserWarning, filename) == ""
    assert passed == [("careful", UserWarning, filename, 12, passed[0][4], None)]
    assert _shown("careful", UserWarning, INSIDE) == "warning: careful\n"
    assert len(passed) == 1
