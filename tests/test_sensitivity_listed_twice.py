"""``sensitivity --at 1,1`` or ``--vars A --vars a``: refused in the command's words.

Both gave the outcomes' own refusal, "two outcomes are both labelled 'Ishigami @ 1';
give one a name=", a keyword of the Python ``Outcome`` that the command has no way to
pass; ``--at nan`` said "at=nan must be 'final', 'run' or a finite time", naming a
choice (``run``) that ``--at`` does not take.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import gvcdyn
from gvcdyn.errors import SensitivityDesignError
from gvcdyn.sensitivity import study as sens

ISHIGAMI = Path(__file__).parent / "models" / "ishigami.mdl"


@pytest.fixture(scope="module")
def model():
    return gvcdyn.load(ISHIGAMI)


@pytest.mark.parametrize(
    ("outputs", "at", "says"),
    [
        (["Ishigami"], "1,1", "--at lists the time 1 twice"),
        (["Ishigami", "ishigami"], "final", "output 'Ishigami' is listed twice (--vars)"),
        (["Ishigami"], "nan", "--at 'nan': give 'final', 'all' or saved times"),
        (["Ishigami"], "1,inf", "(finite numbers)"),
    ],
    ids=["time-twice", "output-twice", "nan", "inf"],
)
def test_a_mistake_in_what_is_read_is_named_in_the_commands_words(
    model, outputs, at: str, says: str
) -> None:
    with pytest.raises(SensitivityDesignError) as caught:
        sens.prepare(model, outputs, at=at)
    assert says in str(caught.value)
    assert "name=" not in str(caught.value)
