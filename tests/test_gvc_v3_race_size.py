"""The race's size estimated from the cases (issue 20, thirteenth step): the config that
does it is the reference config with one more estimated constant, so its objective
compares with the reference's (a likelihood ratio on one degree of freedom)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import gvcdyn
from gvcdyn.calibrate.config import EstimatedParameter, load_config

CALIBRATION = Path(__file__).resolve().parents[1] / "calibration"


def test_the_race_config_is_the_reference_plus_scouting_intensity() -> None:
    later = load_config(CALIBRATION / "config_v3_later.toml")
    race = load_config(CALIBRATION / "config_v3_race.toml")
    added = [p for p in race.estimate if p not in later.estimate]
    assert added == [EstimatedParameter("Scouting Intensity", (0.0, 1.0), None)]
    assert [p for p in race.estimate if p not in added] == list(later.estimate)
    # emcee's red-blue moves (the "de" moves of both configs among them) need at least
    # twice as many walkers as parameters; the walkers are the posterior's one difference
    assert race.posterior.moves == later.posterior.moves == "de"
    assert race.posterior.walkers >= 2 * len(race.estimate) > later.posterior.walkers
    walkers = {"walkers": later.posterior.walkers}
    assert dataclasses.replace(race.posterior, **walkers) == later.posterior
    strip = {"path": None, "text": "", "estimate": (), "posterior": None}
    assert dataclasses.replace(race, **strip) == dataclasses.replace(later, **strip)


def test_the_bounds_are_the_levers_documented_range() -> None:
    """[0, 1] is Scouting Intensity's .mdl range: no source gives the race's size, so
    the cases may take it anywhere the model allows."""
    race = load_config(CALIBRATION / "config_v3_race.toml")
    lever = gvcdyn.load(race.model).parameter("Scouting Intensity")
    (scouting,) = [p for p in race.estimate if p.name == "Scouting Intensity"]
    assert scouting.bounds == (lever.minimum, lever.maximum) == (0.0, 1.0)
