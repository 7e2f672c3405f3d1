"""Behavioural tests of models/gvc_upgrading.mdl: the stylised facts of the seed papers.

Each test runs the model under two or more settings and compares them (the ten tests of
`../shared/design/gvc-model.md`); none asserts a stored trajectory. [PF] is the
systematic review of 45 GVC cases (induced search), [S] Schmitz's paper on local
upgrading in global chains, cited by section. All runs go through
:func:`gvc_runner.run_gvc`, so the same tests will run on gvcdyn's compiled core.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from gvc_runner import (
    LEVERS,
    OUTCOMES,
    STOCKS,
    lever_ranges,
    run_gvc,
    run_gvc_pysd,
    variable_ranges,
)

#: A cluster in a mixed chain hit by a policy shock in year 5, little scouting: the
#: common background against which most tests vary one mechanism.
SHOCKED = {"Shock Size": 0.8, "Shock Year": 5.0, "Scouting Intensity": 0.2}
WEAK_SOURCES = {
    "Initial Institutional Capacity": 0.05,
    "Business Association Strength": 0.05,
    "State Participation": 0.0,
}
STRONG_SOURCES = {
    "Initial Institutional Capacity": 0.8,
    "Business Association Strength": 0.8,
    "State Participation": 0.8,
}
CAPTIVE = {"Initial Buyer Control": 0.9, "Buyer Challenge": 0.8, "Buyer Support": 0.8}
MARKET = {"Initial Buyer Control": 0.05, "Buyer Challenge": 0.8, "Buyer Support": 0.8}

TOL = 1e-9


def _one(params: dict[str, float], **kw: float) -> pd.DataFrame:
    """Run one setting (a thin wrapper that keeps the tests readable)."""
    return run_gvc(params, **kw)[0]


def _assert_sane(df: pd.DataFrame, label: str) -> None:
    """Every saved variable finite and within its documented range (test 10's rule)."""
    ranges = variable_ranges()
    assert np.isfinite(df.to_numpy(dtype=float)).all(), f"{label}: non-finite values"
    for col in df.columns:
        lo, hi = ranges[col]
        v = df[col].to_numpy(dtype=float)
        assert v.min() >= lo - TOL, f"{label}: {col} min {v.min()} below {lo}"
        assert v.max() <= hi + TOL, f"{label}: {col} max {v.max()} above {hi}"
    for col in ("World Price", "Wage", "Global Production Capacity"):
        assert df[col].min() > 0, f"{label}: {col} not positive"


# 1 ---------------------------------------------------------------------------------
def test_1_captive_faster_production_slower_functional_upgrading() -> None:
    """[S sec.4, sec.5]: captive chains give fast process/product upgrading and block
    functional upgrading, against a market-based chain with the same other inputs."""
    cap, mkt = run_gvc([{**SHOCKED, **CAPTIVE}, {**SHOCKED, **MARKET}])
    # faster: more of the gap closed by year 5 (before the shock) and by year 10
    for t in (5, 10):
        assert cap.loc[t, "Process Capability"] > mkt.loc[t, "Process Capability"] + 0.05
        assert cap.loc[t, "Product Capability"] > mkt.loc[t, "Product Capability"] + 0.03
    # functional upgrading lower in the captive chain, over the whole case period
    assert cap["Innovation Capability"].iloc[10:].mean() < (
        0.8 * mkt["Innovation Capability"].iloc[10:].mean()
    )
    assert cap.loc[40, "Innovation Capability"] < mkt.loc[40, "Innovation Capability"]


# 2 ---------------------------------------------------------------------------------
def test_2_national_market_share_raises_functional_upgrading() -> None:
    """[S sec.6]: firms specialising in the national market develop their own designs,
    brands and channels; more national sales, more functional upgrading."""
    shares = (0.0, 0.4, 0.8)
    runs = run_gvc([{**SHOCKED, **CAPTIVE, "National Market Share": s} for s in shares])
    final = [r.loc[40, "Innovation Capability"] for r in runs]
    mean = [r["Innovation Capability"].mean() for r in runs]
    assert final[0] < final[1] < final[2]
    assert mean[2] > 1.5 * mean[0]


# 3 ---------------------------------------------------------------------------------
def test_3_policy_shock_starts_burst_of_search_and_upgrading() -> None:
    """[PF]: without vulnerability and with little buyer pressure, little upgrading;
    a policy shock of vulnerability starts a burst of search and upgrading."""
    calm = {
        "Buyer Challenge": 0.1,
        "Scouting Intensity": 0.0,
        "Global Demand Growth": 0.04,  # capacity and demand grow alike: no price squeeze
        "Shock Year": 10.0,
    }
    none, shock = run_gvc([{**calm, "Shock Size": 0.0}, {**calm, "Shock Size": 0.8}])
    # no shock: search stays low, capabilities gain little over 40 years
    assert none["Search Effort"].max() < 0.15
    for s in ("Process Capability", "Product Capability", "Innovation Capability"):
        assert none[s].max() - none.loc[0, s] < 0.1, s
    # shock: search bursts within 3 years and falls back afterwards
    peak_year = shock["Search Effort"].idxmax()
    assert 10 < peak_year <= 13
    assert shock["Search Effort"].max() > 0.4
    assert shock.loc[40, "Search Effort"] < 0.5 * shock["Search Effort"].max()
    # process upgrading responds within a few years of the shock
    gain_shock = shock.loc[14, "Process Capability"] - shock.loc[10, "Process Capability"]
    gain_none = none.loc[14, "Process Capability"] - none.loc[10, "Process Capability"]
    assert gain_shock > 0.1
    assert gain_shock > 3 * gain_none
    # and the paths are identical before the shock
    pd.testing.assert_series_equal(
        shock.loc[:10, "Process Capability"], none.loc[:10, "Process Capability"]
    )


# 4 ---------------------------------------------------------------------------------
def test_4_strong_local_learning_sources_leap_forward_weak_treadmill() -> None:
    """[PF]: the same shock yields a leap forward with strong local learning sources
    (institutions, business associations) and treadmilling without them."""
    weak, strong = run_gvc([{**SHOCKED, **WEAK_SOURCES}, {**SHOCKED, **STRONG_SOURCES}])
    # both upgrade their production after the shock ...
    for r in (weak, strong):
        assert r.loc[12, "Process Capability"] - r.loc[5, "Process Capability"] > 0.1
    # ... but only the strong cluster advances its market position
    # treadmilling: a transient gain while wages lag productivity, no lasting advance
    weak_pos = weak.loc[10:40, "Market Position"]
    assert weak_pos.mean() < 1.3 and weak_pos.min() > 0.6
    assert weak.loc[40, "Market Position"] < 1.2
    # leap forward: position doubles and stays there for a decade or more
    assert strong.loc[10:25, "Market Position"].min() > 2.0
    assert strong.loc[10:40, "Market Position"].mean() > 2 * weak_pos.mean()
    assert strong.loc[25, "Innovation Capability"] > weak.loc[25, "Innovation Capability"] + 0.2


# 5 ---------------------------------------------------------------------------------
def test_5_state_participation_builds_institutional_capacity() -> None:
    """[PF]: state participation in an upgrading episode raises local institutional
    capacity; without participation it stays flat or decays."""
    ic0 = 0.3
    base = {**SHOCKED, "Initial Institutional Capacity": ic0}
    none, some, full = run_gvc([{**base, "State Participation": p} for p in (0.0, 0.5, 1.0)])
    assert none["Institutional Capacity"].max() <= ic0 + TOL
    assert none.loc[40, "Institutional Capacity"] < ic0
    assert full.loc[20, "Institutional Capacity"] > ic0 + 0.15
    assert (
        none.loc[20, "Institutional Capacity"]
        < some.loc[20, "Institutional Capacity"]
        < full.loc[20, "Institutional Capacity"]
    )
    # it is the episode (search) that builds it: no shock and no search, little building
    calm = {
        **base,
        "Shock Size": 0.0,
        "Scouting Intensity": 0.0,
        "Buyer Challenge": 0.1,
        "Global Demand Growth": 0.04,
        "State Participation": 1.0,
    }
    quiet = _one(calm)
    assert quiet.loc[20, "Institutional Capacity"] < full.loc[20, "Institutional Capacity"] - 0.1


# 6 ---------------------------------------------------------------------------------
def test_6_capacity_outgrowing_demand_lowers_world_price() -> None:
    """[S sec.8, concern 1]: production capability growing faster than demand puts
    downward pressure on prices; slower capacity growth lets them rise or hold."""
    slow, fast = run_gvc([{"Global Demand Growth": 0.01}, {"Global Demand Growth": 0.06}])
    # capacity (about 4%/year at the start price) outgrows 1%/year demand: price falls
    assert slow.loc[40, "World Price"] < 0.8
    assert (slow["World Price"].diff().dropna() <= TOL).all()
    # a few percent a year while capacity outgrows demand, not a collapse
    yearly_fall = -np.log(slow.loc[10, "World Price"] / slow.loc[0, "World Price"]) / 10
    assert 0.01 < yearly_fall < 0.06
    # demand outgrowing capacity: the price rises or holds
    assert fast.loc[40, "World Price"] >= 0.99
    assert fast.loc[40, "World Price"] > slow.loc[40, "World Price"]


# 7 ---------------------------------------------------------------------------------
def test_7_scouting_drives_race_to_the_bottom() -> None:
    """[S sec.8, concern 2]: buyers scouting for low-wage suppliers develop entrants and
    drag the established cluster into a race to the bottom."""
    base = {"Entrant Wage Gap": 0.6}
    low, high = run_gvc([{**base, "Scouting Intensity": 0.1}, {**base, "Scouting Intensity": 0.9}])
    assert high.loc[40, "Entrant Capability"] > low.loc[40, "Entrant Capability"] + 0.2
    for t in (10, 20, 40):
        assert high.loc[t, "Market Share"] < low.loc[t, "Market Share"]
        assert high.loc[t, "Market Position"] < low.loc[t, "Market Position"]
    # wage-adjusted position (market position per unit of wage) is lower too
    adj_low = low.loc[40, "Market Position"] / low.loc[40, "Wage"]
    adj_high = high.loc[40, "Market Position"] / high.loc[40, "Wage"]
    assert adj_high < 0.85 * adj_low
    # and a wider wage gap makes scouting bite harder
    narrow = _one({"Entrant Wage Gap": 0.2, "Scouting Intensity": 0.9})
    assert narrow.loc[40, "Market Share"] > high.loc[40, "Market Share"]


# 8 ---------------------------------------------------------------------------------
def test_8_comprehensive_capability_moves_captive_to_balanced() -> None:
    """[S sec.7, sec.8]: a captive cluster that reaches high production and innovation
    capability sees buyer control fall; one that does not stays captive."""
    base = {**SHOCKED, **CAPTIVE, "Buyer Blocking Strength": 0.2, "National Market Share": 0.4}
    weak, strong = run_gvc([{**base, **WEAK_SOURCES}, {**base, **STRONG_SOURCES}])
    assert strong["Innovation Capability"].max() > 0.4
    assert strong["Process Capability"].max() > 0.8
    assert strong.loc[40, "Buyer Control"] < CAPTIVE["Initial Buyer Control"] - 0.2
    assert weak.loc[40, "Buyer Control"] > CAPTIVE["Initial Buyer Control"] - 0.1
    assert strong.loc[40, "Buyer Control"] < weak.loc[40, "Buyer Control"] - 0.15


# 9 ---------------------------------------------------------------------------------
def test_9_innovation_gap_persists_while_production_gap_closes() -> None:
    """[S sec.8, concern 3]: production capability spreads fast, innovation does not;
    in captive chains the innovation gap persists while the production gap closes."""
    runs = run_gvc([{**CAPTIVE}, {**CAPTIVE, **SHOCKED}])
    for r in runs:
        prod_closed = r.loc[0, "Production Gap"] - r.loc[20, "Production Gap"]
        innov_closed = r.loc[0, "Innovation Gap"] - r.loc[20, "Innovation Gap"]
        assert prod_closed > 0.3
        assert innov_closed < 0.5 * prod_closed
        assert r.loc[40, "Innovation Gap"] > 0.6
        assert r.loc[40, "Innovation Gap"] > r.loc[40, "Production Gap"] + 0.3


# 10 --------------------------------------------------------------------------------
def test_10_extremes_of_every_lever_stay_in_range() -> None:
    """Conservation and sanity: each lever at its minimum and maximum (others at their
    defaults), plus all levers at their minima, all at their maxima, and two
    alternating corners: no NaN, every variable within its documented range."""
    ranges = lever_ranges()
    sets: list[dict[str, float]] = []
    for name in LEVERS:
        lo, hi = ranges[name]
        sets += [{name: lo}, {name: hi}]
    sets.append({n: ranges[n][0] for n in LEVERS})
    sets.append({n: ranges[n][1] for n in LEVERS})
    sets.append({n: ranges[n][i % 2] for i, n in enumerate(LEVERS)})
    sets.append({n: ranges[n][(i + 1) % 2] for i, n in enumerate(LEVERS)})
    for params, df in zip(sets, run_gvc(sets, columns=list(variable_ranges())), strict=True):
        _assert_sane(df, str(params))


def test_levers_and_names_exist_with_ranges() -> None:
    """The names other tools rely on (issue 4) exist, and every lever has a range."""
    ranges = lever_ranges()
    for name in LEVERS:
        lo, hi = ranges[name]
        assert lo < hi, name
    df = _one({}, final_time=1)
    for name in (*STOCKS, *OUTCOMES):
        assert name in df.columns


def test_random_lever_sets_stay_in_range() -> None:
    """1,000 lever sets drawn uniformly over all lever ranges, in one compiled batch:
    every run's status is ok (no NaN), every stock and auxiliary within its range."""
    rng = np.random.default_rng(20241123)
    ranges = lever_ranges()
    sets = [{n: float(rng.uniform(*ranges[n])) for n in LEVERS} for _ in range(1000)]
    for params, df in zip(sets, run_gvc(sets, columns=list(variable_ranges())), strict=True):
        _assert_sane(df, str(params))


def test_random_sets_of_all_constants_stay_in_range() -> None:
    """Stronger than the lever test: every constant of the model (rates, times,
    sensitivities too) drawn uniformly within its documented range."""
    rng = np.random.default_rng(7)
    ranges = lever_ranges()
    sets = [{n: float(rng.uniform(lo, hi)) for n, (lo, hi) in ranges.items()} for _ in range(300)]
    for params, df in zip(sets, run_gvc(sets, columns=list(variable_ranges())), strict=True):
        _assert_sane(df, str(params))


SCENARIO_DIR = Path(__file__).resolve().parents[1] / "models" / "scenarios"
SCENARIO_FILES = sorted(SCENARIO_DIR.glob("*.toml"))


def _scenario(path: Path) -> dict[str, float]:
    """Lever values of one scenario file (the format the CLI reads)."""
    return {k: float(v) for k, v in tomllib.loads(path.read_text())["parameters"].items()}


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def test_scenario_files_name_real_constants_inside_their_ranges(path: Path) -> None:
    """Scenario files are read by the what-if CLI: only model constants, within range,
    with a one-line description."""
    data = tomllib.loads(path.read_text())
    assert data["description"].strip() and "\n" not in data["description"]
    ranges = lever_ranges()
    for name, value in _scenario(path).items():
        assert name in ranges, name
        lo, hi = ranges[name]
        assert lo <= value <= hi, (name, value)


def test_required_scenarios_exist() -> None:
    """The scenario set issue 4 asks for."""
    stems = {p.stem for p in SCENARIO_FILES}
    assert {
        "captive",
        "market-based",
        "national-market",
        "policy-shock-weak-institutions",
        "policy-shock-strong-institutions",
        "race-to-the-bottom",
    } <= stems


SCENARIO_SETTINGS = [
    *(_scenario(p) for p in SCENARIO_FILES),
    {},
    {**SHOCKED, **CAPTIVE},
    {**SHOCKED, **STRONG_SOURCES, "National Market Share": 0.8},
    {"Scouting Intensity": 1.0, "Entrant Wage Gap": 0.9, "Global Demand Growth": 0.0},
    {**SHOCKED, "Shock Year": 7.3, "Shock Size": 1.0},  # shock between time steps
]


@pytest.mark.parametrize("params", SCENARIO_SETTINGS, ids=range(len(SCENARIO_SETTINGS)))
def test_time_step_euler_and_rk4_agree_within_one_percent(params: dict[str, float]) -> None:
    """The model's TIME STEP is small enough: Euler and RK4 at that step agree within 1%
    of each stock's scale (max |euler - rk4| <= 1% of max |rk4|) over the case period."""
    euler = _one(params, columns=list(STOCKS))
    rk4 = run_gvc(params, columns=list(STOCKS), method="rk4")[0]
    err = (euler - rk4).abs().max() / rk4.abs().max()
    assert (err < 0.01).all(), err[err >= 0.01].to_dict()


@pytest.mark.parametrize("params", SCENARIO_SETTINGS[:4], ids=range(4))
def test_gvcdyn_and_pysd_agree(params: dict[str, float]) -> None:
    """The compiled core and PySD run the model identically (Euler, rtol 1e-9)."""
    ours = run_gvc(params, columns=[*STOCKS, *OUTCOMES])[0]
    theirs = run_gvc_pysd(params, columns=[*STOCKS, *OUTCOMES])[0]
    np.testing.assert_allclose(ours.to_numpy(), theirs[ours.columns].to_numpy(),
                               rtol=1e-9, atol=1e-12)
