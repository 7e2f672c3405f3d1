"""The GVC model v3 draft (issue 20: directed search, prices that bite, sources of learning
distinct) holds its checks.

``models/gvc_upgrading_v3.mdl`` is a draft beside the shipped, calibrated v2.2 model
(``gvc_upgrading.mdl``, whose numbers the other GVC tests pin); its behavioural claims are
``models/gvc_upgrading_v3.checks.toml``: v2.2's 63 checks (b10's range list and b14 read
v3's variable names) and issue 20's new ones (b16 directed search, b17 the race lowers
product upgrading's payoff, b18 overcapacity lowers value capture and margins, b19 the
sources of learning differ in what they raise). This file runs that file once at the
pinned ``gvc_reference_params.toml`` (v3's one new constant, Price Pass Through, at its
.mdl default), at the model's integration (its settings file's rk23; the .mdl declares RK4
at TIME STEP 1/8, which is rk23's first step), with one test
case per check, as ``test_gvc_behaviour.py`` does for v2.2,
plus the structural invariants of the new equations. Every check here is one that
models/gvc_upgrading_v3.md ("Model v3 (draft)") reports as holding; v2.2 fails b16 at the same
parameters (margins -0.13, -0.38, -0.11), which is why the draft exists.
"""

from __future__ import annotations

import functools
import re
import tomllib

import numpy as np
import pandas as pd
import pytest
from gvc_runner import LEVERS, MODEL_PATH, REFERENCE_PATH

import gvcdyn

V3_PATH = MODEL_PATH.with_name("gvc_upgrading_v3.mdl")
V3_CHECKS_PATH = MODEL_PATH.with_name("gvc_upgrading_v3.checks.toml")
V3_CHECKS = tomllib.loads(V3_CHECKS_PATH.read_text(encoding="utf-8"))
V3_CHECK_NAMES = [c["name"] for c in V3_CHECKS["check"]]
_RANGE = re.compile(r"\[\s*([-\d.eE+]+|\?)\s*,\s*([-\d.eE+]+|\?)\s*\]")
TOL = 1e-9
CONTROL = ("FINAL TIME", "INITIAL TIME", "SAVEPER", "TIME STEP")


@functools.lru_cache(maxsize=1)
def v3_model() -> object:
    """The compiled v3 draft, loaded once per process."""
    return gvcdyn.load(V3_PATH)


@functools.lru_cache(maxsize=1)
def v3_reference_result() -> object:
    """Every check of the v3 file at the pinned reference parameters: one batch."""
    return gvcdyn.reality_check(v3_model(), V3_CHECKS_PATH, params=REFERENCE_PATH)


def v3_ranges(constants: bool) -> dict[str, tuple[float, float]]:
    """Documented ``[min,max]`` of the v3 .mdl's constants (``constants=True``) or of its
    stocks and auxiliaries, by name (the reading of ``gvc_runner.constant_ranges``)."""
    text = V3_PATH.read_text(encoding="utf-8").split("\\\\\\---///")[0]
    ranges: dict[str, tuple[float, float]] = {}
    for block in text.replace("{UTF-8}", "", 1).split("|"):
        parts = block.split("~")
        if len(parts) < 3 or "=" not in parts[0]:
            continue
        m = _RANGE.search(parts[1])
        if m is None:
            continue
        name, expr = (s.strip() for s in parts[0].split("=", 1))
        try:
            float(expr)
            is_constant = True
        except ValueError:
            is_constant = False
        if is_constant == constants and name not in CONTROL:
            ranges[name] = tuple(np.inf if v == "?" else float(v) for v in m.groups())
    return ranges


def reference_params() -> dict[str, float]:
    """The pinned reference parameters (v3's Price Pass Through is not among them)."""
    return tomllib.loads(REFERENCE_PATH.read_text(encoding="utf-8"))["parameters"]


def random_lever_table(n: int, seed: int) -> pd.DataFrame:
    """``n`` runs at the reference parameters, each lever drawn uniformly over its
    documented v3 range (numpy's default generator with ``seed``, levers in order)."""
    ranges = v3_ranges(constants=True)
    rng = np.random.default_rng(seed)
    table = pd.DataFrame([reference_params()] * n)
    for name in LEVERS:
        table[name] = rng.uniform(*ranges[name], n)
    return table


@pytest.mark.parametrize("name", V3_CHECK_NAMES)
def test_v3_check_holds_at_reference_parameters(name: str) -> None:
    """Each check of models/gvc_upgrading_v3.checks.toml holds at the pinned parameters."""
    ds = v3_reference_result().sel(check=name)
    assert bool(ds["holds"]), f"{name}: margin {float(ds['margin']):.4g} ({ds['doc'].item()})"


def test_v3_checks_file_keeps_every_behavioural_test_and_adds_issue_20s() -> None:
    """v2.2's groups b1..b15 are all there, plus b16..b21, run as one batch."""
    ds = v3_reference_result()
    groups = sorted(set(ds["group"].values), key=lambda g: int(g[1:]))
    assert groups == [f"b{i}" for i in range(1, 22)]
    assert ds.attrs["evaluator_calls"] == 1
    shipped = tomllib.loads(MODEL_PATH.with_name("gvc_upgrading.checks.toml").read_text())
    assert {c["name"] for c in shipped["check"]} <= set(V3_CHECK_NAMES)


def test_v3_range_check_uses_the_documented_ranges_and_the_same_levers() -> None:
    """Check b10's ranges are those the v3 .mdl documents for its stocks and auxiliaries,
    and the draft keeps v2.2's levers (names and list)."""
    (check,) = [c for c in V3_CHECKS["check"] if c.get("expect") == "in_range"]
    assert {k: tuple(v) for k, v in check["ranges"].items()} == v3_ranges(constants=False)
    assert V3_CHECKS["levers"] == list(LEVERS)
    levers = v3_ranges(constants=True)
    for name in LEVERS:
        assert levers[name][0] < levers[name][1], name


def test_functional_search_is_part_of_search_effort() -> None:
    """The co-flow invariant of v3: function-directed search is a part of all search,
    never more and never negative, over 500 random lever sets (reference constants)."""
    model = v3_model()
    table = random_lever_table(500, seed=2026)
    ds = model.run(table, saveper=0.25, variables=["Search Effort", "Functional Search"])
    search, functional = ds["Search Effort"].values, ds["Functional Search"].values
    assert np.isfinite(functional).all()
    assert (functional >= -TOL).all()
    assert (functional <= search + TOL).all()


def test_buyer_and_fdi_starts_direct_no_search_to_functions() -> None:
    """Directed search [S sec.4, sec.8]: a buyer- or FDI-led start alone (no shock, no
    state programme) starts no function-directed search, while it raises all search; a
    state-led start does start it [PF]."""
    model = v3_model()
    reference = reference_params()
    starts = [
        {},
        {"Buyer Led Start": 1.0},
        {"FDI Led Start": 1.0},
        {"State Led Start": 1.0},
    ]
    table = pd.DataFrame([{**reference, "Shock Size": 0.0, **s} for s in starts])
    ds = model.run(table, saveper=1.0, variables=["Search Effort", "Functional Search"])
    search, functional = ds["Search Effort"].values, ds["Functional Search"].values
    for row in (1, 2):
        assert search[row].max() > 2 * search[0].max(), starts[row]
        assert functional[row].max() <= TOL, starts[row]
    assert functional[3].max() > 0.1


def test_the_world_price_reaches_the_production_part_of_value_capture_only() -> None:
    """Prices that bite [S sec.8 concern 1; S sec.5]: at the start's world price, value
    capture is v2.2's (Base + (1 - Base) x Innovation Capability, times the buyers'
    shares); below it, only the production part, Base x (1 - Innovation Capability), is
    paid less, by the world price to the power Price Pass Through; the price index never
    exceeds 1. Over 40 random lever sets, every saved year."""
    model = v3_model()
    reference = reference_params()
    table = random_lever_table(40, seed=7)
    names = ["World Price", "production price index", "Value Capture Share",
             "Innovation Capability", "Buyer Control", "entrant price squeeze",
             "buyer gain squeeze"]  # fmt: skip
    ds = model.run(table, saveper=1.0, variables=names)
    v = {n: ds[n].values for n in names}
    base = reference["Base Capture Share"]
    ppt = float(model.parameter("Price Pass Through").default)
    assert 0 < ppt <= 1
    index = np.minimum(1.0, v["World Price"] ** ppt)
    np.testing.assert_allclose(v["production price index"], index, rtol=1e-12)
    ic = v["Innovation Capability"]
    rest = (
        (1 - reference["Buyer Rent Share"] * v["Buyer Control"])
        * (1 - v["entrant price squeeze"])
        * (1 - v["buyer gain squeeze"])
    )
    np.testing.assert_allclose(
        v["Value Capture Share"], (base * (1 - ic) * index + ic) * rest, rtol=1e-10
    )
    np.testing.assert_allclose(
        v["Value Capture Share"][:, 0], (base + (1 - base) * ic[:, 0]) * rest[:, 0], rtol=1e-12
    )
    assert (v["World Price"] < 0.9).any(), "some run must test a falling price"


def test_competitors_upgrade_so_standing_still_loses_orders() -> None:
    """The treadmill through competitors [S sec.4, sec.8 concern 2; PF treadmilling]: the
    buyers teach the cluster's competitors at the chain's start engagement, so their
    capability follows dC/dt = r (1 - C) - e C from the cluster's start (r = Buyer
    Process Learning Rate x Initial Buyer Control x Challenge x Support, e = Capability
    Erosion Rate). In a captive chain with weak sources, no shock and no scouting, the
    cluster that exports everything closes most of its process gap yet keeps only about
    its share of buyers' orders (running to stand still); the same cluster selling 90% at
    home learns little, its production capability stands still, and it loses more than
    half its share of buyers' orders. (In the draft before this step, competitors stood
    still and both clusters kept or gained share.)"""
    model = v3_model()
    reference = reference_params()
    captive = {
        "Initial Buyer Control": 0.9, "Buyer Challenge": 0.8, "Buyer Support": 0.8,
        "Scouting Intensity": 0.0, "Initial Institutional Capacity": 0.05,
        "Business Association Strength": 0.05, "University Research Strength": 0.0,
        "FDI Learning": 0.0, "State Participation": 0.0,
    }  # fmt: skip
    rows = [{**reference, **captive, "National Market Share": n} for n in (0.0, 0.9)]
    names = ["Competitor Capability", "Market Share", "Process Upgrading",
             "cluster production capability"]  # fmt: skip
    ds = model.run(pd.DataFrame(rows), saveper=1.0, variables=names)
    v = {n: ds[n].values for n in names}
    start = (reference["Initial Process Capability"] + reference["Initial Product Capability"]) / 2
    r = reference["Buyer Process Learning Rate"] * 0.9 * 0.8 * 0.8
    e = reference["Capability Erosion Rate"]
    years = np.arange(41)
    exact = r / (r + e) + (start - r / (r + e)) * np.exp(-(r + e) * years)
    np.testing.assert_allclose(v["Competitor Capability"][0], exact, rtol=1e-2)
    np.testing.assert_allclose(v["Competitor Capability"][1], exact, rtol=1e-2)
    share0 = reference["Initial Market Share"]
    assert v["Process Upgrading"][0, 40] > 0.5
    assert abs(v["Market Share"][0, 40] - share0) < 0.1 * share0
    assert abs(v["cluster production capability"][1, 40] - start) < 0.1
    assert v["Market Share"][1, 40] < 0.5 * share0


def test_associations_build_institutional_capacity_with_the_state() -> None:
    """Sources of learning distinct [PF public-private learning]: institution building
    is v2.2's (rate x state involvement x Search Effort x (1 - Institutional Capacity))
    times (1 + Business Association Strength), so at strength 0 it is v2.2's and full
    associations double it; universities and foreign firms do not enter it. Over 40
    random lever sets, every saved quarter year."""
    model = v3_model()
    reference = reference_params()
    table = random_lever_table(40, seed=11)
    table.loc[:9, "Business Association Strength"] = 0.0
    names = ["institution building", "state involvement", "Search Effort",
             "Institutional Capacity"]  # fmt: skip
    ds = model.run(table, saveper=0.25, variables=names)
    v = {n: ds[n].values for n in names}
    assoc = table["Business Association Strength"].to_numpy()[:, None]
    v22 = (
        reference["Institution Building Rate"]
        * v["state involvement"]
        * v["Search Effort"]
        * (1 - v["Institutional Capacity"])
    )
    np.testing.assert_allclose(v["institution building"], v22 * (1 + assoc), rtol=1e-10)
    assert (v["institution building"][10:] > v22[10:]).any()


def test_v3_runs_rk23_from_its_settings_file_over_the_declared_rk4_eighth() -> None:
    """v3's .mdl declares RK4 at TIME STEP 1/8 (worst stock error 0.29% over 200
    Latin-hypercube settings against RK4 at 1/512); its settings file beside it makes it
    run rk23 (tolerance 1e-5, first step 1/8), chosen by the convergence study at the
    four v3 fits (worst 0.211% over their Latin-hypercube lever settings, 0.046% over
    every constant's range, 2.4x cheaper; issue 20, models/gvc_upgrading_v3.md "v3 at rk23 with a
    posterior"), so every run, check and calibration of v3 uses it unless told
    otherwise; the shipped v2.2's .mdl keeps Euler at 1/64 and runs rk23 the same way
    (issue 21, tests/test_model_settings.py). Was: v3 ran the .mdl's RK4 1/8 (changed
    on purpose by issue 20's integration step)."""
    model = v3_model()
    assert model.vensim_integration == "rk4" and model.integration == "rk23"
    assert model.grid(model.parameter_matrix()).time_step == 0.125
    shipped = gvcdyn.load(MODEL_PATH)
    assert shipped.vensim_integration == "euler" and shipped.integration == "rk23"
    assert shipped.grid(shipped.parameter_matrix()).time_step == 1 / 64
