"""``gvcdyn check``'s tolerances must be finite numbers >= 0.

A negative ``--rtol`` made every value fail ("beyond tolerance by 2.32" where simulated
and reference were equal), a NaN ``--atol`` failed with a numpy warning, an infinite
``--rtol`` passed anything: each read as a verdict on the model. They are refused
before the model is read, in one line, as every mistake on the command line is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from console import assert_one_line_error, gvcdyn

from gvcdyn.errors import ComparisonInputError
from gvcdyn.io.reference import compare

TEACUP = Path(__file__).parent / "sd-test-models" / "teacup"


@pytest.mark.parametrize(
    ("option", "value"),
    [("--rtol", "-1"), ("--atol", "-1e-6"), ("--atol", "nan"), ("--rtol", "inf")],
)
def test_a_tolerance_that_is_not_finite_and_non_negative_is_refused(option, value, tmp_path):
    for reference in (("--reference", TEACUP / "output.csv"), ()):
        done = gvcdyn("check", TEACUP / "teacup.mdl", option, value, *reference, cwd=tmp_path)
        shown = f"{option.lstrip('-')} = {float(value):g}:"
        assert_one_line_error(done, shown, ">= 0", stdout_empty=True)


def test_compare_refuses_a_negative_tolerance() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]}, index=[0.0, 1.0])
    assert compare(frame, frame).passed
    with pytest.raises(ComparisonInputError, match="rtol"):
        compare(frame, frame, rtol=-1.0)
    with pytest.raises(ComparisonInputError, match="atol"):
        compare(frame, frame, atol=np.nan)
