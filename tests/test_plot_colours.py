"""Run plots tell every scenario apart: no two runs share a colour up to the legend's limit."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from gvcdyn.io.plotting import MAX_LEGEND_RUNS, _run_styles


@pytest.mark.parametrize("n_runs", [2, 10, 11, MAX_LEGEND_RUNS])
def test_each_scenario_has_its_own_colour(n_runs: int) -> None:
    ds = xr.Dataset(
        {"x": (("run", "time"), np.zeros((n_runs, 3)))},
        coords={"scenario": ("run", [f"s{r}" for r in range(n_runs)]), "time": [0, 1, 2]},
    )
    colours, handles, _, _ = _run_styles(ds)
    assert len({tuple(np.round(c, 6)) for c in colours}) == n_runs
    assert [h.get_label() for h in handles] == [f"s{r}" for r in range(n_runs)]
