"""The logic of two v3 diagnostics (issue 20): studies/v3_buyer_control_process.py (why
Initial Buyer Control 0.1 -> 0.9 lowers Process Upgrading at year 40 in some settings) and
studies/v3_horizon_paths.py (why Cluster Market Position and Functional Upgrading do not
grow with the period length).

Why: models/gvc_upgrading_v3.md reads its account of both from these scripts' numbers:
an exact split that does not add up, a lever table that ranks the wrong lever, a path
shape or a speed measure that is misread would each tell a wrong story about v3.
Synthetic paths, the committed model and the committed case table only (results/ is not
in CI).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.stats import spearmanr

import gvcdyn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "studies"))
import lever_sweeps as ls  # noqa: E402  (study scripts, not packages)
import v3_buyer_control_process as bc  # noqa: E402
import v3_fit_measures as fm  # noqa: E402
import v3_horizon_paths as hp  # noqa: E402

T = np.arange(0.0, 40.0 + 1 / 16, 1 / 8)  # the saving step of bc's speed measures
EPS_HALF = bc.EPS / 2  # a difference this small is a tie


# --- v3_buyer_control_process: the exact split ------------------------------------------


def _paired_paths(t: np.ndarray) -> dict[str, np.ndarray]:
    """SPLIT_VARIABLES of two low/high pairs, with dP/dt = L (1 - P) - e P integrated finely
    (RK4 at a quarter of the saving step) for rates that follow time only."""
    bplr, e, llr, p0 = 0.8, 0.05, 0.6, 0.3
    # rows: low 0, low 1, high 0, high 1. Teaching up with the control, function-directed
    # search up and production-directed search down (the local part's sign is mixed)
    teach_amp = np.array([0.05, 0.10, 0.30, 0.12])[:, None]
    fs_amp = np.array([0.10, 0.20, 0.40, 0.25])[:, None]
    prod_amp = np.array([0.50, 0.40, 0.20, 0.35])[:, None]
    src_amp = np.array([0.60, 0.50, 0.55, 0.70])[:, None]

    def rates(s: np.ndarray) -> dict[str, np.ndarray]:
        s = np.atleast_1d(s)[None, :]
        teaching = teach_amp * (1 - np.exp(-s / 5))  # buyer teaching (before the rate)
        fs = fs_amp * s / (s + 10)
        search = fs + prod_amp * np.exp(-s / 15)
        src = src_amp * (1 + 0.3 * np.sin(s / 6))
        return {"buyer teaching": teaching, "Functional Search": fs, "Search Effort": search,
                "production learning sources": src,
                "local learning intensity": llr * search * src}  # fmt: skip

    def slope(s: float, p: np.ndarray) -> np.ndarray:
        r = rates(np.array([s]))
        big_l = (r["buyer teaching"] * bplr + r["local learning intensity"])[:, 0]
        return big_l * (1 - p) - e * p

    sub = 4
    h = (t[1] - t[0]) / sub
    p = np.full(4, p0)
    pc = [p.copy()]
    for s0 in t[:-1]:
        for j in range(sub):
            s = s0 + j * h
            k1 = slope(s, p)
            k2 = slope(s + h / 2, p + h / 2 * k1)
            k3 = slope(s + h / 2, p + h / 2 * k2)
            k4 = slope(s + h, p + h * k3)
            p = p + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        pc.append(p.copy())
    g = rates(t)
    g["Process Capability"] = np.array(pc).T
    constants = {"Buyer Process Learning Rate": bplr, "Capability Erosion Rate": e,
                 "Local Learning Rate": llr, "Initial Process Capability": p0}  # fmt: skip
    for name, value in constants.items():
        g[name] = np.full(4, value)
    assert set(g) == set(bc.SPLIT_VARIABLES)
    return g


def test_the_split_adds_up_to_the_year_40_difference_and_the_local_parts_to_local() -> None:
    """Teaching + local equal the year-40 difference of Process Upgrading (the
    quadrature's error only); the three local parts add up to the local part exactly.
    A weight with the low run's rate, without (1 - P_low), without the erosion or without
    the initial gap would miss the total by far more than the tolerance."""
    t = np.arange(0.0, 40.0 + 1 / 64, bc.DT)
    g = _paired_paths(t)
    parts, total = bc.split_parts(g, t)
    pc0 = g["Process Capability"][:, 0]
    np.testing.assert_allclose(
        total, (g["Process Capability"][2:, -1] - g["Process Capability"][:2, -1]) / (1 - pc0[0])
    )
    assert (np.abs(total) > 0.02).all()
    np.testing.assert_allclose(parts["teaching"] + parts["local"], total, atol=2e-5)
    local = parts[["  function-directed search", "  production-directed search", "  sources"]]
    np.testing.assert_allclose(local.sum(axis=1), parts["local"], rtol=1e-12, atol=1e-15)
    # the signs as built: teaching up, function-directed search up, production-directed down
    assert (parts["teaching"] > 0).all()
    assert (parts["  function-directed search"] > 0).all()
    assert (parts["  production-directed search"] < 0).all()
    # the local part alone would be wrong: it must not pass for the total
    assert (np.abs(parts["local"] - total) > 1e-3).all()


def test_the_split_reads_the_committed_models_equations() -> None:
    """On the committed model (its defaults, a few LHS settings), teaching + local match
    the year-40 difference: SPLIT_VARIABLES and the learning equation the split assumes
    (dP/dt = (teaching x rate + local) (1 - P) - e P, local = rate x search x sources) are
    still the model's."""
    model = gvcdyn.load(fm.V3)
    settings = fm.lhs_levers(model, 6, seed=10)
    ds = bc.paired_runs(model, settings, pd.DataFrame(index=range(6)), ("rk23", None),
                        saveper=bc.DT, variables=bc.SPLIT_VARIABLES)  # fmt: skip
    assert int(ds["status"].max()) == 0
    g = {v: np.asarray(ds[v].values) for v in bc.SPLIT_VARIABLES}
    parts, total = bc.split_parts(g, ds["time"].values)
    np.testing.assert_allclose(
        g["local learning intensity"],
        g["Local Learning Rate"][0] * g["Search Effort"] * g["production learning sources"],
        rtol=1e-10,
    )
    error = np.abs(parts["teaching"] + parts["local"] - total)
    assert error.max() < 1e-4 and error.max() < 0.05 * np.abs(total).max()
    local = parts.iloc[:, 2:].sum(axis=1)
    np.testing.assert_allclose(local, parts["local"], atol=1e-14)


# --- v3_buyer_control_process: the levers that separate, counts, speed ---------------------


def test_the_separating_lever_ranks_first_with_its_means_on_each_side() -> None:
    rng = np.random.default_rng(4)
    n = 200
    settings = pd.DataFrame(rng.uniform(0, 1, (n, len(ls.LEVERS))), columns=list(ls.LEVERS))
    key = "Scouting Intensity"
    diff = np.where(settings[key] < 0.3, -0.01, 0.02) + rng.normal(0, 1e-3, n)
    diff[:3] = -EPS_HALF  # below zero but within EPS: not against the seeds
    table = bc.separating_levers(settings, diff)
    assert bc.LEVER not in table.index and "teaching potential" in table.index
    assert table.index[0] == key and table.loc[key, "rho"] > 0.6
    assert list(table.index) == list(table["rho"].abs().sort_values(ascending=False).index)
    fail = diff < -bc.EPS
    assert fail.sum() == ((settings[key] < 0.3).to_numpy() & (np.arange(n) >= 3)).sum()
    assert table.loc[key, "against"] < 0.3 < table.loc[key, "elsewhere"]
    np.testing.assert_allclose(table.loc[key, "against"], settings.loc[fail, key].mean())
    # the teaching potential is challenge x support x (1 - national market share)
    potential = (
        settings["Buyer Challenge"] * settings["Buyer Support"]
        * (1 - settings["National Market Share"])
    )  # fmt: skip
    assert bc.separating_levers(settings, potential.to_numpy()).loc[
        "teaching potential", "rho"
    ] == pytest.approx(1.0)


def test_counts_with_against_and_tied_within_eps() -> None:
    diff = np.array([0.1, 0.2, -0.3, EPS_HALF, -EPS_HALF])
    assert bc.counts(diff) == "40.0% (2 with, 1 against, 2 tied; mean +0.0000)"


def test_first_time_on_the_saving_grid_and_never() -> None:
    x = np.vstack([1 - np.exp(-0.2 * T), np.full_like(T, 0.1)])
    out = bc.first_time(x, T, 0.5)
    assert out[0] == 3.5  # ln 2 / 0.2 = 3.47, first saved at 3.5
    assert np.isinf(out[1])
    assert bc.first_time((T / 40)[None, :], T, 0.5)[0] == 20.0  # reaching the level counts


def _speed_paths() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows: (0) high faster throughout; (1) high peaks at year 10 and decays below low by
    40 (the claim fails at year 40 yet holds as a speed); (2) identical; (3) both flat below
    a quarter; (4) high slower."""
    lo = np.vstack([1 - np.exp(-0.1 * T), 0.5 * (1 - np.exp(-0.05 * T)), 1 - np.exp(-0.1 * T),
                    np.full_like(T, 0.1), 1 - np.exp(-0.2 * T)])  # fmt: skip
    hi = np.vstack([1 - np.exp(-0.2 * T), 0.06 * T * np.exp(1 - T / 10), 1 - np.exp(-0.1 * T),
                    np.full_like(T, 0.1), 1 - np.exp(-0.1 * T)])  # fmt: skip
    shock_year = np.array([5.0, 38.0, 20.0, 20.0, 5.0])
    return lo, hi, shock_year


def test_speed_measures_read_year_10_40_after_the_trigger_and_the_mean() -> None:
    lo, hi, shock_year = _speed_paths()
    m = bc.speed_measures(T, lo, hi, shock_year)
    year40, year10 = m["year 40 (the claim as measured)"], m["year 10"]
    np.testing.assert_allclose(year40, hi[:, -1] - lo[:, -1])
    np.testing.assert_allclose(year10, hi[:, 80] - lo[:, 80])
    assert T[80] == 10.0
    # five years after the trigger: year 10 for a shock in year 5, year 40 (not 43) for 38
    after = m["five years after the trigger"]
    assert after[0] == year10[0] and after[1] == year40[1]
    assert after[2] == hi[2, 200] - lo[2, 200] and T[200] == 25.0
    # the mean over the run against its closed form, 1 - (1 - exp(-40 k)) / (40 k)
    mean_exp = lambda k: 1 - (1 - np.exp(-40 * k)) / (40 * k)  # noqa: E731
    mean = m["mean over the 40 years"]
    assert mean[0] == pytest.approx(mean_exp(0.2) - mean_exp(0.1), abs=1e-4)
    # the peak-and-decay pair: against the seeds at 40, with them at 10 and on average
    peak_mean = 0.6 * np.e * (1 - 5 * np.exp(-4)) / 4  # int_0^40 0.06 t e^(1-t/10) dt / 40
    assert mean[1] == pytest.approx(peak_mean - 0.5 * mean_exp(0.05), abs=1e-4)
    assert year40[1] < -0.2 and year10[1] > 0.2 and mean[1] > 0.05
    assert year40[2] == year10[2] == mean[2] == 0.0


def test_the_mean_over_the_run_is_the_trapezoid_area_over_the_span_of_its_grid() -> None:
    """A straight line's mean is its midpoint value on any grid; t^2's trapezoid mean over
    0..40 is 1600/3 + h^2/6 on a grid of step h, so the yearly and the 1/8-year grids
    differ by (1 - 1/64)/6; a grid that starts late is averaged over its own span."""
    yearly = np.arange(0.0, 41.0)
    line = np.vstack([0.2 + 0.01 * yearly, np.full_like(yearly, 0.3)])
    np.testing.assert_allclose(fm.mean_over_run(line, yearly), [0.4, 0.3], rtol=1e-15)
    assert fm.mean_over_run(T**2, T) == pytest.approx(1600 / 3 + 1 / (6 * 64), rel=1e-14)
    assert fm.mean_over_run(yearly**2, yearly) == pytest.approx(1600 / 3 + 1 / 6, rel=1e-14)
    late = yearly[10:]
    assert fm.mean_over_run(late, late) == pytest.approx(25.0)
    with pytest.raises(ValueError, match="increasing"):
        fm.mean_over_run(yearly, yearly[::-1])
    with pytest.raises(ValueError, match="last axis"):
        fm.mean_over_run(line, T)


def test_both_speed_scripts_take_the_mean_over_the_run_from_one_function(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """v3_fit_measures' SPEED claims (yearly saves) and v3_buyer_control_process's speed
    measures (1/8-year saves) call the one ``fm.mean_over_run``, each with its own grid: a
    stand-in for it changes what both report."""
    assert bc.fm is fm
    grids: list[np.ndarray] = []

    def stand_in(paths: np.ndarray, times: np.ndarray) -> np.ndarray:
        grids.append(np.asarray(times))
        return 1000 * np.asarray(paths)[..., -1]  # not a mean: only a stand-in gives this

    monkeypatch.setattr(fm, "mean_over_run", stand_in)
    lo, hi, shock_year = _speed_paths()
    mean = bc.speed_measures(T, lo, hi, shock_year)["mean over the 40 years"]
    np.testing.assert_allclose(mean, 1000 * (hi[:, -1] - lo[:, -1]))
    yearly = np.arange(0.0, 41.0)
    path = np.vstack([yearly, 2 * yearly, 3 * yearly]).T  # (time, run): read per run
    ds = xr.Dataset({"Process Upgrading": (("time", "run"), path)}, coords={"time": yearly})
    values = fm.claim_values(ds, "Initial Buyer Control", "Process Upgrading")
    assert list(values) == [40_000.0, 80_000.0, 120_000.0]
    assert [len(g) for g in grids] == [len(T), len(T), 41]
    np.testing.assert_array_equal(grids[2], yearly)


def test_years_to_close_the_gap_sooner_later_tied_never() -> None:
    lo, hi, _ = _speed_paths()
    # half the gap: (0) sooner, (1) sooner (low never gets there), (2) tied, (3) both never
    # (tied), (4) later
    assert bc.close_times(T, lo, hi, 0.5) == (2, 1, 2, 1)
    assert bc.close_times(T, lo[:1], hi[:1], 0.5) == (1, 0, 0, 0)
    assert bc.close_times(T, lo[3:4], hi[3:4], 0.25) == (0, 0, 1, 1)


# --- v3_horizon_paths ----------------------------------------------------------------------

TH = np.arange(0.0, 40.25, 0.5)  # the saving step of run_paths


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (-0.1 * TH / 40, "no rise"),
        (np.full_like(TH, 0.01), "no rise"),
        (0.5 * TH / 8 * np.exp(1 - TH / 8), "peak-decay"),  # peak 0.5 at 8, 0.14 at 40
        (TH / 40, "grow"),
        (np.minimum(TH / 30, 1), "grow"),  # rising from year 20 to 40, flat after 30
        (1 - np.exp(-TH / 3), "plateau"),  # closed by year 20
        (np.minimum(TH / 10, 1) - 0.15 * np.clip((TH - 10) / 30, 0, 1), "plateau"),  # -15%
        (np.minimum(TH / 10, 1) - 0.3 * np.clip((TH - 10) / 30, 0, 1), "peak-decay"),  # -30%
        (np.where(TH <= 35, TH / 35, 1 - 0.08 * (TH - 35)), "plateau"),  # peak at 35: late
    ],
)
def test_path_shape(path: np.ndarray, expected: str) -> None:
    assert hp.shape(path, TH) == expected


def test_every_trigger_of_the_committed_table_has_its_group() -> None:
    """A ``none:...`` trigger falls into the plain 'none' group only if unrecognised."""
    triggers = pd.read_csv(REPO / "calibration" / "gvc_cases.csv")["trigger"]
    groups = triggers.map(hp.group)
    assert set(groups) == {"shock", "buyer-led", "state-led", "FDI/TNC-led", "none"}
    assert (groups[triggers.str.startswith("none:")] != "none").all()
    assert (groups[triggers.str.startswith("shock")] == "shock").all()
    assert hp.group("none:domestic-TNC-led") == "FDI/TNC-led"


def _logit_paths() -> xr.Dataset:
    """Three cases whose logit share follows the model's: A_c = capability^cs x unit
    cost^-cost, unit cost = wage / (base + process capability), and the entrants and
    the established competitors growing at their own rates."""
    t = TH[None, :]
    base = np.array([0.5, 1.0, 0.8])[:, None]
    cs, cost = np.array([1.5, 2.0, 1.0])[:, None], np.array([1.0, 0.5, 2.0])[:, None]
    proc = 0.3 + 0.5 * (1 - np.exp(-t / np.array([5.0, 20.0, 10.0])[:, None]))
    prod = 0.2 + np.array([0.3, 0.1, 0.2])[:, None] * t / 40
    wage = 1 + np.array([0.01, 0.03, 0.02])[:, None] * t
    a_c = ((proc + prod) / 2) ** cs * (wage / (base + proc)) ** -cost
    a_e = 0.3 * np.exp(np.array([0.06, 0.03, 0.08])[:, None] * t)
    a_r = np.array([2.0, 1.0, 3.0])[:, None] * np.exp(0.01 * t)
    total = a_c + a_e + a_r
    vol = 1 + 0.02 * t * np.array([1.0, -0.5, 0.2])[:, None]
    uv = np.exp(np.array([0.005, -0.01, 0.0])[:, None] * t)
    dims = ("run", "time")
    return xr.Dataset(
        {
            hp.CMP: (dims, np.log(vol * uv)),
            "relative volume": (dims, vol),
            "relative unit value": (dims, uv),
            "cluster attractiveness": (dims, a_c),
            "rest of world attractiveness": (dims, a_r),
            "entrant order share": (dims, a_e / total),
            "Process Capability": (dims, proc),
            "Product Capability": (dims, prod),
            "Wage": (dims, wage),
            "Base Productivity": ("run", base[:, 0]),
            "Cost Sensitivity": ("run", cost[:, 0]),
            "Capability Sensitivity": ("run", cs[:, 0]),
            "true share": (dims, a_c / total),  # not read by the script
        },
        coords={"time": TH, "run": ["a", "b", "c"]},
    )


def test_the_market_share_parts_add_up_and_cmp_splits_into_volume_and_unit_value() -> None:
    """A part with a wrong sign, weight or logarithm would leave a residual of its own
    size; here each part is at least 0.05 and the residual is the discretisation's."""
    paths = _logit_paths()
    d = hp.decomposition_parts(paths)
    s_c = paths["true share"].sel(time=slice(10, 40)).values
    np.testing.assert_allclose(d["ln indicated market share"], np.log(s_c[:, -1] / s_c[:, 0]))
    np.testing.assert_allclose(d[hp.CMP], d["ln relative volume"] + d["ln relative unit value"])
    names = ["own production capability", "own unit cost", "entrants", "established competitors"]
    residual = d["ln indicated market share"] - sum(d[k] for k in names)
    assert np.abs(residual).max() < 1e-4
    assert min(np.abs(d[k]).min() for k in names) > 0.05
    assert (d["entrants"] < 0).all() and (d["established competitors"] < 0).all()
    assert (d["own production capability"] > 0).all() and (d["own unit cost"] < 0).all()


def test_at_horizon_interpolates_and_takes_the_highest_value_up_to_it() -> None:
    x = np.vstack([TH / 40, np.sin(TH / 40 * np.pi), TH / 40])  # the second peaks at 20
    at_h, best = hp.at_horizon(x, TH, np.array([10.25, 30.0, 20.0]))
    np.testing.assert_allclose(at_h, [10.25 / 40, np.sin(0.75 * np.pi), 0.5])
    # saved up to 10.0; the peak; a horizon on the saving grid counts its own value
    np.testing.assert_allclose(best, [10.0 / 40, 1.0, 0.5])


def test_partial_rho_removes_a_common_control() -> None:
    rng = np.random.default_rng(2)
    c = rng.normal(size=300)
    x = c + 0.3 * rng.normal(size=300)
    y = c + 0.3 * rng.normal(size=300)
    assert hp.partial_rho(x, y, []) == pytest.approx(spearmanr(x, y).statistic)
    assert spearmanr(x, y).statistic > 0.8
    assert abs(hp.partial_rho(x, y, [c])) < 0.15
    z = x + 0.3 * rng.normal(size=300)  # follows x beyond the control
    assert hp.partial_rho(x, z, [c]) > 0.5


def test_case_table_reads_the_committed_table(capsys: pytest.CaptureFixture[str]) -> None:
    cases = pd.read_csv(REPO / "calibration" / "gvc_cases.csv").set_index("id")
    assert set(cases["outcome_class"]) == set(hp.ORDER)
    for first, second in hp.PHASES:  # consecutive periods of one cluster
        assert cases.loc[first, "period_end"] <= cases.loc[second, "period_start"] + 1
    hp.case_table(cases)
    out = capsys.readouterr().out
    assert out.count("two phases: ") == len(hp.PHASES)
    assert f"case table ({len(cases)} rows)" in out
    assert all(f"  {label}: " in out for label in hp.ORDER)


# --- both: refused files -------------------------------------------------------------------


@pytest.mark.parametrize("script", [bc, hp])
def test_a_missing_model_or_fit_is_refused_with_a_clear_message(
    script, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fit = tmp_path / "fit.nc"
    fit.write_bytes(b"")  # exists: the refusal is the model's
    missing = tmp_path / "candidate.mdl"
    monkeypatch.setattr(sys, "argv", ["x", str(fit), "--model", str(missing)])
    with pytest.raises(SystemExit) as exit_:
        script.main()
    assert exit_.value.code == 2
    assert f"--model {missing}: no such file" in capsys.readouterr().err
    monkeypatch.setattr(sys, "argv", ["x", str(tmp_path / "none.nc")])
    with pytest.raises(SystemExit):
        script.main()
    assert "none.nc: no such file" in capsys.readouterr().err
