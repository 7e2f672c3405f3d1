"""``gvcdyn.load`` takes a shipped model's name, as ``what_if``, ``sensitivity`` and every
command do: ``gvcdyn.load("gvc_upgrading")`` said "model file not found".

The resolution lives above the seam (``gvcdyn.bundled.loading``, the analyses layer, which
may import ``gvcdyn.model``); ``gvcdyn.model.load`` itself stays a reader of paths.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mdl_helpers import write_mdl

import gvcdyn
from gvcdyn.bundled import gvc_model
from gvcdyn.errors import ModelFileNotFoundError

DECAY = """
stock = INTEG(-rate * stock, 1)
	~	widgets
	~	A stock that decays.
	|
rate = 0.1
	~	1/Month [0, 1]
	~	Decay rate.
	|
"""


@pytest.mark.parametrize("name", ["gvc_upgrading", "gvc_upgrading.mdl", Path("gvc_upgrading")])
def test_load_takes_the_shipped_models_name(name, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no file of that name here: the shipped model
    model = gvcdyn.load(name)
    assert model.path == gvc_model()[0]
    assert "Shock Size" in {p.name for p in model.parameters}


def test_a_file_that_exists_wins_over_the_shipped_name(tmp_path, monkeypatch) -> None:
    write_mdl(tmp_path, DECAY, final_time=4, name="gvc_upgrading")
    monkeypatch.chdir(tmp_path)
    model = gvcdyn.load("gvc_upgrading.mdl")
    assert model.path == Path("gvc_upgrading.mdl")
    assert [p.name for p in model.parameters] == ["rate"]


def test_an_unknown_name_is_refused_naming_the_shipped_models(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelFileNotFoundError, match="gvc_upgradin") as info:
        gvcdyn.load("gvc_upgradin")
    assert "gvc_upgrading" in str(info.value).split("gvc_upgradin;", 1)[1]
    assert isinstance(info.value, FileNotFoundError)
