"""``sensitivity --params ""`` is refused, not read as "no --params" (the Levers view).

An empty ``--params`` (a shell variable that was not set: ``--params "$LEVERS"``) varied
the model's whole Levers view without a word; the study ran, labelled with levers the
user never named.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from console import assert_one_line_error, gvcdyn

ISHIGAMI = Path(__file__).parent / "models" / "ishigami.mdl"


@pytest.mark.parametrize("params", ["", " , "], ids=["empty", "commas"])
def test_empty_params_are_refused(params: str) -> None:
    result = gvcdyn("sensitivity", ISHIGAMI, "--vars", "Ishigami", "--n", "8", "--params", params)
    assert_one_line_error(result, "--params", "names no parameter", stdout_empty=True)
