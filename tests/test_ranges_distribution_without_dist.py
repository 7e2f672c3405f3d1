"""A [distributions] entry without ``dist`` says that ``dist`` is missing and shows the
form of an entry.

``"Shock Size" = { normal = [0.5, 0.1] }`` was refused with "dist = None is not one of
uniform, ...", which names a value the user never wrote.
"""

from __future__ import annotations

import pytest

from gvcdyn.errors import SensitivityDesignError
from gvcdyn.sensitivity.distributions import parse_distribution


def test_a_missing_dist_is_named_with_the_form_of_an_entry() -> None:
    with pytest.raises(SensitivityDesignError) as caught:
        parse_distribution("r.toml", "Shock Size", {"normal": [0.5, 0.1]})
    said = str(caught.value)
    assert "None" not in said, said
    assert "r.toml: distribution of 'Shock Size' has no 'dist' key" in said, said
    assert 'dist = "triangular", low = 0, high = 1, mode = 0.3' in said, said


def test_an_unknown_dist_still_lists_the_kinds() -> None:
    with pytest.raises(SensitivityDesignError, match="dist = 'gamma' is not one of uniform"):
        parse_distribution("r.toml", "Shock Size", {"dist": "gamma", "low": 0, "high": 1})
