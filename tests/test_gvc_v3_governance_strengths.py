"""v3's governance strengths estimated from the cases (issue 20, sixteenth step; protocol
studies/protocols/v3_governance_strengths.md): the config is the reference config with
four more estimated constants, so its objective compares with the reference's (a
likelihood ratio on four degrees of freedom); its cross-validation twin differs only in
how it cross-validates."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import gvcdyn
from gvcdyn.calibrate.config import load_config

CALIBRATION = Path(__file__).resolve().parents[1] / "calibration"
STRENGTHS = (
    "Buyer Blocking Strength",
    "Base Experimentation Space",
    "Buyer Rent Share",
    "Buyer Gain Capture",
)


def test_the_config_is_the_reference_plus_the_four_strengths() -> None:
    later = load_config(CALIBRATION / "config_v3_later.toml")
    governance = load_config(CALIBRATION / "config_v3_governance.toml")
    added = [p for p in governance.estimate if p not in later.estimate]
    assert tuple(p.name for p in added) == STRENGTHS
    assert all(p.prior_normal is None for p in added)  # uniform over the bounds
    assert [p for p in governance.estimate if p not in added] == list(later.estimate)
    # emcee's red-blue moves need at least twice as many walkers as parameters
    assert governance.posterior.walkers >= 2 * len(governance.estimate) == 24
    walkers = {"walkers": later.posterior.walkers}
    assert dataclasses.replace(governance.posterior, **walkers) == later.posterior
    # the fold refits also start at the model's values (the bounds' centre fails checks)
    assert governance.cv_model_start and not later.cv_model_start
    strip = {"path": None, "text": "", "estimate": (), "posterior": None, "cv_model_start": True}
    assert dataclasses.replace(governance, **strip) == dataclasses.replace(later, **strip)


def test_each_strength_is_bounded_by_its_documented_range() -> None:
    """The seeds give each strength a direction, never a size: the cases may take it
    anywhere the model allows."""
    governance = load_config(CALIBRATION / "config_v3_governance.toml")
    model = gvcdyn.load(governance.model)
    bounds = {p.name: p.bounds for p in governance.estimate}
    for name in STRENGTHS:
        constant = model.parameter(name)
        assert bounds[name] == (constant.minimum, constant.maximum), name


def test_the_cv_twin_differs_only_in_how_it_cross_validates() -> None:
    governance = load_config(CALIBRATION / "config_v3_governance.toml")
    twin = load_config(CALIBRATION / "config_v3_governance_cv.toml")
    assert (twin.cv_repeats, twin.cv_loo) == (3, True)
    assert (governance.cv_repeats, governance.cv_loo) == (1, False)
    strip = {"path": None, "text": "", "cv_repeats": 1, "cv_loo": False}
    assert dataclasses.replace(twin, **strip) == dataclasses.replace(governance, **strip)
