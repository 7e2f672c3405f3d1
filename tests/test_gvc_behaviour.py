"""Behavioural tests of models/gvc_upgrading.mdl: the stylised facts of the seed papers.

The behavioural claims themselves live in ``models/gvc_upgrading.checks.toml`` (63 checks
in groups b1..b15, the 15 behavioural tests this file held before issue 19), which ships
with the model and which ``gvcdyn reality-check`` runs. This file runs that file, all
checks in one compiled batch at the pinned ``gvc_reference_params.toml``, with one test
case per check; ``test_gvc_robustness.py`` reruns it on draws of the non-lever
constants. No check is written twice: the tests below are about the model's ranges,
scenario files, integration step and PySD parity, not about behaviour.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from gvc_runner import (
    LEVERS,
    MEASURES,
    MODEL_PATH,
    OUTCOMES,
    REFERENCE_PATH,
    STOCKS,
    gvcdyn_model,
    lever_ranges,
    run_gvc,
    run_gvc_pysd,
    variable_ranges,
)

import gvcdyn

CHECKS_PATH = MODEL_PATH.with_name("gvc_upgrading.checks.toml")
CHECKS = tomllib.loads(CHECKS_PATH.read_text(encoding="utf-8"))
CHECK_NAMES = [c["name"] for c in CHECKS["check"]]
#: named lever sets of the checks file (a shocked cluster, captive chain ...), which the
#: integration-step tests below also run
SETTINGS = CHECKS["settings"]
SHOCKED, CAPTIVE = SETTINGS["shocked"], SETTINGS["captive"]
STRONG_SOURCES = SETTINGS["strong_sources"]

TOL = 1e-9


@functools.lru_cache(maxsize=1)
def reference_result() -> object:
    """Every check of the file at the pinned reference parameters: one batch."""
    return gvcdyn.reality_check(gvcdyn_model(), CHECKS_PATH, params=REFERENCE_PATH)


@pytest.mark.parametrize("name", CHECK_NAMES)
def test_check_holds_at_reference_parameters(name: str) -> None:
    """Each check of models/gvc_upgrading.checks.toml holds at the pinned parameters."""
    ds = reference_result().sel(check=name)
    assert bool(ds["holds"]), f"{name}: margin {float(ds['margin']):.4g} ({ds['doc'].item()})"


def test_checks_file_keeps_every_behavioural_test() -> None:
    """All 15 behavioural tests are in the file (groups b1..b15), run as one batch."""
    ds = reference_result()
    assert sorted(set(ds["group"].values), key=lambda g: int(g[1:])) == [
        f"b{i}" for i in range(1, 16)
    ]
    assert ds.attrs["evaluator_calls"] == 1


def test_range_check_uses_the_documented_ranges_of_the_model() -> None:
    """Check b10's ranges are the ones documented in the .mdl, for every variable that
    documents one (the checks file cannot drift from the model)."""
    (check,) = [c for c in CHECKS["check"] if c.get("expect") == "in_range"]
    assert {k: tuple(v) for k, v in check["ranges"].items()} == variable_ranges()
    assert CHECKS["levers"] == list(LEVERS)


def _assert_sane(df: pd.DataFrame, label: str) -> None:
    """Every saved variable finite and within its documented range."""
    ranges = variable_ranges()
    assert np.isfinite(df.to_numpy(dtype=float)).all(), f"{label}: non-finite values"
    for col in df.columns:
        lo, hi = ranges[col]
        v = df[col].to_numpy(dtype=float)
        assert v.min() >= lo - TOL, f"{label}: {col} min {v.min()} below {lo}"
        assert v.max() <= hi + TOL, f"{label}: {col} max {v.max()} above {hi}"
    for col in ("World Price", "Wage", "Global Production Capacity"):
        assert df[col].min() > 0, f"{label}: {col} not positive"


def test_levers_and_names_exist_with_ranges() -> None:
    """The names other tools rely on (issues 4 and 10) exist, and every lever has a range."""
    ranges = lever_ranges()
    for name in LEVERS:
        lo, hi = ranges[name]
        assert lo < hi, name
    df = run_gvc({}, final_time=1)[0]
    for name in (*STOCKS, *OUTCOMES, *MEASURES):
        assert name in df.columns


def test_measurement_variables_start_at_zero_and_ignore_the_world_price() -> None:
    """The measurement variables are relative to the start of the run (0 at time 0,
    whatever the levers), and the world price alone does not move the cluster's market
    position: demand growth changes the price a lot and the position far less."""
    slow, fast = run_gvc([{"Global Demand Growth": 0.0}, {"Global Demand Growth": 0.08}])
    for r in (slow, fast):
        for m in MEASURES:
            assert abs(r.loc[0, m]) < 1e-12, m
    price_gap = abs(np.log(fast.loc[20, "World Price"] / slow.loc[20, "World Price"]))
    position_gap = abs(
        fast.loc[20, "Cluster Market Position"] - slow.loc[20, "Cluster Market Position"]
    )
    assert position_gap < 0.5 * price_gap, (position_gap, price_gap)


def test_random_lever_sets_stay_in_range() -> None:
    """1,000 lever sets drawn uniformly over all lever ranges, in one compiled batch:
    every run's status is ok (no NaN), every stock and auxiliary within its range."""
    rng = np.random.default_rng(20241123)
    ranges = lever_ranges()
    sets = [{n: float(rng.uniform(*ranges[n])) for n in LEVERS} for _ in range(1000)]
    for params, df in zip(sets, run_gvc(sets, columns=list(variable_ranges())), strict=True):
        _assert_sane(df, str(params))


def test_upgrading_search_is_part_of_search_effort() -> None:
    """The co-flow invariant (v2.1): the search started by upgrading triggers is a part
    of all search, never more and never negative, over 500 random lever sets."""
    rng = np.random.default_rng(2026)
    ranges = lever_ranges()
    sets = [{n: float(rng.uniform(*ranges[n])) for n in LEVERS} for _ in range(500)]
    for params, df in zip(
        sets, run_gvc(sets, columns=["Search Effort", "Upgrading Search"]), strict=True
    ):
        assert (df["Upgrading Search"] >= -TOL).all(), params
        assert (df["Upgrading Search"] <= df["Search Effort"] + TOL).all(), params


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
    """The scenario set issues 4 and 10 ask for."""
    stems = {p.stem for p in SCENARIO_FILES}
    assert {
        "captive",
        "market-based",
        "national-market",
        "policy-shock-weak-institutions",
        "policy-shock-strong-institutions",
        "race-to-the-bottom",
        "buyer-led-start",
        "state-led-start",
    } <= stems


SCENARIO_SETTINGS = [
    *(_scenario(p) for p in SCENARIO_FILES),
    {},
    {**SHOCKED, **CAPTIVE},
    {**SHOCKED, **STRONG_SOURCES, "National Market Share": 0.8},
    {"Scouting Intensity": 1.0, "Entrant Wage Gap": 0.9, "Global Demand Growth": 0.0},
    {**SHOCKED, "Shock Year": 7.3, "Shock Size": 1.0},  # shock between time steps
    {"State Led Start": 1.0, "FDI Led Start": 1.0, "Buyer Led Start": 1.0, "Shock Year": 3.3},
]


@pytest.mark.parametrize("params", SCENARIO_SETTINGS, ids=range(len(SCENARIO_SETTINGS)))
def test_time_step_euler_and_rk4_agree_within_one_percent(params: dict[str, float]) -> None:
    """The model's TIME STEP is small enough: Euler and RK4 at that step agree within 1%
    of each stock's scale (max |euler - rk4| <= 1% of max |rk4|) over the case period."""
    cols = [*STOCKS, "Shock Adaptation", "Upgrading Search"]
    euler = run_gvc(params, columns=cols)[0]
    rk4 = run_gvc(params, columns=cols, method="rk4")[0]
    err = (euler - rk4).abs().max() / rk4.abs().max().clip(lower=1e-12)
    assert (err < 0.01).all(), err[err >= 0.01].to_dict()


@pytest.mark.parametrize("params", SCENARIO_SETTINGS[:4], ids=range(4))
def test_gvcdyn_and_pysd_agree(params: dict[str, float]) -> None:
    """The compiled core and PySD run the model identically (Euler, rtol 1e-9)."""
    ours = run_gvc(params, columns=[*STOCKS, *OUTCOMES, *MEASURES])[0]
    theirs = run_gvc_pysd(params, columns=[*STOCKS, *OUTCOMES, *MEASURES])[0]
    np.testing.assert_allclose(
        ours.to_numpy(), theirs[ours.columns].to_numpy(), rtol=1e-9, atol=1e-12
    )
