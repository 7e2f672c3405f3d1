"""v3's cases with no function-directed search (issue 20; models/gvc_upgrading_v3.md, "Cases with no
function-directed search").

Why: the record's finding is that in v3 only shocks and state-led starts direct search to
new functions, so the 11 cases with a buyer-, FDI- or TNC-led start or no trigger never
search for new functions, and their Functional Upgrading does not move with Innovation
Learning Rate at all, which is how they pull the all-41 fit's rate to its bound. This
pins that at the constrained all-41 fit's estimate (results/ is git-ignored, so the
estimate is copied, rounded), through the study script's own functions.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import pandas as pd
from v3_fit_estimates import CONSTRAINED_41

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "studies"))
import v3_no_function_search as nfs  # noqa: E402  (a study script, not a package)

NOT_SHOCK_OR_STATE = ("buyer-led", "none:FDI-attraction", "none:domestic-TNC-led", "none")


@functools.lru_cache(maxsize=2)
def values(rate: float) -> pd.DataFrame:
    params = {**CONSTRAINED_41, "Innovation Learning Rate": rate}
    return nfs.case_values(nfs.residuals.V3, params, ("rk23", None))


def test_exactly_the_cases_without_a_shock_or_state_start_never_search() -> None:
    triggers = nfs.residuals.cases_table()["trigger"]
    expected = set(triggers.index[triggers.isin(NOT_SHOCK_OR_STATE)])
    assert set(nfs.no_search_cases(values(0.322)["search max"])) == expected
    assert len(expected) == 11


def test_their_functional_upgrading_ignores_the_learning_rate_and_others_do_not() -> None:
    low, high = values(0.322), values(nfs.HIGH_RATE)
    stuck = nfs.no_search_cases(low["search max"])
    fu = "Functional Upgrading"
    assert (high.loc[stuck, fu] == low.loc[stuck, fu]).all()
    assert (low.loc[stuck, fu] < 0).all()  # only the initial capability's decay
    others = low.index.difference(stuck)
    assert (high.loc[others, fu] - low.loc[others, fu]).max() > 0.05
