"""The v3 fit without the ten buyer-, FDI- and TNC-started cases (issue 20): its config and
mapping variant differ from v3's own fit only where they say they do, and the exclusion
rule drops exactly the ten cases the case examination covers; plus the check summary the
v3 studies share (studies/v3_check_summary.py).

Why: ``calibration/config_v3_no_started.toml`` answers "does the fit flatten Functional
Upgrading to accommodate the ten?" by comparing its fit with ``config_v3.toml``'s, which
only means something if nothing but the cases differs; its mapping is a copy of
``case_levers.toml`` plus three ``exclude`` entries, and a copy can drift. No model run.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import xarray as xr

from gvcdyn.calibrate.cases import apply_mapping, read_case_csv, read_mapping
from gvcdyn.calibrate.config import load_config

REPO = Path(__file__).resolve().parents[1]
CALIBRATION = REPO / "calibration"
sys.path.insert(0, str(REPO / "studies"))
import v3_check_summary as cs  # noqa: E402  (a study script, not a package)
from v3_started_cases import STARTED  # noqa: E402

STARTED_TRIGGERS = ("buyer-led", "none:FDI-attraction", "none:domestic-TNC-led")


def _maps(path: Path) -> list[dict]:
    return [dataclasses.asdict(m) for m in read_mapping(path).maps]


def test_mapping_variant_is_the_declared_mapping_plus_the_exclusion_rule() -> None:
    """Every map, the case columns and [unmapped] are case_levers.toml's; only the
    trigger map gains the three exclusions, each with a reason."""
    base = read_mapping(CALIBRATION / "case_levers.toml")
    variant = read_mapping(CALIBRATION / "case_levers_v3_no_started.toml")
    assert (variant.id_column, variant.start_column, variant.end_column) == (
        base.id_column,
        base.start_column,
        base.end_column,
    )
    assert variant.unmapped == base.unmapped
    assert variant.model == base.model
    old, new = _maps(CALIBRATION / "case_levers.toml"), _maps(variant.path)
    assert len(old) == len(new)
    for a, b in zip(old, new, strict=True):
        if a["column"] == "trigger":
            assert a["exclude"] == {}
            assert sorted(b.pop("exclude")) == sorted(STARTED_TRIGGERS)
            a.pop("exclude")
        assert a == b


def test_the_rule_excludes_exactly_the_ten_started_cases() -> None:
    """The rule reads the trigger column only; it drops the ten of the case examination
    (studies/v3_started_cases.py's STARTED) and maps the other 31 as v3's fit does."""
    frame = read_case_csv(CALIBRATION / "gvc_cases.csv")
    full = apply_mapping(frame, read_mapping(CALIBRATION / "case_levers.toml"))
    table = apply_mapping(frame, read_mapping(CALIBRATION / "case_levers_v3_no_started.toml"))
    excluded = {x.case_id for x in table.excluded}
    assert excluded == set(STARTED)
    assert excluded == set(frame.loc[frame["trigger"].isin(STARTED_TRIGGERS), "id"])
    assert all(x.column == "trigger" for x in table.excluded)
    assert len(table) == len(frame) - len(STARTED) == 31
    keep = [i for i, c in enumerate(full.ids) if c not in excluded]
    assert list(table.ids) == [full.ids[i] for i in keep]
    assert table.levers == full.levers
    np.testing.assert_array_equal(table.values, full.values[keep])
    np.testing.assert_array_equal(table.horizon, full.horizon[keep])


def _fields(path: Path) -> dict:
    cfg = load_config(path)
    return {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name != "text"}


def test_configs_differ_from_v3s_own_only_where_they_say() -> None:
    """config_v3_no_started: only the mapping (and no posterior table); its checks
    variant: v3's checks as constraints and config.toml's DE and cross-validation sizes
    with checks."""
    v3 = _fields(CALIBRATION / "config_v3.toml")
    ns = _fields(CALIBRATION / "config_v3_no_started.toml")
    nsc = _fields(CALIBRATION / "config_v3_no_started_checks.toml")
    diff = {k for k in v3 if v3[k] != ns[k]}
    assert diff == {"path", "mapping", "posterior"}
    assert ns["mapping"].name == "case_levers_v3_no_started.toml"
    assert ns["posterior"] is None and ns["checks"] is None
    diff = {k for k in ns if ns[k] != nsc[k]}
    assert diff == {"path", "checks", "seeds", "maxiter", "cv_repeats"}
    assert nsc["checks"] == REPO / "models" / "gvc_upgrading_v3.checks.toml"
    assert (nsc["seeds"], nsc["maxiter"], nsc["cv_repeats"]) == ((1, 2), 20, 1)


def test_check_summary_reads_failures_and_group_shares() -> None:
    """Group b1's share is of the draws where all its checks hold together (2 of 4 here,
    though each holds in 3 of 4); failing lists the checks failing at the base."""
    holds_draw = np.array([[1, 1, 0, 1], [1, 0, 1, 1], [1, 1, 1, 1]], dtype=bool).T  # draw x check
    ds = xr.Dataset(
        {
            "holds": ("check", [True, False, True]),
            "margin": ("check", [0.5, -0.01234, 2.0]),
            "holds_draw": (("draw", "check"), holds_draw),
        },
        coords={"check": ["a", "b", "c"]},
    )
    assert cs.group_shares(ds, ["b1", "b1", "b2"]) == ["b1 50.0%", "b2 100.0%"]
    assert cs.failing(ds, 3) == ["b (-0.012)"]
    assert cs.failing(ds, 4) == ["b (-0.0123)"]
    groups = cs.check_groups(REPO / "models" / "gvc_upgrading_v3.checks.toml")
    assert len(groups) == 76  # 73 until b20 and b21 (issue 20, tenth step)
    assert list(dict.fromkeys(groups)) == [f"b{i}" for i in range(1, 22)]


def test_all_cases_checks_config_differs_from_v3s_own_only_in_the_constraints() -> None:
    """config_v3_checks.toml: config_v3.toml's cases and mapping, v3's checks as
    constraints and the same DE sizes as the no-started checks variant, no posterior."""
    v3 = _fields(CALIBRATION / "config_v3.toml")
    checked = _fields(CALIBRATION / "config_v3_checks.toml")
    assert {k for k in v3 if v3[k] != checked[k]} == {
        "path",
        "checks",
        "seeds",
        "maxiter",
        "cv_repeats",
        "posterior",
    }
    other = _fields(CALIBRATION / "config_v3_no_started_checks.toml")
    assert {k for k in other if other[k] != checked[k]} == {"path", "mapping"}


def test_posterior_and_crossval_configs_differ_from_the_constrained_fit_only_there() -> None:
    """config_v3_checks_post.toml: config_v3_checks.toml at rk23 (v3's settings file,
    no time step of its own) with a [posterior] table of DE moves sized like
    config.toml's; config_v3_checks_cv.toml: the same with 5-fold x3 and leave-one-out
    (issue 20, seventh step). So their estimate is the constrained fit's, at rk23."""
    checked = _fields(CALIBRATION / "config_v3_checks.toml")
    post = _fields(CALIBRATION / "config_v3_checks_post.toml")
    assert {k for k in checked if checked[k] != post[k]} == {
        "path",
        "method",
        "time_step",
        "posterior",
    }
    assert (checked["method"], checked["time_step"]) == ("rk4", 0.125)
    assert (post["method"], post["time_step"]) == ("rk23", None)
    assert (post["posterior"].walkers, post["posterior"].moves) == (16, "de")
    cv = _fields(CALIBRATION / "config_v3_checks_cv.toml")
    assert {k for k in post if post[k] != cv[k]} == {"path", "cv_repeats", "cv_loo"}
    assert (post["cv_repeats"], post["cv_loo"]) == (1, False)
    assert (cv["cv_repeats"], cv["cv_loo"]) == (3, True)


def test_face_validity_subsets_drop_the_started_cases_the_low_rows_and_both() -> None:
    """v3_fit_measures reports face validity on all 41, the 31 not started by buyers,
    foreign firms or a TNC, the 24 without low-confidence rows (the case README asks for
    results with and without them) and the 19 without both; masks follow the frame's
    own row order."""
    sys.path.insert(0, str(REPO / "calibration"))
    import v3_fit_measures as fm  # lazy: a study script reading calibration/face_validity

    ids = read_case_csv(CALIBRATION / "gvc_cases.csv")["id"].tolist()[::-1]
    frame = pd.DataFrame(index=pd.Index(ids, name="id"))
    masks = fm.face_subsets(frame)
    assert [int(m.sum()) for m in masks.values()] == [31, 24, 19]
    started, low, both = masks.values()
    assert set(frame.index[~started]) == set(STARTED)
    assert (both == (started & low)).all()


def test_posterior_measures_take_the_draws_reality_check_takes() -> None:
    """v3_posterior_measures judges face validity and the sweeps at the posterior draws
    `gvcdyn reality-check --posterior N` judges the checks at: evenly spaced over the
    draws flattened chain by chain, first and last included, each once."""
    import v3_posterior_measures as pm  # lazy: a study script that loads face_validity

    values = np.arange(3 * 5 * 2, dtype=float).reshape(3, 5, 2)  # chain, draw, parameter
    fit = xr.Dataset(
        {"posterior_draw": (("chain", "draw", "parameter"), values)},
        coords={"parameter": ["a", "b"]},
    )
    draws = pm.posterior_draws(fit.transpose("parameter", "draw", "chain"), 4)
    assert list(draws.columns) == ["a", "b"]
    np.testing.assert_array_equal(draws["a"], [0.0, 10.0, 18.0, 28.0])  # flat 0, 5, 9, 14
    assert len(pm.posterior_draws(fit, 100)) == 15


class _RecordingModel:
    """Stands in for v3 in the studies' sweeps: every lever in [0, 1] with default 0.5,
    every run 0 over years 0..40; records the integration each batch asked for."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, object]] = []

    def parameter(self, name: str) -> SimpleNamespace:
        return SimpleNamespace(default=0.5, minimum=0.0, maximum=1.0)

    def run(self, table, *, method=None, time_step=None, saveper=None, variables=()):
        self.calls.append((method, time_step))
        time = np.arange(0.0, 41.0)
        zeros = np.zeros((len(table), len(time)))
        return xr.Dataset({v: (("run", "time"), zeros) for v in variables}, coords={"time": time})


def test_v3_measures_run_at_the_integration_the_fit_file_records(tmp_path) -> None:
    """v3_fit_measures and v3_posterior_measures read the method and time step from the
    fit file (as `gvcdyn predict` does) and run their sweeps there, not at the model's
    current default (rk23 by its settings file): a fake fit of the seventh step's config
    that records RK4 with a time step of 1/16 makes every batch ask for RK4 at 1/16."""
    import v3_fit_measures as fm  # lazy: study scripts reading calibration/face_validity
    import v3_posterior_measures as pm

    config = CALIBRATION / "config_v3_checks_post.toml"
    text = config.read_text(encoding="utf-8").replace(
        "[estimate]", "time_step = 0.0625\n\n[estimate]", 1
    )
    fit = tmp_path / "fit.nc"
    xr.Dataset(
        {"estimate": ("parameter", [0.5])},
        coords={"parameter": ["Shock Order Loss"]},
        attrs={"config_text": text, "config_path": str(config), "method": "rk4"},
    ).to_netcdf(fit)
    assert fm.fit_setting(fit) == ("rk4", 0.0625)  # v3_posterior_measures reads it too

    model = _RecordingModel()
    fm.sweeps(model, {"Shock Order Loss": 0.5}, fm.fit_setting(fit))
    pm.sweeps_over_draws(model, pd.DataFrame({"Shock Order Loss": [0.4, 0.6]}), fm.fit_setting(fit))
    levers = len({row[0] for row in fm.SEED_SIGNS})
    assert len(model.calls) == 2 * levers
    assert set(model.calls) == {("rk4", 0.0625)}


def test_posterior_sweeps_count_draws_on_each_side_instead_of_rounding_a_share() -> None:
    """199 of 200 draws against the seeds and one with them is printed as such, with the
    one's change, not as a share that rounds to 100% (the seventh step in
    models/gvc_upgrading_v3.md said "all 200 draws" for the buyer-led start after a
    shock, where one draw lowers it)."""
    import v3_posterior_measures as pm  # lazy: a study script that loads face_validity

    diff = np.array([0.01] * 198 + [0.0, -0.0038])
    assert pm.sign_counts(diff, -1) == "1/200, 198 against, 1 tied, range [-0.0038, +0.0100]"
    assert pm.sign_counts(-diff, -1).startswith("198/200, 1 against, 1 tied")


def test_speed_claims_compare_the_mean_over_the_run_and_the_rest_the_level_at_40() -> None:
    """[S s.4]'s "fast improvement in processes and products" is about speed: a run that
    rises early and is caught up by year 40 wins on the mean over the run, not on the
    level at 40 (studies/v3_buyer_control_process.py: Initial Buyer Control's runs cross
    about year 27). Every SPEED claim is a claim of SEED_SIGNS."""
    import v3_fit_measures as fm  # lazy: a study script reading calibration/face_validity

    time = np.arange(0.0, 41.0)
    early = np.minimum(time / 10, 1.0) * 0.6  # at 0.6 from year 10
    late = np.minimum(time / 30, 1.0) * 0.65  # higher at 40, later
    ds = xr.Dataset(
        {"Process Upgrading": (("run", "time"), np.stack([early, late]))}, coords={"time": time}
    )
    mean = fm.claim_values(ds, "Initial Buyer Control", "Process Upgrading")
    assert mean[0] > mean[1]
    assert np.isclose(mean[0], np.trapezoid(early, time) / 40)
    level = fm.claim_values(ds, "FDI Learning", "Process Upgrading")  # not a speed claim
    assert list(level) == [0.6, 0.65]
    claims = {(row[0], row[3]) for row in fm.SEED_SIGNS}
    assert fm.SPEED.issubset(claims)
    assert {out for _, out in fm.SPEED} == {"Process Upgrading"}


def test_a_fit_is_read_with_its_own_config_and_an_estimated_lever_is_still_swept() -> None:
    """A fit that estimates other constants (a lever among them) is read with its own
    bounds, and the sweeps set the swept lever after the estimates, so Buyer Blocking
    Strength 0 -> 1 is not overwritten by its estimate into a sweep of ties."""
    import v3_fit_measures as fm  # lazy: a study script reading calibration/face_validity

    text = '[estimate]\n"Buyer Blocking Strength" = { bounds = [0.0, 0.6] }\n'
    assert fm.fit_config(xr.Dataset(attrs={"config_text": text}))["estimate"] == {
        "Buyer Blocking Strength": {"bounds": [0.0, 0.6]}
    }
    assert "Innovation Learning Rate" in fm.fit_config(xr.Dataset())["estimate"]

    class Tables(_RecordingModel):
        def run(self, table, **kwargs):
            self.tables = [*getattr(self, "tables", []), table]
            return super().run(table, **kwargs)

    model = Tables()
    fm.sweeps(model, {"Buyer Blocking Strength": 0.3}, ("rk23", None))
    swept = [t for t in model.tables if set(t["Buyer Blocking Strength"]) == {0.0, 1.0}]
    assert len(swept) == 1  # the lever's own batch; every other batch holds the estimate
    assert all(
        set(t["Buyer Blocking Strength"]) == {0.3} for t in model.tables if t is not swept[0]
    )
