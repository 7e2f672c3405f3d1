"""Reality checks (issue 19, part 1): the check file format, the batch, the verdicts.

A tiny growth model whose values are known in closed form (Euler, step 1: the stock is
``S0 * (1 + rate * (1 + boost)) ** t``) lets every margin be checked exactly; the GVC
model's own checks are run by ``test_gvc_behaviour.py``.
"""

from __future__ import annotations

import io
import math
import textwrap
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from mdl_helpers import write_mdl

import gvcdyn
from gvcdyn.checks import read_checks
from gvcdyn.checks import run as checks_run
from gvcdyn.cli import common, run_cli
from gvcdyn.errors import RealityCheckError
from gvcdyn.evaluator import Evaluator

GROWTH = """
Stock = INTEG(growth, Initial Stock)
    ~ Widgets
    ~ |
growth = Rate * (1 + Boost) * Stock
    ~ Widgets/Month
    ~ |
Rate = 0.1
    ~ 1/Month [0, 0.5]
    ~ |
Initial Stock = 10
    ~ Widgets [0, 11]
    ~ |
Boost = 0
    ~ Dmnl [0, 1]
    ~ The lever.
    |
"""


@pytest.fixture(scope="module")
def growth(tmp_path_factory: pytest.TempPathFactory) -> gvcdyn.Model:
    folder = tmp_path_factory.mktemp("growth")
    return gvcdyn.load(write_mdl(folder, GROWTH, final_time=10, time_step=1))


def stock(t: float, s0: float = 10.0, rate: float = 0.1, boost: float = 0.0) -> float:
    return s0 * (1 + rate * (1 + boost)) ** t


def write_checks(tmp_path: Path, text: str, name: str = "checks.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def run(model: gvcdyn.Model, tmp_path: Path, text: str, **kw) -> xr.Dataset:
    return gvcdyn.reality_check(model, write_checks(tmp_path, text), **kw)


# --------------------------------------------------------------------------- verdicts


def test_a_check_that_must_fail_does_with_its_margin(growth, tmp_path) -> None:
    """A bound the model breaks fails, and the margin is the signed distance to it."""
    ds = run(
        growth,
        tmp_path,
        """
        [[check]]
        name = "stock stays below 20"
        expect = "bound"
        outcome = "Stock"
        at = 10
        max = 20
        [[check]]
        name = "stock stays below 30"
        expect = "bound"
        outcome = "Stock"
        at = 10
        max = 30
        """,
    )
    assert list(ds["holds"].values) == [False, True]
    np.testing.assert_allclose(ds["margin"].values, [20 - stock(10), 30 - stock(10)], rtol=1e-12)
    assert ds.attrs["all_hold"] == 0


def test_comparison_between_conditions_sweep_and_sign(growth, tmp_path) -> None:
    """compare (two conditions), monotone (a sweep), sign, bounds with at = [...] and t,
    let, backgrounds and a tolerance, each with its known margin."""
    ds = run(
        growth,
        tmp_path,
        """
        levers = ["Boost"]
        [settings]
        fast = { "Rate" = 0.2 }
        [[check]]
        name = "boost gives more stock at 5 and 10"
        conditions.plain = { set = { "Boost" = 0 } }
        conditions.boosted = { set = { "Boost" = 1 } }
        expect = "compare"
        outcome = "Stock"
        at = [5, 10]
        left = "boosted"
        op = ">"
        right = "plain"
        [[check]]
        name = "stock rises with boost"
        sweep = { lever = "Boost", values = [0, 0.5, 1] }
        expect = "monotone"
        direction = "increasing"
        outcome = "Stock"
        at = 10
        [[check]]
        name = "stock falls with boost (wrong)"
        sweep = { lever = "Boost", values = [0, 0.5, 1] }
        expect = "monotone"
        direction = "decreasing"
        outcome = "Stock"
        at = 10
        [[check]]
        name = "growth is positive from year 1, on either background"
        backgrounds = [[], ["fast"]]
        expect = "sign"
        let.gain = '(run["Stock"] @ t) - (run["Stock"] @ 0)'
        value = "gain"
        at = [1, 10]
        sign = "positive"
        [[check]]
        name = "the mean over years 0-2 is within 0.5 of 11, given 0.1 of tolerance"
        expect = "bound"
        value = 'mean(run["Stock"], 0, 2) - run["Initial Stock"]'
        min = 1.5
        tolerance = 0.1
        """,
    )
    mean02 = (stock(0) + stock(1) + stock(2)) / 3 - 10  # 1.0333
    expected = {
        "boost gives more stock at 5 and 10": (True, stock(5, boost=1) - stock(5)),
        "stock rises with boost": (True, stock(10, boost=0.5) - stock(10)),
        "stock falls with boost (wrong)": (False, -(stock(10, boost=1) - stock(10, boost=0.5))),
        "growth is positive from year 1, on either background": (True, stock(1) - 10),
        "the mean over years 0-2 is within 0.5 of 11, given 0.1 of tolerance": (
            False,
            mean02 - 1.5 + 0.1,
        ),
    }
    for name, (holds, margin) in expected.items():
        assert bool(ds["holds"].sel(check=name)) is holds, name
        assert float(ds["margin"].sel(check=name)) == pytest.approx(margin, rel=1e-12), name


def test_every_check_runs_in_one_evaluator_call(growth, tmp_path, monkeypatch) -> None:
    """All conditions of all checks are one parameter matrix, one evaluator call; the
    same settings in two checks are run once."""
    calls = []
    original = Evaluator.__call__

    def counted(self, X, times=None):
        calls.append(np.asarray(X).shape)
        return original(self, X, times)

    monkeypatch.setattr(Evaluator, "__call__", counted)
    body = "".join(
        f"""
        [[check]]
        name = "check {i}"
        conditions.a = {{ set = {{ "Boost" = {i / 10} }} }}
        conditions.b = {{ set = {{ "Boost" = {(i + 1) / 10} }} }}
        expect = "compare"
        outcome = "Stock"
        at = [3, 10]
        left = "b"
        op = ">"
        right = "a"
        """
        for i in range(8)
    )
    ds = run(growth, tmp_path, body)
    assert len(calls) == 1
    assert calls[0][0] == 9  # Boost 0, 0.1 ... 0.8 and 0.9 once each, not 16 runs
    assert ds.attrs["evaluator_calls"] == 1 and ds.attrs["runs"] == 9
    assert ds["holds"].values.all()


def test_many_draws_are_judged_in_chunks_with_the_same_verdicts(
    growth, tmp_path, monkeypatch
) -> None:
    """Draws whose readings would pass the per-call cap are judged chunk by chunk, so no
    array holds every draw's readings at once; the margins are those of one call."""
    body = """
        [[check]]
        name = "stock at 10 below 40"
        expect = "bound"
        outcome = "Stock"
        at = [3, 10]
        max = 40
        """
    kw = {"perturb": 0.2, "draws": 50, "seed": 5}
    whole = run(growth, tmp_path, body, **kw)
    sizes = []
    original = Evaluator.__call__

    def counted(self, X, times=None):
        sizes.append(np.asarray(X).shape[0])
        return original(self, X, times)

    monkeypatch.setattr(Evaluator, "__call__", counted)
    runner = checks_run.CheckRunner(growth, read_checks(write_checks(tmp_path, body), growth))
    per_draw = runner.rows * len(runner.cells) * len(runner.times)  # readings of a draw
    monkeypatch.setattr(checks_run, "MAX_VALUES_PER_CALL", 16 * per_draw)
    chunked = run(growth, tmp_path, body, **kw)
    assert sizes == [16, 16, 16, 3]  # 51 rows: the base and 50 draws
    assert chunked.attrs["evaluator_calls"] == 4
    np.testing.assert_array_equal(chunked["margin_draw"].values, whole["margin_draw"].values)
    np.testing.assert_array_equal(chunked["margin"].values, whole["margin"].values)


def test_a_failed_run_fails_its_checks(growth, tmp_path) -> None:
    """A NaN in a run is never a margin: the check fails with margin NaN."""
    ds = run(
        growth,
        tmp_path,
        """
        [[check]]
        name = "log of a negative number"
        expect = "bound"
        value = 'log(-(run["Stock"] @ 10))'
        max = 1e9
        """,
    )
    assert not bool(ds["holds"][0])
    assert math.isnan(float(ds["margin"][0]))


# --------------------------------------------------------------------------- perturbation


def test_perturbation_shares_have_the_known_answer(growth, tmp_path) -> None:
    """Each drawn constant is uniform within +-20% of its base, clipped to its range;
    the share of draws where a check holds is the share of draws on the right side of
    its threshold, and all hold together where both do."""
    ds = run(
        growth,
        tmp_path,
        """
        levers = ["Boost"]
        [[check]]
        name = "initial stock at least 10"
        expect = "bound"
        value = 'run["Stock"] @ 0'
        min = 10
        [[check]]
        name = "rate at most 0.1"
        expect = "bound"
        value = 'run["Rate"]'
        max = 0.1
        """,
        perturb=0.2,
        draws=4000,
        seed=3,
    )
    assert list(ds["parameter"].values) == ["Rate", "Initial Stock"]  # not the lever
    s0 = ds["draw_value"].sel(parameter="Initial Stock").values
    rate = ds["draw_value"].sel(parameter="Rate").values
    assert s0.min() >= 8 and s0.max() == 11  # clipped to the documented range [0, 11]
    assert rate.min() >= 0.08 and rate.max() <= 0.12
    first, second = s0 >= 10, rate <= 0.1
    np.testing.assert_array_equal(ds["holds_draw"].values, np.column_stack([first, second]))
    np.testing.assert_allclose(ds["share"].values, [first.mean(), second.mean()])
    assert float(ds["share_all"]) == pytest.approx((first & second).mean())
    # uniform within +-20%: P(S0 >= 10) = 1/2, P(rate <= 0.1) = 1/2, independent
    assert float(ds["share"][0]) == pytest.approx(0.5, abs=0.04)
    assert float(ds["share_all"]) == pytest.approx(0.25, abs=0.04)
    assert bool(ds["holds"][0]) and bool(ds["holds"][1])  # the base itself
    np.testing.assert_allclose(ds["margin_draw"].values[:, 0], s0 - 10, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- malformed files

GOOD = """
[[check]]
name = "ok"
expect = "bound"
outcome = "Stock"
at = 10
max = 100
"""

MALFORMED = [
    ("unknown key", GOOD.replace("max = 100", "max = 100\nmaximum = 3"), "unknown key 'maximum'"),
    ("kind", GOOD.replace('"bound"', '"bounded"'), "unknown expectation kind 'bounded'"),
    ("lever", GOOD + 'set = { "Bost" = 1 }\n', "unknown parameter 'Bost'; did you mean 'Boost'"),
    ("range", GOOD + 'set = { "Boost" = 3 }\n', "outside the allowed range [0, 1] of 'Boost'"),
    ("variable", GOOD.replace('"Stock"', '"Stok"'), "unknown variable 'Stok'; did you mean"),
    ("no time", GOOD.replace("at = 10\n", ""), "missing time"),
    (
        "t without at",
        GOOD.replace('outcome = "Stock"\nat = 10\n', "value = 'run[\"Stock\"] @ t'\n"),
        "missing time: an expression uses t",
    ),
    ("unsaved time", GOOD.replace("at = 10", "at = 10.5"), "not a saved time"),
    ("function", GOOD + "value = 'median(run[\"Stock\"])'\n", "unknown function 'median'"),
    ("condition", GOOD + "value = 'other[\"Stock\"] @ 3'\n", "unknown condition 'other'"),
    ("settings", GOOD + 'use = ["calm"]\n', "unknown settings 'calm'"),
    ("other kind's key", GOOD + 'op = ">"\n', "belongs to expect = 'compare'"),
    (
        "series value",
        GOOD.replace("outcome", "value").replace('"Stock"', "'run[\"Stock\"]'"),
        "is a time series",
    ),
    ("code", GOOD + "value = '__import__(\"os\")'\n", "unknown function '__import__'"),
    (
        "no sweep",
        GOOD.replace('"bound"', '"monotone"').replace("max = 100", 'direction = "increasing"'),
        "needs a sweep",
    ),
]


@pytest.mark.parametrize(
    ("text", "message"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_a_malformed_check_is_refused_in_one_line_naming_it(
    growth, tmp_path, text, message
) -> None:
    path = write_checks(tmp_path, text)
    with pytest.raises(RealityCheckError) as info:
        read_checks(path, growth)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(f"{path}: check 'ok': "), text
    assert message in text
    assert "allow-out-of-range" not in text  # a check file has no such option


def test_the_cli_refuses_a_malformed_file_with_one_line(growth, tmp_path, capsys) -> None:
    path = write_checks(tmp_path, GOOD.replace('"bound"', '"bounded"'))
    assert run_cli(["reality-check", str(growth.path), str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "check 'ok'" in err


# --------------------------------------------------------------------------- command line


def test_the_cli_refuses_draws_or_seed_that_nothing_would_use(growth, tmp_path, capsys) -> None:
    """--draws and --seed set the draws of --perturb: without it (or with --posterior,
    whose N is the count) they were silently ignored."""
    path = write_checks(tmp_path, GOOD)
    for extra, hint in (
        (["--seed", "3"], "add --perturb"),
        (["--draws", "50"], "add --perturb"),
        (["--posterior", "4", "--draws", "50"], "--posterior N says how many"),
    ):
        assert run_cli(["reality-check", str(growth.path), str(path), *extra]) == 2, extra
        err = capsys.readouterr().err
        assert "only set the draws of --perturb" in err and hint in err, err


def test_the_cli_prints_the_table_writes_it_and_exits_1_on_a_failure(growth, tmp_path, monkeypatch):
    checks = write_checks(
        tmp_path,
        GOOD.replace("max = 100", "max = 26")
        + GOOD.replace('"ok"', '"boosted stays below 30"').replace("max = 100", "max = 30"),
    )
    model = str(growth.path)
    printed = io.StringIO()
    monkeypatch.setattr(common.out, "file", printed)
    assert run_cli(["reality-check", model, str(checks), "-o", str(tmp_path / "t.csv")]) == 0
    assert "boosted stays below 30" in printed.getvalue() and "yes" in printed.getvalue()
    csv = (tmp_path / "t.csv").read_text()
    assert csv.splitlines()[0] == "check,holds,margin"
    # --set applies over the base: with Boost 1 the stock is 61.9 at 10, both fail
    code = run_cli(
        ["reality-check", model, str(checks), "--set", "Boost=1", "--out", str(tmp_path / "t.nc")]
    )
    assert code == 1
    assert "NO" in printed.getvalue()
    ds = xr.open_dataset(tmp_path / "t.nc")
    assert list(ds["holds"].values) == [0, 0]
    np.testing.assert_allclose(
        ds["margin"].values, [26 - stock(10, boost=1), 30 - stock(10, boost=1)]
    )
    assert "Boost=1" in ds.attrs["base"]


def test_params_from_a_fit_file_are_the_base(growth, tmp_path) -> None:
    """--params fit.nc: the fit's estimates are the base of every run."""
    fit = tmp_path / "fit.nc"
    xr.Dataset({"estimate": ("parameter", [0.2])}, coords={"parameter": ["Rate"]}).to_netcdf(fit)
    ds = run(growth, tmp_path, GOOD, params=fit)
    assert float(ds["margin"][0]) == pytest.approx(100 - stock(10, rate=0.2))
    assert ds.attrs["base"] == str(fit)


def test_the_cli_runs_the_checks_with_rk4(growth, tmp_path) -> None:
    """--method rk4: the margin is the RK4 value (step factor 1 + r + r^2/2 + r^3/6 + r^4/24)."""
    checks = write_checks(tmp_path, GOOD)
    out = tmp_path / "rk4.nc"
    assert (
        run_cli(["reality-check", str(growth.path), str(checks), "--method", "rk4", "-o", str(out)])
        == 0
    )
    ds = xr.open_dataset(out)
    factor = 1 + 0.1 + 0.1**2 / 2 + 0.1**3 / 6 + 0.1**4 / 24
    assert ds.attrs["method"] == "rk4"
    assert float(ds["margin"][0]) == pytest.approx(100 - 10 * factor**10, rel=1e-12)


def test_a_condition_may_be_a_scenario_file_beside_the_checks(growth, tmp_path) -> None:
    """scenario = "file.toml" is read relative to the check file; set wins over it."""
    (tmp_path / "boosted.toml").write_text('[parameters]\n"Boost" = 1\n"Rate" = 0.2\n')
    ds = run(
        growth,
        tmp_path,
        """
        [[check]]
        name = "scenario"
        scenario = "boosted.toml"
        set = { "Rate" = 0.05 }
        expect = "bound"
        outcome = "Stock"
        at = 10
        max = 100
        """,
    )
    assert float(ds["margin"][0]) == pytest.approx(100 - stock(10, rate=0.05, boost=1))


# ------------------------------------------------------------- integration setting (issue 19)

FIT_CONFIG = """
cases = "cases.csv"
mapping = "mapping.toml"
method = "euler"
time_step = 0.5
[estimate]
"Rate" = { bounds = [0, 0.5] }
[[outcome]]
column = "level"
levels = [0, 1]
quantity = "Stock"
"""


def write_fit(tmp_path: Path) -> Path:
    """A calibration fit of Rate = 0.2 computed at Euler, time step 0.5 (the model's is 1)."""
    fit = tmp_path / "fit.nc"
    xr.Dataset(
        {"estimate": ("parameter", [0.2])},
        coords={"parameter": ["Rate"]},
        attrs={
            "config_text": FIT_CONFIG,
            "config_path": str(tmp_path / "config.toml"),
            "method": "euler",
        },
    ).to_netcdf(fit)
    return fit


def euler_stock(t: float, step: float, rate: float = 0.1) -> float:
    return 10 * (1 + rate * step) ** (t / step)


def test_the_time_step_is_chosen_and_recorded(growth, tmp_path) -> None:
    """time_step=: every run takes that step; the result records the method and step."""
    ds = run(growth, tmp_path, GOOD, time_step=0.5)
    assert float(ds["margin"][0]) == pytest.approx(100 - euler_stock(10, 0.5), rel=1e-12)
    assert (ds.attrs["method"], ds.attrs["time_step"]) == ("euler", 0.5)
    ds = run(growth, tmp_path, GOOD)
    assert float(ds["margin"][0]) == pytest.approx(100 - stock(10), rel=1e-12)
    assert ds.attrs["time_step"] == 1.0
    with pytest.raises(RealityCheckError, match="time_step must be a number > 0, got 0"):
        run(growth, tmp_path, GOOD, time_step=0.0)


def test_the_cli_reproduces_a_fits_margins_at_the_fits_time_step(
    growth, tmp_path, monkeypatch
) -> None:
    """--params fit.nc runs at the fit's method and time step (0.5, not the model's 1), so
    the margins are the fit's; --time-step and --integration override, each on its own."""
    checks, fit, out = write_checks(tmp_path, GOOD), write_fit(tmp_path), tmp_path / "r.nc"
    printed = io.StringIO()
    monkeypatch.setattr(common.out, "file", printed)

    def margin(*extra: str) -> tuple[float, str, str]:
        printed.truncate(0)
        printed.seek(0)
        argv = ["reality-check", str(growth.path), str(checks), "--params", str(fit), *extra]
        assert run_cli([*argv, "-o", str(out)]) == 0
        ds = xr.load_dataset(out)
        return float(ds["margin"][0]), ds.attrs["method"], " ".join(printed.getvalue().split())

    value, method, title = margin()
    assert value == pytest.approx(100 - euler_stock(10, 0.5, rate=0.2), rel=1e-12)
    assert method == "euler" and "euler, time step 0.5 (the fit's)" in title
    value, method, title = margin("--time-step", "1")
    assert value == pytest.approx(100 - stock(10, rate=0.2), rel=1e-12)
    assert "euler (the fit's), time step 1 (given)" in title
    value, method, title = margin("--integration", "rk4")
    factor = 1 + 0.1 + 0.1**2 / 2 + 0.1**3 / 6 + 0.1**4 / 24  # RK4 at r h = 0.2 x 0.5
    assert value == pytest.approx(100 - 10 * factor**20, rel=1e-12)
    assert method == "rk4" and "rk4 (given), time step 0.5 (the fit's)" in title
    # no fit: the model's own setting, said so
    assert run_cli(["reality-check", str(growth.path), str(checks)]) == 0
    assert "euler, time step 1 (the model's)" in " ".join(printed.getvalue().split())


@pytest.mark.parametrize("step", ["0", "-0.5", "nan"])
def test_the_cli_refuses_a_time_step_that_is_not_positive(growth, tmp_path, capsys, step) -> None:
    checks = write_checks(tmp_path, GOOD)
    assert run_cli(["reality-check", str(growth.path), str(checks), "--time-step", step]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: --time-step {step}: give a step > 0"), err
    assert "\n" not in err


def test_a_fit_whose_stored_config_cannot_be_read_asks_for_the_setting(
    growth, tmp_path, capsys
) -> None:
    """A fit whose stored calibration config no longer parses (e.g. made by an older
    gvcdyn) has no known integration setting: one line asks for --integration and
    --time-step, and with both given the checks run at them."""
    checks, fit = write_checks(tmp_path, GOOD), tmp_path / "fit.nc"
    ds = xr.load_dataset(write_fit(tmp_path))
    ds.attrs["config_text"] = FIT_CONFIG + "\nunknown_key = 1\n"
    ds.to_netcdf(fit)
    argv = ["reality-check", str(growth.path), str(checks), "--params", str(fit)]
    assert run_cli(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot be read" in err and "--integration and --time-step" in err, err
    assert "\n" not in err
    assert run_cli([*argv, "--integration", "euler", "--time-step", "0.5"]) == 0


# ------------------------------------------------------------- posterior draws (issue 19)

#: the stock at 10 is at most 26: holds for Rate <= 0.1 at Euler step 1 (25.94) and 0.5
#: (26.53 at 0.1, but no draw is near 0.1: 0.09 gives 24.1, 0.11 gives 29.2 at step 0.5)
POSTERIOR_CHECKS = """
[[check]]
name = "stock at 10 at most 26"
expect = "bound"
outcome = "Stock"
at = 10
max = 26
[[check]]
name = "initial stock at least 10"
expect = "bound"
value = 'run["Initial Stock"]'
min = 10
"""

#: posterior_draw (chain 2, draw 3, parameter): flattened chain by chain, Rate is
#: [0.05, 0.12, 0.08, 0.2, 0.09, 0.11] and Initial Stock [10.5, 9, 9.5, 10.2, 10.8, 9.9]
POSTERIOR_RATE = [[0.05, 0.12, 0.08], [0.2, 0.09, 0.11]]
POSTERIOR_S0 = [[10.5, 9.0, 9.5], [10.2, 10.8, 9.9]]


def write_posterior_fit(tmp_path: Path) -> Path:
    """A stand-in calibration fit of Rate and Initial Stock (estimate 0.09 and 10, at
    Euler 0.5 as ``write_fit``) with 2 chains x 3 posterior draws."""
    fit = tmp_path / "posterior_fit.nc"
    ds = xr.load_dataset(write_fit(tmp_path)).drop_vars(["estimate", "parameter"])
    ds["estimate"] = ("parameter", [0.09, 10.0])
    ds["posterior_draw"] = (
        ("chain", "draw", "parameter"),
        np.stack([POSTERIOR_RATE, POSTERIOR_S0], axis=-1),
    )
    ds.assign_coords(parameter=["Rate", "Initial Stock"]).to_netcdf(fit)
    return fit


def test_posterior_shares_have_the_known_answer(growth, tmp_path) -> None:
    """posterior=4 of 6 draws takes linspace(0, 5, 4).round() = 0, 2, 3, 5 (chains in
    order): Rate 0.05, 0.08, 0.2, 0.11 and Initial Stock 10.5, 9.5, 10.2, 9.9, so the
    first check holds in draws 1-2, the second in 1 and 3, both only in draw 1."""
    fit = write_posterior_fit(tmp_path)
    ds = run(growth, tmp_path, POSTERIOR_CHECKS, params=fit, posterior=4)
    assert bool(ds["holds"].values.all())  # the base: the estimate (0.09, 10)
    np.testing.assert_array_equal(ds.attrs["posterior_index"], [0, 2, 3, 5])
    np.testing.assert_array_equal(ds["posterior_index"].values, [0, 2, 3, 5])
    assert (ds.attrs["posterior"], ds.attrs["draws"], ds.attrs["posterior_total"]) == (4, 4, 6)
    assert "perturb" not in ds.attrs and "posterior_note" not in ds.attrs
    assert list(ds["parameter"].values) == ["Rate", "Initial Stock"]
    np.testing.assert_allclose(
        ds["draw_value"].values, [[0.05, 10.5], [0.08, 9.5], [0.2, 10.2], [0.11, 9.9]]
    )
    expected = [[True, True], [True, False], [False, True], [False, False]]
    np.testing.assert_array_equal(ds["holds_draw"].values, expected)
    np.testing.assert_allclose(ds["share"].values, [0.5, 0.5])
    assert float(ds["share_all"]) == 0.25
    rates, s0 = np.array([0.05, 0.08, 0.2, 0.11]), np.array([10.5, 9.5, 10.2, 9.9])
    np.testing.assert_allclose(
        ds["margin_draw"].values[:, 0], 26 - s0 * (1 + rates) ** 10, rtol=1e-12
    )
    assert "4 posterior draws of" in ds["share"].attrs["description"]
    # --set applies over every draw: Initial Stock 10.6 holds the second check in all
    ds = run(
        growth,
        tmp_path,
        POSTERIOR_CHECKS,
        params=fit,
        posterior=4,
        settings={"Initial Stock": 10.6},
    )
    np.testing.assert_allclose(ds["share"].values, [0.5, 1.0])
    assert float(ds["share_all"]) == 0.5
    # more than the fit holds: all six, said so
    ds = run(growth, tmp_path, POSTERIOR_CHECKS, params=fit, posterior=10)
    assert (ds.attrs["posterior"], ds.attrs["draws"]) == (10, 6)
    np.testing.assert_array_equal(ds.attrs["posterior_index"], np.arange(6))
    assert "holds 6 posterior draws, fewer than the 10 asked" in ds.attrs["posterior_note"]
    np.testing.assert_array_equal(
        ds["holds_draw"].values[:, 0], [True, False, True, False, True, False]
    )


@pytest.mark.parametrize(
    ("n_kept", "n_wanted"),
    [(6, 4), (6, 6), (6, 10), (7, 1), (7, 2), (1, 3), (0, 5), (1001, 8), (448_000, 200)],
)
def test_evenly_spaced_takes_the_draws_its_three_copies_took(n_kept, n_wanted) -> None:
    """One rule where there were three (calibrate.posterior's predictive draws, the
    reality check's posterior draws, studies/sensitivity_evidence.py's design 3), each
    written out here as it was: the same positions, as int64."""
    got = checks_run.evenly_spaced(n_kept, n_wanted)
    n = min(n_wanted, n_kept)
    checks = np.linspace(0, n_kept - 1, n).round().astype(np.int64)
    predictive = np.unique(np.linspace(0, n_kept - 1, n).round()).astype(np.int64)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, checks)
    np.testing.assert_array_equal(got, predictive)
    if n_wanted <= n_kept:
        study = np.linspace(0, n_kept - 1, n_wanted).round().astype(int)
        np.testing.assert_array_equal(got, study)
    else:  # the study's copy had no cap and took some draws twice; now each once
        np.testing.assert_array_equal(got, np.arange(n_kept))


def test_all_hold_is_every_check_of_a_row() -> None:
    """Verdicts (bool, or int8 as read back from a result file) -> all hold per row; a
    row of no checks holds."""
    holds = np.array([[True, True], [True, False], [False, False]])
    assert checks_run.all_hold(holds).tolist() == [True, False, False]
    assert checks_run.all_hold(holds.astype(np.int8)).tolist() == [True, False, False]
    assert checks_run.all_hold(holds[0]).item() is True
    assert checks_run.all_hold(np.empty((2, 0), dtype=bool)).tolist() == [True, True]


def test_evenly_spaced_takes_the_first_and_last_draw_and_each_at_most_once() -> None:
    assert checks_run.evenly_spaced(6, 4).tolist() == [0, 2, 3, 5]
    assert checks_run.evenly_spaced(11, 3).tolist() == [0, 5, 10]
    assert checks_run.evenly_spaced(3, 10).tolist() == [0, 1, 2]
    assert checks_run.evenly_spaced(0, 4).tolist() == []


@pytest.mark.parametrize("n", [0, 4])  # the base (an estimate), posterior draws
def test_a_missing_or_unreadable_fit_is_refused_naming_it(tmp_path, n) -> None:
    missing, broken = tmp_path / "missing.nc", tmp_path / "broken.nc"
    broken.write_bytes(b"not netcdf")
    read = checks_run.posterior_draws if n else checks_run.base_values
    args = (n,) if n else ()
    with pytest.raises(RealityCheckError, match=f"parameter file not found: {missing}$"):
        read(missing, *args)
    unreadable = f"^parameter file {broken} is not a readable netCDF file: "
    with pytest.raises(RealityCheckError, match=unreadable):
        read(broken, *args)


def test_posterior_refusals_in_the_library(growth, tmp_path) -> None:
    fit = write_posterior_fit(tmp_path)
    with pytest.raises(RealityCheckError, match="posterior and perturb: choose one"):
        run(growth, tmp_path, GOOD, params=fit, posterior=4, perturb=0.2)
    with pytest.raises(RealityCheckError, match=r"from a calibration fit \(\.nc\)"):
        run(growth, tmp_path, GOOD, posterior=4)
    bare = write_fit(tmp_path)  # an estimate, no posterior
    with pytest.raises(RealityCheckError, match=rf"{bare} has no posterior draws.*\[posterior\]"):
        run(growth, tmp_path, GOOD, params=bare, posterior=4)


def test_the_cli_judges_posterior_draws_with_the_title_and_share_column(
    growth, tmp_path, monkeypatch
) -> None:
    """--posterior 4: the title says "4 posterior draws of FIT", the share column the
    shares, the run is at the fit's setting (euler 0.5) unless --integration overrides."""
    checks = write_checks(tmp_path, POSTERIOR_CHECKS)
    fit, out = write_posterior_fit(tmp_path), tmp_path / "p.nc"
    printed = io.StringIO()
    monkeypatch.setattr(common.out, "file", printed)
    argv = ["reality-check", str(growth.path), str(checks), "--params", str(fit)]
    assert run_cli([*argv, "--posterior", "4", "-o", str(out)]) == 0
    text = printed.getvalue()
    assert f"4posteriordrawsof{fit}" in "".join(text.split())
    assert "euler, time step 0.5 (the fit's)" in " ".join(text.split())
    assert "within +-" not in text
    lines = {line.split("│")[1].strip(): line for line in text.splitlines() if "│" in line}
    assert "50.0%" in lines["stock at 10 at most 26"]
    assert "25.0%" in lines["(all checks together)"]
    ds = xr.load_dataset(out)
    assert (ds.attrs["posterior"], ds.attrs["method"], ds.attrs["time_step"]) == (4, "euler", 0.5)
    np.testing.assert_array_equal(ds["holds_draw"].values[:, 0], [1, 1, 0, 0])
    # rk4 at step 0.25 overrides the fit's setting; all six draws: only draw 0 (0.05,
    # 10.5) holds both (draw 4, 0.09 and 10.8, reaches 10.8 e^0.9 = 26.6 > 26 at 10)
    printed.truncate(0)
    printed.seek(0)
    extra = ["--integration", "rk4", "--time-step", "0.25", "-o", str(out)]
    assert run_cli([*argv, "--posterior", "10", *extra]) == 0
    text = " ".join(printed.getvalue().split())
    assert "rk4, time step 0.25 (given)" in text
    assert "holds 6 posterior draws, fewer than the 10 asked: all of them are used" in text
    ds = xr.load_dataset(out)
    assert ds.attrs["method"] == "rk4" and ds.sizes["draw"] == 6
    assert float(ds["share_all"]) == pytest.approx(1 / 6)  # only draw 0 (0.05, 10.5)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--perturb", "0.2"], "--posterior and --perturb: choose one"),
        (["--params", "fit.toml"], "--posterior 4 needs --params FIT.nc"),
        ([], "--posterior 4 needs --params FIT.nc, a calibration fit with posterior draws"),
        (["--params", "BARE"], "has no posterior draws ('posterior_draw'): add a [posterior]"),
    ],
    ids=["with perturb", "toml params", "no params", "no posterior in the fit"],
)
def test_the_cli_refuses_posterior_in_one_line(growth, tmp_path, capsys, extra, message) -> None:
    checks, fit, bare = (
        write_checks(tmp_path, GOOD),
        write_posterior_fit(tmp_path),
        write_fit(tmp_path),
    )
    extra = [str(bare) if e == "BARE" else e for e in extra]
    if "--params" not in extra and "--perturb" in extra:
        extra += ["--params", str(fit)]
    argv = ["reality-check", str(growth.path), str(checks), "--posterior", "4", *extra]
    assert run_cli(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err, err
    if "BARE" in extra or str(bare) in extra:
        assert str(bare) in err
        assert "with --perturb" in err  # the option's name, as the user types it
