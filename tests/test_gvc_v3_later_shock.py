"""The later-shock candidate for v3 (studies/v3_later_shock.py; issue 20, ninth step):
without a later shock it is the committed v3 bit for bit, with one it starts a second
burst of function-directed search, and the sourced later shocks it is fitted with name a
case, a year inside the case's period, a source and a quote each."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gvcdyn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "studies"))
import v3_later_shock as ls  # noqa: E402  (a study script, not a package)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> tuple[gvcdyn.Model, gvcdyn.Model]:
    folder = tmp_path_factory.mktemp("later_shock")
    return gvcdyn.load(ls.V3), gvcdyn.load(ls.candidate_model(folder))


def test_without_a_later_shock_the_candidate_is_v3_bit_for_bit(models) -> None:
    base, candidate = models
    from v3_fit_measures import lhs_levers

    table = lhs_levers(base, 12, seed=5)
    names = ["Functional Upgrading", "Cluster Market Position", "Search Effort"]
    a = base.run(table, saveper=1.0, variables=names)  # rk23, v3's settings file
    b = candidate.run(table, saveper=1.0, variables=names)
    for name in names:
        np.testing.assert_array_equal(a[name].values, b[name].values)


def test_a_later_shock_starts_a_second_burst_of_function_directed_search(models) -> None:
    """A first shock in year 5 and a later one in year 20: function-directed search rises
    again after year 20, which it does not without the later shock [PF]."""
    _, candidate = models
    runs = pd.DataFrame(
        {
            "Shock Size": [0.6, 0.6],
            "Shock Year": [5.0, 5.0],
            "Later Shock Size": [0.0, 0.6],
            "Later Shock Year": [20.0, 20.0],
        }
    )
    ds = candidate.run(runs, saveper=0.5, variables=["Functional Search"])
    search = ds["Functional Search"]
    late = search.sel(time=slice(20.0, 26.0)).max("time").values
    before = search.sel(time=19.5).values
    assert late[1] > 1.5 * before[1]  # the second burst
    assert late[0] <= before[0] + 1e-12  # without it search only decays after year 20


def test_the_candidate_text_is_refused_on_a_model_it_was_not_written_for() -> None:
    with pytest.raises(SystemExit, match="not the one"):
        ls.candidate_text("no control section here")


def test_the_sourced_later_shocks_are_well_formed() -> None:
    shocks = ls.later_shock_table()  # checks ids, codes, periods, sources and quotes
    assert len(shocks) == shocks["id"].nunique() > 0
    assert shocks["source"].str.startswith("http").all()
