"""Ctrl-C in a study's analysis (after every run is in) says the runs are kept.

With ``--out`` the finished runs stay in ``<out>.job`` until the indices are written, so a
Ctrl-C in the bootstrap loses nothing; the command said only "interrupted: no results
written", and the same command then was refused as "an unfinished job" without having
said how to continue it.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from gvcdyn.cli import common, run_cli
from gvcdyn.sensitivity import study as sens

ISHIGAMI = Path(__file__).parent / "models" / "ishigami.mdl"


@pytest.fixture
def said(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """What the command prints on its error console (bound to stderr at import)."""
    printed = io.StringIO()
    monkeypatch.setattr(common.err, "file", printed)
    return printed


def test_an_interrupted_analysis_says_how_to_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, said: io.StringIO
) -> None:
    real = sens.sobol_indices

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sens, "sobol_indices", ctrl_c)
    out = tmp_path / "indices.nc"
    argv = ["sensitivity", str(ISHIGAMI), "--vars", "Ishigami", "--n", "8", "--seed", "1"]
    argv += ["--out", str(out)]
    assert run_cli(argv) == 130
    text = " ".join(said.getvalue().split())
    assert f"the finished runs are kept in {out}.job" in text
    assert "--resume" in text

    monkeypatch.setattr(sens, "sobol_indices", real)
    assert run_cli([*argv, "--resume"]) == 0
    assert out.is_file()


def test_without_out_nothing_is_kept(monkeypatch: pytest.MonkeyPatch, said: io.StringIO) -> None:
    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sens, "sobol_indices", ctrl_c)
    argv = ["sensitivity", str(ISHIGAMI), "--vars", "Ishigami", "--n", "8", "--seed", "1"]
    assert run_cli(argv) == 130
    assert "interrupted: no results written" in said.getvalue()
