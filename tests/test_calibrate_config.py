"""The calibration config: the example parses; every mistake is one clear error naming it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from gvcdyn.calibrate.config import EXAMPLE_CONFIG, load_config, parse_config
from gvcdyn.errors import CalibrationConfigError

REPO = Path(__file__).resolve().parents[1]


def test_example_config_parses_and_resolves_paths(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(EXAMPLE_CONFIG)
    config = load_config(path)
    assert config.cases == (tmp_path / "gvc_cases.csv").resolve()
    assert [e.name for e in config.estimate] == ["Local Learning Rate", "Innovation Learning Rate"]
    assert config.estimate[1].prior_normal == (1.5, 0.5)
    assert config.outcomes[0].scale == 0.1 and config.outcomes[1].scale == 1.0
    assert config.seeds == (1, 2, 3) and config.cv_outcomes == ("outcome_class", "functional_upg")
    reseeded = config.with_seed(40)
    assert (
        reseeded.seeds == (40, 1040, 2040) and reseeded.uncertainty_seed != config.uncertainty_seed
    )


def test_the_project_config_parses():
    config = load_config(REPO / "calibration" / "config.toml")
    assert 1 <= len(config.estimate) <= 8
    assert config.cases.is_file() and config.mapping.is_file()


def edited(old: str, new: str) -> dict:
    assert old in EXAMPLE_CONFIG
    return tomllib.loads(EXAMPLE_CONFIG.replace(old, new, 1))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('cases = "gvc_cases.csv"\n', "", "'cases'"),
        ("[estimate]", "[estimated]", "unknown key 'estimated'"),
        ("bounds = [0.05, 1.5]", "bounds = [1.5, 0.05]", "low < high"),
        ("bounds = [0.05, 1.5]", "bounds = [0.05]", "two finite numbers"),
        ("prior = { normal = [1.5, 0.5] }", 'prior = "flat"', "prior must be"),
        ("prior = { normal = [1.5, 0.5] }", "prior = { normal = [1.5, 0] }", "sd must be > 0"),
        ('levels = ["0", "1", "2"]', 'levels = ["0"]', "two or more distinct"),
        ('levels = ["0", "1", "2"]', 'levels = ["0", "0"]', "two or more distinct"),
        ("scale = 0.1", "scale = -1", "scale must be"),
        ('column = "outcome_class"', 'column = "functional_upg"', "listed twice"),
        ("seeds = [1, 2, 3]", 'seeds = ["one"]', "seeds must be"),
        # each start is seeded on its own: a seed twice is one search run twice
        ("seeds = [1, 2, 3]", "seeds = [1, 2, 1]", "seed 1 is listed twice"),
        ("popsize = 10", "popsize = 1", "popsize must be an integer >= 2"),
        ('polish = "Powell"', 'polish = "BFGS"', "polish must be"),
        ('outcomes = ["outcome_class", "functional_upg"]', 'outcomes = ["inst"]', "'inst'"),
        ('method = "euler"', 'method = "euler"\ntime_step = 0', "time_step must be"),
    ],
)
def test_config_mistakes_are_named(old, new, message):
    with pytest.raises(CalibrationConfigError, match=message):
        parse_config(edited(old, new))


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(CalibrationConfigError, match=r"not found: .*nope\.toml"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[estimate\n")
    with pytest.raises(CalibrationConfigError, match="not valid TOML"):
        load_config(bad)


@pytest.mark.parametrize(
    ("reader", "error"),
    [
        ("gvcdyn.calibrate.config:load_config", CalibrationConfigError),
        ("gvcdyn.calibrate.cases:read_mapping", "CaseMappingError"),
        ("gvcdyn.whatif.scenarios:read_scenario", "ScenarioFormatError"),
        ("gvcdyn.sensitivity.levers:read_ranges", "SensitivityDesignError"),
    ],
)
def test_every_toml_reader_refuses_bytes_that_are_not_utf8(tmp_path, reader, error):
    """The four TOML inputs share one reader: bad bytes are refused by name, not with a bare
    UnicodeDecodeError from deep inside."""
    import importlib

    import gvcdyn.errors

    module, name = reader.split(":")
    read = getattr(importlib.import_module(module), name)
    if isinstance(error, str):
        error = getattr(gvcdyn.errors, error)
    path = tmp_path / "latin1.toml"
    path.write_bytes('description = "Caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(error, match=r"latin1\.toml is not UTF-8"):
        read(path)


@pytest.mark.parametrize(
    ("reader", "error"),
    [
        ("gvcdyn.calibrate.config:load_config", CalibrationConfigError),
        ("gvcdyn.calibrate.cases:read_mapping", "CaseMappingError"),
        ("gvcdyn.whatif.scenarios:read_scenario", "ScenarioFormatError"),
        ("gvcdyn.sensitivity.levers:read_ranges", "SensitivityDesignError"),
    ],
)
def test_every_toml_reader_names_an_unknown_top_level_key_and_the_file(tmp_path, reader, error):
    """One unknown-key check: the same words in all four, the file and the key named."""
    import importlib

    import gvcdyn.errors

    module, name = reader.split(":")
    read = getattr(importlib.import_module(module), name)
    if isinstance(error, str):
        error = getattr(gvcdyn.errors, error)
    path = tmp_path / "mine.toml"
    path.write_text('colour = "red"\n')
    with pytest.raises(error, match=r"mine\.toml.*unknown key 'colour' \(\w"):
        read(path)
