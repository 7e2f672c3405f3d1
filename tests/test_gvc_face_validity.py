"""The declared case -> lever mapping and the model's face validity (issue 10).

Every one of the 41 coded cases must map onto the model's levers (or be excluded with a
reason), each lever the mapping or its ``[unmapped]`` list names must exist, and with the
pinned reference parameters the model's measurement variables must rank the cases in
the same direction as the observed codes (Spearman rho > 0.3 for ``outcome_class`` and
``functional_upg``), the check ``calibration/face_validity.py`` prints.
"""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path

import pandas as pd
from gvc_runner import LEVERS, gvcdyn_model, reference_params

REPO = Path(__file__).resolve().parents[1]
MAPPING = REPO / "calibration" / "case_levers.toml"


def _face_validity_module():
    """``calibration/face_validity.py`` (a script, not a package module)."""
    spec = importlib.util.spec_from_file_location(
        "face_validity", REPO / "calibration" / "face_validity.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("face_validity", module)
    spec.loader.exec_module(module)
    return module


def test_every_case_maps_and_every_named_lever_exists() -> None:
    """41 cases in, 41 lever rows out (none excluded), only real levers named, and the
    unmapped list plus the mapped levers cover every lever of the model."""
    from gvcdyn.calibrate.cases import apply_mapping, read_case_csv, read_mapping

    mapping = read_mapping(MAPPING)
    cases = read_case_csv(REPO / "calibration" / "gvc_cases.csv")
    table = apply_mapping(cases, mapping, model=gvcdyn_model())
    assert len(table) == len(cases) == 41
    assert not table.excluded
    named = set(table.levers) | set(tomllib.loads(MAPPING.read_text())["unmapped"])
    assert named == set(LEVERS)
    # horizons are the case periods, trigger years relative to the period start
    assert table.horizon.min() > 0
    years = table.values[:, list(table.levers).index("Shock Year")]
    assert (years >= 0).all() and (years <= 40).all()


def test_face_validity_ranks_cases_in_the_observed_direction() -> None:
    """With the reference parameters, Spearman rho > 0.3 between the model quantity and
    the observed code, for outcome_class and functional_upg (n = 41)."""
    fv = _face_validity_module()
    frame, rho = fv.face_validity(reference_params())
    assert len(frame) == 41
    assert isinstance(rho, pd.Series)
    assert rho["outcome_class"] > 0.3, rho.to_dict()
    assert rho["functional_upg"] > 0.3, rho.to_dict()
