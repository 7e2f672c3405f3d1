"""GET TIME VALUE in its one deterministic form, as PySD 3.14.3 runs it.

PySD's ``get_time_value`` gives the simulation time plus offset for relativeto 0 with
measure 0; relativeto 2 and the calendar measures read the computer clock and relativeto
1 is not implemented there, so gvcdyn refuses those at load time, naming the variable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mdl_helpers import write_mdl
from pysd_parity import assert_runs_match_pysd

import gvcdyn
from gvcdyn.errors import UnsupportedFeatureError

pysd = pytest.importorskip("pysd")

EQUATIONS = """
lag = 2.5
    ~ Month [-10, 10] ~ |
ahead = GET TIME VALUE(0, lag, 0)
    ~ Month ~ |
behind = GET TIME VALUE(0, -Time / 4, 0) * 2
    ~ Month ~ a computed offset |
elapsed = INTEG(GET TIME VALUE(0, 0, 0), 0)
    ~ Month * Month ~ |
"""


def test_matches_pysd(tmp_path: Path) -> None:
    path = write_mdl(tmp_path, EQUATIONS, final_time=6, time_step=0.25, initial_time=1)
    lags = np.array([2.5, -1.0, 0.0])
    ds = gvcdyn.load(path).run({"lag": lags})
    assert_runs_match_pysd(ds, path, [{"lag": float(lag)} for lag in lags], rtol=1e-12, atol=1e-12)
    time = ds["time"].values
    np.testing.assert_array_equal(ds["ahead"].values, time[None, :] + lags[:, None])


@pytest.mark.parametrize(
    ("arguments", "shown"),
    [
        ("2, 0, 1", r"GET TIME VALUE\(2, offset, 1\)"),  # the computer clock's year
        ("0, 0, 3", r"GET TIME VALUE\(0, offset, 3\)"),  # a calendar measure
        ("1, 0, 0", r"GET TIME VALUE\(1, offset, 0\)"),  # initial time: not in PySD
        ("mode, 0, 0", "written as the number 0"),  # not a literal
    ],
)
def test_clock_forms_are_refused_by_name(tmp_path: Path, arguments: str, shown: str) -> None:
    equations = f"""
    mode = 0 ~ dmnl ~|
    stamp = GET TIME VALUE({arguments}) ~ ~|
    """
    with pytest.raises(UnsupportedFeatureError, match=rf"'stamp'.*{shown}"):
        gvcdyn.load(write_mdl(tmp_path, equations))
