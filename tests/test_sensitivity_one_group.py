"""A Sobol' study whose one group holds every input is refused in words.

SALib's Sobol' sampler ignores a single group (``_check_groups``) and draws a block per
input, so the analysis, reading blocks of the one group, failed with "40 runs do not form
whole groups of 3"; the only group's index would be 1 by definition anyway.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import gvcdyn
from gvcdyn.errors import SensitivityDesignError
from gvcdyn.sensitivity import study as sens

ISHIGAMI = Path(__file__).parent / "models" / "ishigami.mdl"


def _study(tmp_path: Path, text: str):
    ranges = tmp_path / "groups.toml"
    ranges.write_text(text)
    return sens.prepare(gvcdyn.load(ISHIGAMI), ["Ishigami"], ranges=ranges)


def test_one_group_of_every_input_is_refused(tmp_path: Path) -> None:
    study = _study(tmp_path, '[groups]\nall = ["X1", "X2", "X3"]\n')
    with pytest.raises(SensitivityDesignError, match="group 'all' holds every input"):
        sens.sobol(study, 8, seed=1)


def test_one_group_beside_a_lever_is_analysed(tmp_path: Path) -> None:
    study = _study(tmp_path, 'parameters = ["X1", "X2", "X3"]\n[groups]\ng = ["X1", "X2"]\n')
    ds = sens.sobol(study, 8, seed=1)
    assert list(ds.parameter.values) == ["g", "X3"]
