"""The split logic of studies/v3_fdi_learning_process.py (issue 20, fourteenth step: why
FDI Learning lowers Process Upgrading 13 years after an FDI-led start in some settings).

Why: the study's diagnosis is its split of high minus low Process Upgrading at t* into
teaching, sources and search, and of the search part into the pushes a lead eases. A
wrong sign in a midpoint split, a response carried with the wrong decay, or an equation
of Search Effort or Functional Search written differently from the model's would move the
blame to another flow without any visible error. Synthetic runs only, integrated here to
the model's equations (results/ is not in CI); no model run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "studies"))
import v3_fdi_learning_process as fl  # noqa: E402  (study script, not a package)

GRID = np.arange(0, 30 + 1e-9, 1 / 64)
CONST = {
    "Buyer Process Learning Rate": 0.5, "Capability Erosion Rate": 0.1,
    "Local Learning Rate": 0.6, "Initial Process Capability": 0.3,
    "Search Response Rate": 1.2, "Routine Time": 3.0, "Search Persistence": 0.7,
    "Search Response Exponent": 2.0, "Shock Year": 10.0,
}  # fmt: skip


def test_the_midpoint_split_adds_up_to_the_product_change() -> None:
    rng = np.random.default_rng(1)
    a_lo, a_hi, b_lo, b_hi = rng.uniform(0, 1, (4, 50))
    da, db = fl.midpoint_split(a_lo, a_hi, b_lo, b_hi)
    np.testing.assert_allclose(da + db, a_hi * b_hi - a_lo * b_lo, atol=1e-15)
    # a factor that does not change has no part
    da, db = fl.midpoint_split(a_lo, a_lo, b_lo, b_hi)
    assert not da.any()
    np.testing.assert_allclose(db, a_lo * (b_hi - b_lo))


def test_what_is_left_decays_at_the_rate_from_each_time_to_the_end() -> None:
    left = fl.remaining(GRID, np.full(GRID.size, 0.4))
    np.testing.assert_allclose(left, np.exp(-0.4 * (GRID[-1] - GRID)), rtol=1e-12)
    assert left[-1] == 1.0


def test_the_linear_response_matches_the_closed_form_and_adds_up() -> None:
    # dx/dt = -a x + f: x = f/a (1 - exp(-a t))
    matrix = np.full((GRID.size, 1, 1), -0.5)
    forcing = np.full((GRID.size, 1, 1), 2.0)
    x = fl.linear_response(GRID, matrix, forcing)[:, 0, 0]
    np.testing.assert_allclose(x, 4.0 * (1 - np.exp(-0.5 * GRID)), atol=1e-5)
    # a coupled, time-varying system: the responses to two forcings add up to the
    # response to their sum, and each matches a tight ODE solution
    a = lambda t: np.array([[-1.0 - 0.5 * np.sin(t), 0.3], [-0.2, -0.4]])  # noqa: E731
    g1 = lambda t: np.array([np.cos(t), 0.0])  # noqa: E731
    g2 = lambda t: np.array([0.0, 0.1 * t])  # noqa: E731
    mats = np.stack([a(t) for t in GRID])
    both = np.stack([np.column_stack([g1(t), g2(t), g1(t) + g2(t)]) for t in GRID])
    x = fl.linear_response(GRID, mats, both)
    np.testing.assert_allclose(x[:, :, 0] + x[:, :, 1], x[:, :, 2], atol=1e-13)
    exact = solve_ivp(lambda t, y: a(t) @ y + g1(t), (0, GRID[-1]), [0.0, 0.0],
                      t_eval=GRID, rtol=1e-10, atol=1e-12).y.T  # fmt: skip
    np.testing.assert_allclose(x[:, :, 0], exact, atol=1e-4)


def inputs(t: np.ndarray, high: bool) -> dict[str, np.ndarray]:
    """Exogenous paths of one synthetic run: capabilities, vulnerability, the state
    programme and the trigger's push factor; the high run has a capability lead that
    fades, and a little more vulnerability."""
    onset = np.where(t >= CONST["Shock Year"], 1 - np.exp(-(t - CONST["Shock Year"]) / 0.25), 0)
    lead = 0.03 * np.exp(-0.3 * t) if high else 0.0
    process = 0.3 + 0.5 * (1 - np.exp(-0.1 * t)) + lead
    product = 0.2 + 0.4 * (1 - np.exp(-0.08 * t)) + 0.5 * lead
    gap = 1 - (process + product) / 2
    programme = 0.8 * onset
    return {
        "Process Capability": process,
        "Product Capability": product,
        "Production Gap": gap,
        "state programme": programme,
        "start push": (1 - (1 - programme) * (1 - 0.5 * onset)) * gap,
        "state push": programme * gap,
        "Market Vulnerability": 0.1 + 0.05 * np.sin(t / 3) + (0.01 if high else 0.0),
        "shock pressure": 0.3 * onset * np.exp(-0.2 * np.maximum(t - CONST["Shock Year"], 0)),
        "buyer blocking": 0.1 + 0.02 * np.cos(t / 4) + (0.005 if high else 0.0),
        "innovation learning sources": 0.5 + 0.1 * np.tanh(t / 10) + (0.01 if high else 0.0),
    }


def synthetic_run(t: np.ndarray, high: bool) -> dict[str, np.ndarray]:
    """One run: the inputs, with Search Effort and Functional Search integrated tightly to
    the model's equations (search rise - search decay; functional search rise -
    functional search decay) and the pressures as the model defines them."""
    run = inputs(t, high)
    x = CONST["Search Response Exponent"]
    r, routine, keep = (CONST[k] for k in ("Search Response Rate", "Routine Time",
                                           "Search Persistence"))  # fmt: skip
    run["search pressure"] = 1 - (1 - run["Market Vulnerability"] ** x) * (1 - run["start push"])
    run["function pressure"] = 1 - (1 - run["shock pressure"] ** x) * (1 - run["state push"])
    at = lambda name, s: np.interp(s, t, run[name])  # noqa: E731

    def rates(s: float, y: np.ndarray) -> list[float]:
        search, functional = y
        i = at("innovation learning sources", s)
        rise = r * at("search pressure", s) * (1 - search)
        share = at("function pressure", s) / max(at("search pressure", s), 1e-300)
        f_rise = rise * share * (1 - at("buyer blocking", s))
        f_decay = functional * (1 - keep * i) / routine
        decay = f_decay + (search - functional) / routine
        return [rise - decay, f_rise - f_decay]

    sol = solve_ivp(rates, (t[0], t[-1]), [0.05, 0.0], t_eval=t, rtol=1e-10, atol=1e-12,
                    max_step=1 / 16)  # fmt: skip
    run["Search Effort"], run["Functional Search"] = sol.y
    return run


@pytest.fixture(scope="module")
def pair() -> tuple[dict, dict]:
    return synthetic_run(GRID, high=False), synthetic_run(GRID, high=True)


def test_the_search_causes_rebuild_the_difference_in_search_effort(pair) -> None:
    lo, hi = pair
    causes = fl.search_causes(GRID, lo, hi, CONST)
    assert tuple(causes) == fl.SEARCH_PARTS
    d_search = hi["Search Effort"] - lo["Search Effort"]
    rebuilt = np.sum(list(causes.values()), axis=0)
    assert np.abs(d_search).max() > 1e-3  # a difference worth splitting
    np.testing.assert_allclose(rebuilt, d_search, atol=1e-4 * np.abs(d_search).max())
    # just after the trigger the lead eases both pushes, so it costs search (negative);
    # more vulnerability adds search from the start
    after = np.searchsorted(GRID, CONST["Shock Year"] + 1)
    assert causes["start push: process lead"][after] < 0
    assert causes["state push: process lead"][after] < 0
    assert causes["state push: product lead"][after] < 0
    assert causes["market vulnerability"][GRID > 1].min() > 0
    shock = CONST["Shock Year"]
    assert not causes["state push: process lead"][np.less(GRID, shock)].any()


def test_a_cause_the_runs_share_has_no_part(pair) -> None:
    lo, hi = pair
    same = {**hi, "Market Vulnerability": lo["Market Vulnerability"],
            "buyer blocking": lo["buyer blocking"]}  # fmt: skip
    causes = fl.search_causes(GRID, lo, same, CONST)
    assert not causes["market vulnerability"].any()
    assert not causes["buyer blocking"].any()


def process_capability(learning: np.ndarray) -> np.ndarray:
    """Process Capability on GRID from dP/dt = L (1 - P) - e P (``L`` = ``learning``)."""
    e = CONST["Capability Erosion Rate"]
    sol = solve_ivp(lambda s, p: np.interp(s, GRID, learning) * (1 - p) - e * p,
                    (0, GRID[-1]), [CONST["Initial Process Capability"]], t_eval=GRID,
                    rtol=1e-11, atol=1e-13, max_step=1 / 16)  # fmt: skip
    return sol.y[0]


def test_the_split_of_process_upgrading_adds_up_to_its_difference(pair) -> None:
    """Process Capability integrated to dP/dt = L (1 - P) - e P with L = teaching x rate
    + Local Learning Rate x Search Effort x sources; the high run has more sources before
    the trigger and the same after (saturated), as in the settings against: the sources'
    part comes from before the trigger, and the parts add up to the difference."""
    lo, hi = (dict(run) for run in pair)
    shock = CONST["Shock Year"]
    before = np.less(GRID, shock)
    for run, extra in ((lo, 0.0), (hi, 0.2)):
        run["production learning sources"] = np.where(before, 0.7 + extra, 0.999)
        run["buyer teaching"] = 0.1 + 0.05 * np.tanh(GRID / 5)
        run["local learning intensity"] = (
            CONST["Local Learning Rate"] * run["Search Effort"] * run["production learning sources"]
        )
        learning = run["buyer teaching"] * CONST["Buyer Process Learning Rate"]
        run["Process Capability"] = process_capability(learning + run["local learning intensity"])
    t_end = 23.3  # between grid points: read by interpolation
    parts = fl.split_run(GRID, lo, hi, CONST, t_end)
    gap0 = 1 - CONST["Initial Process Capability"]
    total = (np.interp(t_end, GRID, hi["Process Capability"])
             - np.interp(t_end, GRID, lo["Process Capability"])) / gap0  # fmt: skip
    assert parts["total"] == pytest.approx(total, abs=1e-12)
    main = [k for k in parts if ", " in k]
    assert sum(parts[k] for k in main) == pytest.approx(total, abs=2e-5)
    assert parts["teaching, before the trigger"] == parts["teaching, after"] == 0.0
    assert parts["sources, before the trigger"] > 0
    assert abs(parts["sources, after"]) < 1e-3 * parts["sources, before the trigger"]
    # (the search causes' sum is checked on consistent runs above: here the capability
    # paths that set the pushes are not the ones integrated)
