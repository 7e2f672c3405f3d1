"""A check runner judges many candidate vectors (a calibration's constraint): its checks'
names are resolved once per model, not at every verdict.

A variable's name is first tried as a parameter, and the model's unknown-parameter error
searches the closest names with difflib: done at every verdict, that search took 0.35 s
of the 0.37 s the GVC model's 63 checks cost per call at one vector (issue 19's
calibration made thousands of such calls)."""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np
from toy_calibration import TOY_CHECKS

import gvcdyn
from gvcdyn.checks.run import CheckRunner
from gvcdyn.checks.spec import read_checks

MODEL = Path(__file__).parent / "data" / "calibration" / "toy_upgrading.mdl"


def test_a_second_verdict_searches_no_names(tmp_path, monkeypatch):
    model = gvcdyn.load(MODEL)
    checks = tmp_path / "toy.checks.toml"
    checks.write_text(TOY_CHECKS)
    runner = CheckRunner(model, read_checks(checks, model), varying=["Learning Rate"])
    bases = np.tile(model.defaults(), (3, 1))
    first = runner.verdicts(bases)

    searches = []
    real = difflib.get_close_matches

    def counted(*args, **kwargs):
        searches.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(difflib, "get_close_matches", counted)
    again = runner.verdicts(bases)
    assert searches == []
    np.testing.assert_array_equal(again[0], first[0])
    np.testing.assert_array_equal(again[1], first[1])


def test_an_unknown_name_still_gets_the_closest_names(tmp_path):
    from gvcdyn.checks.spec import resolve
    from gvcdyn.errors import GvcdynError

    model = gvcdyn.load(MODEL)
    try:
        resolve(model, "Skil")
    except GvcdynError as exc:
        assert "Skill" in str(exc)
    else:
        raise AssertionError("an unknown name was resolved")
