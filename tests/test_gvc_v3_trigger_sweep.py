"""The reading logic of studies/v3_trigger_relative_sweep.py (issue 20, fourteenth step;
studies/protocols/v3_trigger_relative_sweep.md): the horizon from the case table, each
run read at its own Shock Year + H, the SPEED claims' mean over [0, t*].

Why: the study's count rests on these few lines. A t* taken from the wrong row, a window
mean that is not the trapezoid, or a horizon that is not the table's would change which
claims hold without any visible error. Synthetic paths and the committed case table only
(results/ is not in CI); no model run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "studies"))
import v3_fit_measures as fm  # noqa: E402  (study scripts, not packages)
import v3_trigger_relative_sweep as trs  # noqa: E402

GRID = np.arange(0, 53 + 1e-9, 1 / 8)


def test_the_horizon_is_13_years_on_the_committed_case_table() -> None:
    assert trs.read_horizon(trs.CASES) == 13.0


def test_the_horizon_takes_the_period_start_where_no_trigger_year_is_coded() -> None:
    cases = pd.DataFrame({
        "period_start": [1990, 1980, 2000],
        "period_end": [2000, 2000, 2003],
        "trigger_year": [1995, None, 2000],
    })  # fmt: skip
    # 5, 20 (from the start, not dropped), 3 -> median 5
    assert trs.trigger_horizon(cases) == 5.0
    cases.loc[1, "period_start"] = None
    with pytest.raises(ValueError, match="period_end"):
        trs.trigger_horizon(cases)


def test_each_row_is_read_at_its_own_time() -> None:
    slopes = np.array([1.0, 2.0, -3.0])
    paths = 7.0 + slopes[:, None] * GRID  # linear: interpolation is exact
    t_read = np.array([13.0, 20.3, 52.9])
    got = trs.values_at(paths, GRID, t_read)
    np.testing.assert_allclose(got, 7.0 + slopes * t_read, rtol=0, atol=1e-12)
    # swapping the read times swaps the values only where the rows differ: no row takes
    # another row's time
    swapped = trs.values_at(paths, GRID, t_read[::-1])
    np.testing.assert_allclose(swapped, 7.0 + slopes * t_read[::-1], atol=1e-12)
    with pytest.raises(ValueError, match="outside the save grid"):
        trs.values_at(paths, GRID, np.array([13.0, 20.0, 53.5]))


def test_the_window_mean_is_the_trapezoid_of_the_interpolant() -> None:
    rng = np.random.default_rng(3)
    paths = np.cumsum(rng.standard_normal((4, GRID.size)), axis=1)
    # over the whole grid: exactly mean_over_run
    whole = trs.window_mean(paths, GRID, np.full(4, GRID[-1]))
    np.testing.assert_allclose(whole, fm.mean_over_run(paths, GRID), rtol=1e-13)
    # ending on a grid point: the trapezoid over the points up to it
    at = 40.0
    k = int(np.searchsorted(GRID, at)) + 1
    np.testing.assert_allclose(
        trs.window_mean(paths, GRID, np.full(4, at)),
        np.trapezoid(paths[:, :k], GRID[:k], axis=1) / at,
        rtol=1e-13,
    )
    # ending between grid points, a different end per row: the integral of the linear
    # interpolant (checked on a fine grid) over each row's own window
    ends = np.array([13.05, 18.0, 27.31, 52.99])
    got = trs.window_mean(paths, GRID, ends)
    for row, end, value in zip(paths, ends, got, strict=True):
        fine = np.linspace(0.0, end, 200_001)
        assert value == pytest.approx(np.trapezoid(np.interp(fine, GRID, row), fine) / end,
                                      abs=1e-7)  # fmt: skip
    # a linear path's mean over [0, T] is its value at T/2
    line = 2.0 + 0.5 * GRID
    assert trs.window_mean(line[None], GRID, np.array([13.37]))[0] == pytest.approx(
        2.0 + 0.5 * 13.37 / 2
    )


def _runs(
    shock_years: np.ndarray, paths: np.ndarray, outcome: str, times: np.ndarray = GRID
) -> xr.Dataset:
    """A synthetic run dataset shaped as ``model.run`` returns one."""
    return xr.Dataset(
        {outcome: (("run", "time"), paths), "Shock Year": ("run", shock_years)},
        coords={"time": times},
    )


def test_a_claim_is_read_at_its_runs_shock_year_plus_h() -> None:
    shock = np.array([0.0, 10.0, 27.5, 40.0])
    # a level claim (not in SPEED): a ramp that starts at each run's own Shock Year
    paths = np.clip(GRID[None, :] - shock[:, None], 0, None)
    ds = _runs(shock, paths, "Functional Upgrading")
    assert ("Shock Size", "Functional Upgrading") not in fm.SPEED
    got = trs.relative_values(ds, "Shock Size", "Functional Upgrading", 13.0)
    np.testing.assert_allclose(got, 13.0, atol=1e-12)  # every run 13 years after its trigger
    # a SPEED claim: the mean over [0, Shock Year + H]
    assert ("Buyer Support", "Process Upgrading") in fm.SPEED
    ds = _runs(shock, paths, "Process Upgrading")
    got = trs.relative_values(ds, "Buyer Support", "Process Upgrading", 13.0)
    expected = 13.0**2 / 2 / (shock + 13.0)  # the ramp's area over the window's length
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_the_count_pairs_low_and_high_and_holds_at_180_of_200() -> None:
    assert trs.tally(np.array([0.1, -0.1, 1e-10, -2e-9]), +1) == (1, 2, 1)
    assert trs.tally(np.array([0.1, -0.1, 1e-10, -2e-9]), -1) == (2, 1, 1)
    assert trs.held((180, 20, 0)) and not trs.held((179, 0, 21))
    # two settings at low (flat) then the same two at high, Shock Year 0 and 35; the high
    # runs dip for 6 years after the trigger and rise above the low ones 12 years after it
    shock = np.array([0.0, 35.0, 0.0, 35.0])
    since = np.clip(GRID[None, :] - shock[:, None], 0, None)
    effect = np.where(since < 6, -since, since - 12)
    paths = np.vstack([np.zeros((2, GRID.size)), effect[2:]])
    relative = _runs(shock, paths, "Functional Upgrading")
    official = _runs(shock, paths[:, ::8][:, :41], "Functional Upgrading", GRID[::8][:41])
    off, rel = trs.claim_counts(official, relative, "Shock Size", "Functional Upgrading", +1, 13)
    # year 40: the trigger at 0 is 28 above, the one at 35 in its dip (-5): one against
    assert off == (1, 1, 0)
    # 13 years after each trigger both are 1 above the low run
    assert rel == (2, 0, 0)


def test_a_missing_fit_or_one_that_is_no_fit_exits_2_naming_it(tmp_path: Path, capsys) -> None:
    not_a_fit = tmp_path / "runs.nc"
    xr.Dataset({"x": ("time", [0.0, 1.0])}).to_netcdf(not_a_fit)
    for path, says in (
        (tmp_path / "no.nc", "not found"),
        (not_a_fit, "is not a gvcdyn calibration fit"),
    ):
        with pytest.raises(SystemExit) as exit_:
            trs.main([str(path)])
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert str(path) in err and says in err


def test_a_posterior_without_draws_exits_2_naming_it(tmp_path: Path, capsys) -> None:
    fit = tmp_path / "fit.nc"
    xr.Dataset(
        {"estimate": ("parameter", [0.1])},
        coords={"parameter": ["Innovation Learning Rate"]},
        attrs={"config_text": "# synthetic"},
    ).to_netcdf(fit)
    for args in (["--posterior", str(tmp_path / "post.nc")], ["--posterior", str(fit)]):
        with pytest.raises(SystemExit) as exit_:
            trs.main([str(fit), *args])
        assert exit_.value.code == 2
        assert args[1] in capsys.readouterr().err
