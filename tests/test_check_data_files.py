"""``gvcdyn check`` without ``--reference`` for a model that reads data files.

PySD is run on a copy of the model in a temporary folder (it writes a ``.py`` beside the
``.mdl``); the files the model's GET DIRECT functions name, relative to the model's
folder, must be found from there too: one beside the model, one in a sibling folder
(``../common``). Through the installed console script, as a user runs it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mdl_helpers import write_mdl
from test_cli_usability import gvcdyn

from gvcdyn.checks.replication import pysd_reference

MODEL = """
demand := GET DIRECT DATA('series.csv', ',', 'A', 'B2')
	~	widgets
	~		|

k = GET DIRECT CONSTANTS('../common/k.csv', ',', 'B2')
	~	Dmnl
	~		|

stock = INTEG(demand * k, 0)
	~	widgets
	~		|
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """``model/m.mdl`` reading ``model/series.csv`` and ``common/k.csv``."""
    (tmp_path / "model").mkdir()
    (tmp_path / "common").mkdir()
    (tmp_path / "model" / "series.csv").write_text("time,v\n0,1\n5,3\n10,2\n")
    (tmp_path / "common" / "k.csv").write_text("name,v1\nrow,2.5\n")
    write_mdl(tmp_path / "model", MODEL, final_time=10, name="m")
    return tmp_path


def test_check_against_pysd_finds_the_models_data_files(folder: Path) -> None:
    result = gvcdyn("check", "model/m.mdl", cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout
    assert "3 columns agree" in result.stdout  # demand, k and stock were all compared
    # nothing was written beside the user's model (PySD's .py went to the temporary copy)
    assert sorted(p.name for p in (folder / "model").iterdir()) == ["m.mdl", "series.csv"]


def test_pysd_reference_reads_the_data_at_its_relative_places(folder: Path) -> None:
    """The library function: given the files the model reads, PySD's run uses them."""
    files = [folder / "model" / "series.csv", folder / "common" / "k.csv"]
    frame = pysd_reference(folder / "model" / "m.mdl", read_files=files)
    assert frame["k"].iloc[0] == 2.5
    assert list(frame["demand"].iloc[[0, 5, 10]]) == [1.0, 3.0, 2.0]
