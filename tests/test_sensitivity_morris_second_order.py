"""``sensitivity --method morris --second-order`` is refused, not run without S2 in silence.

The flag reached only a Sobol' study; with Morris it was dropped and the screening ran as
if it had not been given.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gvcdyn.errors import SensitivityDesignError
from gvcdyn.sensitivity.study import analyse

ISHIGAMI = Path(__file__).parent / "models" / "ishigami.mdl"


def test_morris_with_second_order_is_refused() -> None:
    with pytest.raises(SensitivityDesignError, match="Morris screening has none"):
        analyse(ISHIGAMI, None, ["Ishigami"], method="morris", n=4, second_order=True, seed=1)
