"""A lever listed twice in one group names that group once, not "in groups 'g' and 'g'"."""

from __future__ import annotations

from pathlib import Path

import pytest

from gvcdyn.errors import SensitivityDesignError
from gvcdyn.sensitivity.levers import read_ranges


def test_a_lever_twice_in_one_group(tmp_path: Path) -> None:
    path = tmp_path / "groups.toml"
    path.write_text('[groups]\ng = ["X1", "X1"]\n')
    with pytest.raises(SensitivityDesignError, match="group 'g' lists lever 'X1' twice"):
        read_ranges(path)
