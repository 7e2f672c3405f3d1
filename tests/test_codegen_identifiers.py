"""Generated identifiers: distinct Vensim names stay distinct variables in the kernel.

Python reads identifiers NFKC-normalised (``ﬁx`` is ``fix``, ``Ａ`` is ``A``, ``ｃ`` is
``c``), so the generator compares names in that form before it picks them. PySD keeps
these names apart too (its ASCII identifiers get ``_1`` suffixes): it gives 101, 10 and
6 for the models below.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pytest
from mdl_helpers import write_mdl

import gvcdyn
from gvcdyn.backend import codegen


def _eq(name: str, expr: str) -> str:
    return f"{name} = {expr}\n\t~\t\n\t~\t\n\t|\n"


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GVCDYN_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize(
    ("equations", "expected"),
    [
        (_eq("\ufb01x", "100") + _eq("fix", "1") + _eq("Out", "\ufb01x + fix"), 101.0),
        (_eq("\uff21", "4") + _eq("a", "6") + _eq("Out", "\uff21 + a"), 10.0),
        (_eq("k", "3") + _eq("\uff43", "k * (Time + 1)") + _eq("Out", "\uff43 * 2"), 6.0),
    ],
    ids=["ligature-fi", "fullwidth-A", "fullwidth-c-vs-parameter-array"],
)
def test_names_equal_after_nfkc_stay_distinct(
    tmp_path: Path, equations: str, expected: float
) -> None:
    model = gvcdyn.load(write_mdl(tmp_path, equations, name="names"))
    names = codegen.identifiers(model.ir)
    normal = [unicodedata.normalize("NFKC", n) for n in names.values()]
    assert normal == list(names.values())  # what Python reads is what was checked
    assert len(set(normal)) == len(normal)  # no two symbols share a variable
    assert "c" not in normal  # the parameter row keeps its name
    for method in codegen.METHODS:
        out = model.run(method=method)["Out"].values.ravel()
        assert out[0] == expected
        assert np.all(np.isfinite(out))


def test_ascii_and_accented_names_are_unchanged() -> None:
    """Names already in normal form keep their readable identifiers (kernel sources of
    existing models do not change)."""
    assert codegen._identifier_base("Market Share") == "market_share"
    assert codegen._identifier_base("Producción Local") == "producción_local"
    assert codegen._identifier_base("x²") == "x2"
