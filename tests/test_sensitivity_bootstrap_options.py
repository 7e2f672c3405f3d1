"""``--conf-level`` and ``--resamples`` are checked before the study runs.

They were checked by the estimator, after every run of the design (the progress bars
of the runs, then "error: conf_level must be between 0 and 1"): a mistyped option cost
the whole study. Now they are refused in one line before the model is read.
"""

from __future__ import annotations

import pytest
from console import assert_one_line_error, gvcdyn

import gvcdyn as gd
from gvcdyn.errors import SensitivityDesignError


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--conf-level", "2", "conf_level must be between 0 and 1, got 2"),
        ("--conf-level", "0", "conf_level must be between 0 and 1, got 0"),
        ("--resamples", "1", "num_resamples must be at least 2, got 1"),
    ],
)
def test_a_bad_bootstrap_option_is_refused_before_any_run(option, value, said, tmp_path):
    done = gvcdyn("sensitivity", "gvc_upgrading", "--vars", "Unit Value", "--n", "8",
                  "--params", "Shock Size", option, value, cwd=tmp_path)  # fmt: skip
    assert_one_line_error(done, said, stdout_empty=True)


def test_the_function_refuses_them_before_reading_the_model(tmp_path) -> None:
    missing = tmp_path / "no_such_model.mdl"  # never read: the options are checked first
    with pytest.raises(SensitivityDesignError, match="conf_level"):
        gd.sensitivity(missing, ["Shock Size"], ["Unit Value"], n=8, conf_level=1.5)
    with pytest.raises(SensitivityDesignError, match="num_resamples"):
        gd.sensitivity(missing, ["Shock Size"], ["Unit Value"], n=8, num_resamples=0)
