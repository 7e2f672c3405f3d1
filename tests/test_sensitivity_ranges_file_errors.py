"""Mistakes in what a sensitivity study varies name the file and a remedy a user can take.

- A ``[ranges]`` entry beyond the lever's documented range was refused by the parameter
  space with "pass allow_out_of_range=True", which neither the command nor a ranges file
  can do, and without naming the file (the docs said the file could widen a range).
- A lever with no documented range (``--params A``) said "give one, e.g.
  bounds={'A': (low, high)}", a Python argument.
- A ranges file's evidence source that cannot be read was named after the model's Levers
  view ("the 'Levers' view of ishigami.mdl: posterior = ..."), not after the file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import gvcdyn
from gvcdyn.errors import GvcdynError
from gvcdyn.sensitivity import study as sens

ISHIGAMI = Path(__file__).parent / "models" / "ishigami.mdl"


@pytest.fixture(scope="module")
def model():
    return gvcdyn.load(ISHIGAMI)


def _refusal(model, tmp_path: Path, text: str | None, params=None) -> str:
    ranges = None
    if text is not None:
        ranges = tmp_path / "study.toml"
        ranges.write_text(text)
    with pytest.raises(GvcdynError) as caught:
        sens.prepare(model, ["Ishigami"], params=params, ranges=ranges)
    return str(caught.value)


def test_a_range_beyond_the_documented_one_names_the_file(model, tmp_path: Path) -> None:
    message = _refusal(model, tmp_path, "[ranges]\nX1 = [-100, 100]\n")
    assert message.startswith(f"{tmp_path / 'study.toml'}: range [-100, 100] of 'X1'")
    assert "documented range [-3.14159, 3.14159]" in message
    assert "allow_out_of_range" not in message


@pytest.mark.parametrize(
    ("text", "params", "source"),
    [
        (None, ["A", "X1"], "--params"),
        ('parameters = ["A", "X1"]\n', None, "study.toml"),
    ],
    ids=["params", "ranges-file"],
)
def test_a_lever_without_a_range_says_how_to_give_one(
    model, tmp_path: Path, text, params, source: str
) -> None:
    message = _refusal(model, tmp_path, text, params)
    assert source in message and "'A' has no finite documented range" in message
    assert '[ranges] "A" = [low, high]' in message
    assert "bounds=" not in message


def test_a_range_for_a_lever_without_one_is_used(model, tmp_path: Path) -> None:
    ranges = tmp_path / "study.toml"
    ranges.write_text('parameters = ["A", "X1"]\n[ranges]\nA = [6, 8]\n')
    study = sens.prepare(model, ["Ishigami"], ranges=ranges)
    assert study.space.bounds.tolist() == [[6.0, 8.0], [-3.141592653589793, 3.141592653589793]]


@pytest.mark.parametrize("key", ["posterior", "cases"])
def test_an_unreadable_source_is_named_after_the_ranges_file(
    model, tmp_path: Path, key: str
) -> None:
    message = _refusal(model, tmp_path, f'{key} = "missing.toml"\n')
    assert message.startswith(f"{tmp_path / 'study.toml'}: {key} = ")
    assert "Levers" not in message
