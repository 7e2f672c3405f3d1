"""Sensitivity over what is known (issue 19, part 3): distributions, groups, timing levers.

Each analytic case is a tiny ``.mdl`` model whose indices follow from the inputs'
distributions: a linear model ``y = sum a_i x_i`` has ``S1_i = ST_i = a_i^2 var_i / sum``
whatever the distributions, so changing a distribution must move the indices to where
the variances say; Ishigami with groups ``{X1, X3}`` and ``{X2}`` has closed indices
``(V1 + V13) / V`` and ``V2 / V``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mdl_helpers import write_mdl
from scipy import stats

import gvcdyn
from gvcdyn.errors import SensitivityDesignError
from gvcdyn.sensitivity import study as sens
from gvcdyn.sensitivity.estimator import sobol_indices
from gvcdyn.sensitivity.levers import choose_levers, timing_levers

MODELS = Path(__file__).parent / "models"

# Ishigami with a = 7, b = 0.1 on [-pi, pi]^3
_A, _B = 7.0, 0.1
_V1 = 0.5 * (1 + _B * np.pi**4 / 5) ** 2
_V2 = _A**2 / 8
_V13 = 8 * _B**2 * np.pi**8 / 225
_V = _V1 + _V2 + _V13

LINEAR = """
X1 = 0
    ~ Dmnl
    ~ First input: no documented range, so any distribution fits.
    |
X2 = 0.5
    ~ Dmnl [0,1]
    ~ Second input, documented on [0, 1].
    |
X3 = 1
    ~ Dmnl
    ~ Third input.
    |
Y = 1 * X1 + 2 * X2 + 3 * X3
    ~ Dmnl
    ~ Linear: first-order indices a_i^2 var_i / sum.
    |
"""


@pytest.fixture
def printed(monkeypatch):
    """What the CLI's rich consoles print (they are bound to streams at import)."""
    import io

    from gvcdyn.cli import common

    streams = {"out": io.StringIO(), "err": io.StringIO()}
    monkeypatch.setattr(common.out, "file", streams["out"])
    monkeypatch.setattr(common.err, "file", streams["err"])
    monkeypatch.setattr(common.out, "width", 200)

    def take(name: str = "out") -> str:
        text = streams[name].getvalue()
        streams[name].seek(0)
        streams[name].truncate()
        return text

    return take


def _ranges(tmp_path: Path, text: str, name: str = "ranges.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _within(ds, key: str, expected: np.ndarray, output: str) -> None:
    one = ds.sel(output=output).isel(time=-1)
    got, conf = one[key].values, one[f"{key}_conf"].values
    assert np.all(np.abs(got - expected) <= conf), (key, got, expected, conf)
    assert np.all(conf < 0.08)  # the check has power


def test_distributions_move_linear_indices_where_the_variances_say(tmp_path):
    model = gvcdyn.load(write_mdl(tmp_path, LINEAR, final_time=1))
    ranges = _ranges(
        tmp_path,
        """
        [distributions]
        "X1" = { dist = "normal", mean = 0, sd = 0.5 }
        "X2" = { dist = "triangular", low = 0, high = 1, mode = 0.2 }
        "X3" = { dist = "lognormal", log_mean = -1, log_sd = 0.4 }
        """,
    )
    study = sens.prepare(model, ["Y"], ranges=ranges)
    assert study.problem["dists"] == ["norm", "triang", "lognorm"]
    assert study.problem["bounds"][1] == [0.0, 1.0, 0.2]  # SALib's peak: share of the width
    ds = sens.sobol(study, 2048, seed=3)
    var = np.array(
        [
            0.5**2,
            stats.triang(c=0.2, loc=0, scale=1).var(),
            stats.lognorm(s=0.4, scale=np.exp(-1)).var(),
        ]
    )
    share = np.array([1, 4, 9]) * var
    _within(ds, "S1", share / share.sum(), "Y")
    _within(ds, "ST", share / share.sum(), "Y")
    assert "normal(mean=0, sd=0.5)" in str(ds.parameter_distribution.values[0])
    assert ds.parameter_min.values[0] == -np.inf and ds.parameter_max.values[1] == 1.0

    # the same levers uniform: the indices move to the uniform variances
    uniform = sens.prepare(
        model, ["Y"], ranges=_ranges(tmp_path, '[ranges]\n"X1" = [-1, 1]\n"X2" = [0, 1]\n', "u")
    )
    ds_u = sens.sobol(uniform, 2048, seed=3)
    share_u = np.array([1 * 4 / 12, 4 / 12])
    _within(ds_u, "S1", share_u / share_u.sum(), "Y")


def test_truncated_normal_is_sampled_inside_its_bounds(tmp_path):
    model = gvcdyn.load(write_mdl(tmp_path, LINEAR, final_time=1))
    ranges = _ranges(
        tmp_path,
        '[distributions]\n"X2" = { dist = "truncnorm", low = 0, high = 1, mean = 0.9, sd = 0.3 }\n'
        '"X3" = { dist = "uniform", low = 0, high = 1 }\n',
    )
    study = sens.prepare(model, ["Y"], ranges=ranges)
    from SALib.sample import sobol as sobol_sample

    X = sobol_sample.sample(study.problem, 256, seed=1)
    assert X[:, 0].min() >= 0 and X[:, 0].max() <= 1 and X[:, 0].mean() > 0.6
    ds = sens.sobol(study, 2048, seed=4)
    var = np.array([stats.truncnorm(-3, 1 / 3, loc=0.9, scale=0.3).var() * 4, 9 / 12])
    _within(ds, "S1", var / var.sum(), "Y")


def test_ishigami_groups_have_the_analytic_closed_indices(tmp_path):
    model = gvcdyn.load(MODELS / "ishigami.mdl")
    ranges = _ranges(tmp_path, '[groups]\n"X1 and X3" = ["X1", "X3"]\n"only X2" = ["X2"]\n')
    study = sens.prepare(model, ["Ishigami"], ranges=ranges)
    assert study.problem["groups"] == ["X1 and X3", "X1 and X3", "only X2"]
    ds = sens.sobol(study, 2048, seed=5)
    assert list(ds.parameter.values) == ["X1 and X3", "only X2"]
    assert list(ds.parameter_members.values) == ["X1, X3", "X2"]
    assert ds.attrs["n_runs"] == 2048 * 4  # D = 2 groups: blocks of D + 2
    expected = np.array([_V1 + _V13, _V2]) / _V
    _within(ds, "ST", expected, "Ishigami")
    _within(ds, "S1", expected, "Ishigami")  # the groups do not interact
    assert "X1 and X3: X1, X3" in ds.attrs["groups"]


def test_group_estimates_equal_salib_on_a_grouped_design():
    """D = the number of groups: the project's estimator reads SALib's grouped blocks."""
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    problem = {
        "num_vars": 4,
        "names": ["a", "b", "c", "d"],
        "bounds": [[0, 1]] * 4,
        "groups": ["g1", "g2", "g1", "g3"],
    }
    X = sobol_sample.sample(problem, 256, calc_second_order=False, seed=2)
    Y = X[:, 0] * X[:, 2] + np.sin(3 * X[:, 1]) + 0.2 * X[:, 3] ** 2
    ours = sobol_indices(Y, 3, num_resamples=50, seed=9)
    theirs = sobol_analyze.analyze(problem, Y, calc_second_order=False, num_resamples=50, seed=9)
    np.testing.assert_allclose(ours.S1[:, 0], theirs["S1"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.ST[:, 0], theirs["ST"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.ST_conf[:, 0], theirs["ST_conf"], rtol=1e-10)


def test_morris_with_groups_reports_per_group(tmp_path):
    model = gvcdyn.load(MODELS / "ishigami.mdl")
    ranges = _ranges(tmp_path, '[groups]\n"X1 and X3" = ["X1", "X3"]\n"only X2" = ["X2"]\n')
    study = sens.prepare(model, ["Ishigami"], ranges=ranges)
    ds = sens.morris(study, 20, seed=1)
    assert list(ds.parameter.values) == ["X1 and X3", "only X2"]
    assert ds.attrs["n_runs"] == 20 * 3


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[distributions]\n"X2" = { dist = "beta", low = 0, high = 1 }', "'X2': dist = 'beta'"),
        ('[distributions]\n"X2" = { dist = "triangular", low = 0, high = 1 }', "lacks mode"),
        (
            '[distributions]\n"X2" = { dist = "triangular", low = 0, high = 1, mode = 1 }',
            "mode < high",
        ),
        ('[distributions]\n"X2" = { dist = "normal", mean = 0.5, sd = 0.1 }', "truncnorm"),
        ('[distributions]\n"X2" = { dist = "normal", mean = 0.5, sd = 0 }', "sd > 0"),
        ('[distributions]\n"X2" = { dist = "uniform", low = 0, high = 2 }', "documented range"),
        ('[distributions]\n"X2" = { dist = "normal", mean = "a", sd = 1 }', "finite number"),
        ('[distributions]\n"X2" = [0, 1]', "distribution of 'X2' must be a table"),
        (
            '[ranges]\n"X2" = [0, 1]\n[distributions]\n"X2" = { dist = "uniform", low = 0, '
            "high = 1 }",
            "both a range and a distribution",
        ),
        ('[groups]\n"g" = []', "group 'g'"),
        ('[groups]\n"g" = ["X1"]\n"h" = ["X1", "X2"]', "'X1' is in groups 'g' and 'h'"),
        ('parameters = ["X1"]\n[groups]\n"g" = ["X2"]', "group 'g' holds 'X2'"),
        ('parameters = ["X1", "X2"]\n[groups]\n"X2" = ["X1"]', "rename the group"),
        ('[group]\n"g" = ["X1"]', "group"),
        ('[groups]\n"g" = ["X1"]\ncases = "c.toml"', "before the first [table]"),
    ],
)
def test_malformed_ranges_files_are_refused_naming_the_lever(tmp_path, text, words):
    model = gvcdyn.load(write_mdl(tmp_path, LINEAR, final_time=1))
    with pytest.raises(SensitivityDesignError) as caught:
        sens.prepare(model, ["Y"], ranges=_ranges(tmp_path, text))
    assert words in str(caught.value) and "\n" not in str(caught.value)


TIMED = """
Trigger Year = 3
    ~ Month [0,10]
    ~ When the push starts.
    |
Push Size = 0.5
    ~ Dmnl [0,1]
    ~ How big the push is.
    |
Onset Time = 2
    ~ Month [1,4]
    ~ A duration in time units, never compared with Time.
    |
Ramp Start = 1
    ~ Month [0,5]
    ~ The start of a ramp.
    |
Push = IF THEN ELSE(Time >= Trigger Year, Push Size, 0) + RAMP(0.1 / Onset Time, Ramp Start, 8)
    ~ Dmnl
    ~ Push after the trigger.
    |
Level = INTEG(Push, 0)
    ~ Dmnl
    ~ Accumulated push.
    |
"""

_SKETCH = """\\\\\\---/// Sketch information - do not modify anything except names
V300  Do not put anything below this section - it will be ignored
*Levers
$192-192-192,0,Times New Roman|12||0-0-0|0-0-0|0-0-255|-1--1--1|-1--1--1|96,96,100,0
10,1,Trigger Year,150,220,60,20,8,3,0,0,0,0,0,0
10,2,Push Size,370,220,60,20,8,3,0,0,0,0,0,0
10,3,Onset Time,590,220,60,20,8,3,0,0,0,0,0,0
///---\\\\\\
"""


def _timed_model(tmp_path: Path) -> Path:
    path = write_mdl(tmp_path, TIMED, final_time=10)
    path.write_text(path.read_text() + _SKETCH)
    return path


def test_timing_levers_are_fixed_by_default_and_said_when_varied(tmp_path, printed):
    model = gvcdyn.load(_timed_model(tmp_path))
    names = [p.name for p in model.parameters]
    assert timing_levers(model, names) == {"Trigger Year", "Ramp Start"}  # not Onset Time
    choice = choose_levers(model)
    assert choice.names == ("Push Size", "Onset Time")
    assert choice.timing_fixed == ("Trigger Year",) and "timing lever" in choice.source
    ds = sens.sobol(sens.prepare(model, ["Level"]), 64, seed=1)
    assert ds.attrs["timing_levers_fixed"] == "Trigger Year"
    assert "timing_levers_varied" not in ds.attrs

    from gvcdyn.cli import run_cli

    argv = ["sensitivity", str(model.path), "--vars", "Level", "--n", "8", "--seed", "1"]
    assert run_cli([*argv, "--params", "Trigger Year,Push Size"]) == 0
    assert "varies timing lever Trigger Year" in " ".join(printed().split())
    assert run_cli(argv) == 0
    assert "timing lever" not in printed()

    named = sens.prepare(model, ["Level"], params=["Trigger Year", "Push Size"])
    ds = sens.sobol(named, 64, seed=1)
    assert ds.attrs["timing_levers_varied"] == "Trigger Year"
    assert "whether the trigger has happened" in ds.attrs["timing_note"]
    assert "varies timing lever Trigger Year" in ds.attrs["timing_note"]


def test_plain_studies_keep_the_space_problem_and_runs(tmp_path):
    """No distribution, group or source: SALib's problem is the space's, rows run as they are."""
    model = gvcdyn.load(MODELS / "ishigami.mdl")
    study = sens.prepare(model, ["Ishigami"])
    assert study.design.plain and study.problem == study.space.to_salib()
    X = np.random.default_rng(1).uniform(-1, 1, size=(5, 3))
    assert study.design.runs(X) is not None and np.array_equal(study.design.runs(X), X)


# --------------------------------------------------------------------------- evidence sources

EVIDENCE = """
Z = 0.5
    ~ Dmnl [0,1]
    ~ Set by each case's context.
    |
V = 0.3
    ~ Dmnl [0,1]
    ~ Set by some cases only; the others keep the base value.
    |
X = 0.5
    ~ Dmnl [0,1]
    ~ An uncoded lever, uniform.
    |
W = 0.5
    ~ Dmnl [0,1]
    ~ The estimated parameter (its posterior draws in fit.nc).
    |
Y = Z + X + W
    ~ Dmnl
    ~ Additive: each input's first-order index is its variance share.
    |
"""

_CASES = """id,period_start,period_end,z,v,out
C1,2000,2005,a,yes,0
C2,2000,2006,a,no,1
C3,2001,2007,b,yes,1
C4,2000,2005,c,no,0
C5,2002,2008,c,yes,1
C6,2000,2009,c,no,1
"""
_CASE_Z = np.array([0.0, 0.0, 0.25, 1.0, 1.0, 1.0])

_MAPPING = """
model = "model.mdl"
[case]
id = "id"
start = "period_start"
end = "period_end"
[[map]]
column = "z"
values.a = { "Z" = 0.0 }
values.b = { "Z" = 0.25 }
values.c = { "Z" = 1.0 }
[[map]]
column = "v"
values.yes = { "V" = 0.8 }
values.no = {}
"""

_CONFIG = """
cases = "cases.csv"
mapping = "levers.toml"
[estimate]
"W" = { bounds = [0, 1] }
[[outcome]]
column = "out"
levels = ["0", "1"]
quantity = "Y"
"""


@pytest.fixture
def evidence(tmp_path):
    """A model, a case table with its mapping and config, and a fit with posterior draws."""
    import xarray as xr

    path = write_mdl(tmp_path, EVIDENCE, final_time=10)
    (tmp_path / "cases.csv").write_text(_CASES)
    (tmp_path / "levers.toml").write_text(_MAPPING)
    (tmp_path / "config.toml").write_text(_CONFIG)
    draws = np.random.default_rng(3).uniform(0.1, 0.9, size=(2, 5, 1))
    fit = xr.Dataset(
        {
            "estimate": (("parameter",), [0.5]),
            "posterior_draw": (("chain", "draw", "parameter"), draws),
        },
        coords={"parameter": ["W"]},
        attrs={"posterior_converged": 1},
    )
    fit.to_netcdf(tmp_path / "fit.nc")
    return gvcdyn.load(path), tmp_path, draws.reshape(-1)


def test_case_context_is_one_input_of_whole_case_rows(evidence):
    model, folder, _ = evidence
    ranges = _ranges(folder, 'parameters = ["X"]\ncases = "config.toml"\n')
    study = sens.prepare(model, ["Y"], ranges=ranges, base={"W": 0.5, "V": 0.1})
    assert study.design.labels == ("X", "case context")
    from SALib.sample import sobol as sobol_sample

    X = sobol_sample.sample(study.problem, 256, seed=2)
    runs = study.design.runs(X)
    z, v = runs[:, list(study.space.names).index("Z")], runs[:, list(study.space.names).index("V")]
    cases = {(0.0, 0.8), (0.0, 0.1), (0.25, 0.8), (1.0, 0.1), (1.0, 0.8)}  # unset V: the base
    assert set(zip(z.tolist(), v.tolist(), strict=True)) == cases  # every run is one case's row
    ds = sens.sobol(study, 2048, seed=6)
    assert list(ds.parameter.values) == ["X", "case context"]
    assert list(ds.parameter_members.values) == ["X", "Z, V"]
    assert "6 cases of cases.csv" in ds.attrs["cases_note"]
    var = np.array([1 / 12, _CASE_Z.var()])  # the selector picks each case with chance 1/6
    _within(ds, "S1", var / var.sum(), "Y")
    _within(ds, "ST", var / var.sum(), "Y")


def test_posterior_draw_is_one_input_of_the_fits_draws(evidence):
    model, folder, draws = evidence
    ranges = _ranges(folder, 'parameters = ["X"]\nposterior = "fit.nc"\n')
    study = sens.prepare(model, ["Y"], ranges=ranges)
    from SALib.sample import sobol as sobol_sample

    runs = study.design.runs(sobol_sample.sample(study.problem, 64, seed=2))
    w = runs[:, list(study.space.names).index("W")]
    assert set(w.tolist()) <= set(draws.tolist()) and len(set(w.tolist())) > 5
    ds = sens.sobol(study, 2048, seed=7)
    assert list(ds.parameter.values) == ["X", "posterior draw"]
    assert "10 posterior draws" in ds.attrs["posterior_note"]
    var = np.array([1 / 12, draws.var()])
    _within(ds, "S1", var / var.sum(), "Y")


def test_an_output_over_the_fit_a_ranges_file_draws_from_is_refused(evidence):
    """``sensitivity --ranges r.toml -o fit.nc``, r.toml naming ``posterior = "fit.nc"``:
    refused as ``--fit fit.nc -o fit.nc`` is (it read the draws, then wrote the indices
    over the fit, exit 0); written elsewhere, the same study runs on the draws."""
    import console

    _, folder, _ = evidence
    fit = folder / "fit.nc"
    before = fit.read_bytes()
    ranges = _ranges(folder, 'parameters = ["X"]\nposterior = "fit.nc"\n')
    given = ["sensitivity", folder / "model.mdl", "--vars", "Y", "--ranges", ranges, "--n", "8"]
    done = console.gvcdyn(*given, "-o", fit, cwd=folder)
    console.assert_one_line_error(
        done, "fit.nc", "a file this command reads (the posterior of --ranges)"
    )
    assert fit.read_bytes() == before
    done = console.gvcdyn(*given, "-o", folder / "sens.nc", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert "posterior draws" in done.stdout and (folder / "sens.nc").is_file()
    assert fit.read_bytes() == before


def test_a_posterior_study_runs_at_its_fits_method_unless_one_is_named(evidence):
    """The draws fit the cases and hold the checks at the fit's integration method only,
    so a study that names none runs there, not at the model's current default."""
    import xarray as xr

    model, folder, _ = evidence
    fit = xr.load_dataset(folder / "fit.nc")
    fit.attrs["method"] = "rk4"
    fit.to_netcdf(folder / "fit_rk4.nc")
    ranges = _ranges(folder, 'parameters = ["X"]\nposterior = "fit_rk4.nc"\n')
    assert model.integration == "euler"
    study = sens.prepare(model, ["Y"], ranges=ranges)
    assert study.evaluator.method == "rk4"
    assert "made at rk4" in study.design.inputs[-1].source.note
    named = sens.prepare(model, ["Y"], ranges=ranges, integration="euler")
    assert named.evaluator.method == "euler"
    plain = sens.prepare(model, ["Y"], ranges=_ranges(folder, 'parameters = ["X"]\n'))
    assert plain.evaluator.method == "euler"  # no posterior: the model's own


def test_an_older_fit_without_a_method_attribute_runs_at_its_configs_method(evidence):
    """Fits made before the resolved method was recorded say it only in their stored
    config: the study reads it there, as predict does (not Euler by default)."""
    import xarray as xr

    model, folder, _ = evidence
    fit = xr.load_dataset(folder / "fit.nc")
    fit.attrs["config_text"] = 'method = "rk4"\n' + _CONFIG
    fit.attrs["config_path"] = str(folder / "config.toml")
    fit.to_netcdf(folder / "fit_old.nc")
    ranges = _ranges(folder, 'parameters = ["X"]\nposterior = "fit_old.nc"\n')
    assert sens.prepare(model, ["Y"], ranges=ranges).evaluator.method == "rk4"


def test_bootstrap_replicates_stand_in_for_a_missing_posterior_and_say_so(evidence):
    import xarray as xr

    model, folder, _ = evidence
    fit = xr.Dataset(
        {"bootstrap_estimate": (("replicate", "parameter"), [[0.2], [0.4], [0.6]])},
        coords={"parameter": ["W"]},
    )
    fit.to_netcdf(folder / "boot.nc")
    ranges = _ranges(folder, 'parameters = ["X"]\nposterior = "boot.nc"\n')
    study = sens.prepare(model, ["Y"], ranges=ranges)
    (item,) = [i for i in study.design.inputs if i.source is not None]
    assert "bootstrap replicates" in item.source.note and "no posterior draws" in item.source.note


@pytest.mark.parametrize(
    ("text", "base", "words"),
    [
        ('parameters = ["X", "Z"]\ncases = "config.toml"', None, "'Z' is both varied and set"),
        ('parameters = ["X", "W"]\nposterior = "fit.nc"', None, "'W' is both varied and set"),
        ('parameters = ["X"]\nposterior = "fit.nc"', {"W": 0.4}, "'W'"),
        ('parameters = ["X"]\ncases = "nowhere.toml"', None, "cases = 'nowhere.toml'"),
        ('parameters = ["X"]\nposterior = "none.nc"', None, "fit file not found"),
        ('parameters = ["X"]\ncases = 3', None, "'cases' must be a file path"),
    ],
)
def test_bad_sources_are_refused_in_one_line(evidence, text, base, words):
    model, folder, _ = evidence
    with pytest.raises(SensitivityDesignError) as caught:
        sens.prepare(model, ["Y"], ranges=_ranges(folder, text), base=base)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_a_posterior_that_is_not_a_fit_is_named_so(evidence):
    """A run's results (no 'estimate', no draws) given as ``posterior`` was told "the fit
    has neither posterior draws nor bootstrap replicates; add a [posterior] table to the
    calibration config": it is not a fit at all, which the message now says."""
    import xarray as xr

    model, folder, _ = evidence
    xr.Dataset({"Y": (("run", "time"), [[0.0, 1.0]])}).to_netcdf(folder / "run.nc")
    ranges = _ranges(folder, 'parameters = ["X"]\nposterior = "run.nc"\n')
    with pytest.raises(SensitivityDesignError, match="not a calibration fit") as caught:
        sens.prepare(model, ["Y"], ranges=ranges)
    assert "neither posterior draws" not in str(caught.value)


def test_morris_refuses_a_source(evidence):
    model, folder, _ = evidence
    ranges = _ranges(folder, 'parameters = ["X"]\ncases = "config.toml"\n')
    study = sens.prepare(model, ["Y"], ranges=ranges)
    with pytest.raises(SensitivityDesignError, match="use Sobol"):
        sens.morris(study, 10, seed=1)


def test_cli_takes_the_new_ranges_file_and_refuses_a_bad_one(evidence, capsys, printed):
    from gvcdyn.cli import run_cli

    model, folder, _ = evidence
    good = _ranges(folder, 'cases = "config.toml"\n[groups]\n"g" = ["X", "W"]\n', "good.toml")
    nc = folder / "s.nc"
    argv = ["sensitivity", str(model.path), "--vars", "Y", "--n", "64", "--seed", "1"]
    assert run_cli([*argv, "--ranges", str(good), "--out", str(nc)]) == 0
    table = printed()
    assert "case context" in table and "g: X, W" in table  # the caption says what the
    assert "case context: Z, V" in table and "cases: 6 cases" in table  # rows stand for
    bad = _ranges(folder, '[distributions]\n"X" = { dist = "normal", mean = 0.5, sd = 1 }\n', "b")
    assert run_cli([*argv, "--ranges", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "'X'" in err and "truncnorm" in err and "\n" not in err


def test_default_levers_leave_out_what_the_cases_set_and_say_so(tmp_path):
    """The toy calibration's cases set Support, Shock Size and Shock Year (a timing lever,
    drawn row by row): the Levers view's other levers are varied beside the case context."""
    import shutil

    folder = tmp_path / "toy"
    shutil.copytree(Path(__file__).parent / "data" / "calibration", folder)
    sketch = _SKETCH.replace("Trigger Year", "Shock Year").replace("Push Size", "Support")
    sketch = sketch.replace("Onset Time", "Erosion Rate")
    mdl = folder / "toy_upgrading.mdl"
    mdl.write_text(mdl.read_text() + sketch)
    model = gvcdyn.load(mdl)
    ranges = _ranges(tmp_path, f'cases = "{folder / "toy_config.toml"}"\n')
    study = sens.prepare(model, ["Skill Index"], ranges=ranges)
    assert study.design.labels == ("Erosion Rate", "case context")
    assert study.levers_source.endswith("less 1 lever the cases set")  # Support
    assert study.timing_drawn == ("Shock Year",)
    ds = sens.sobol(study, 32, seed=1)
    assert ds.attrs["timing_levers_drawn"] == "Shock Year"
    assert "timing_levers_fixed" not in ds.attrs  # it moves with the cases' rows
    assert "draws Shock Year with the evidence rows" in ds.attrs["timing_note"]


def test_a_view_lever_the_cases_set_needs_no_documented_range(tmp_path):
    """A Levers-view lever an evidence source sets is not varied, so a missing documented
    range is no reason to refuse the study (it was refused before the source took it);
    a view lever that is varied without one is still refused, naming it."""
    import shutil

    folder = tmp_path / "toy"
    shutil.copytree(Path(__file__).parent / "data" / "calibration", folder)
    sketch = _SKETCH.replace("Trigger Year", "Shock Year").replace("Push Size", "Support")
    sketch = sketch.replace("Onset Time", "Erosion Rate")
    mdl = folder / "toy_upgrading.mdl"
    text = mdl.read_text()
    assert text.count("Support = 0.5\n\t~\tDmnl [0,1]") == 1
    mdl.write_text(
        text.replace("Support = 0.5\n\t~\tDmnl [0,1]", "Support = 0.5\n\t~\tDmnl") + sketch
    )
    model = gvcdyn.load(mdl)
    ranges = _ranges(tmp_path, f'cases = "{folder / "toy_config.toml"}"\n')
    study = sens.prepare(model, ["Skill Index"], ranges=ranges)
    assert study.design.labels == ("Erosion Rate", "case context")  # Support: the cases'
    with pytest.raises(SensitivityDesignError, match="'Support' has no finite documented"):
        sens.prepare(model, ["Skill Index"])  # varied from the view: it needs a range


def test_morris_refuses_an_unbounded_distribution(tmp_path):
    """Morris' levels reach 0 and 1 of the unit range, where a normal's quantile is infinite."""
    model = gvcdyn.load(write_mdl(tmp_path, LINEAR, final_time=1))
    ranges = _ranges(tmp_path, '[distributions]\n"X1" = { dist = "normal", mean = 0, sd = 1 }\n')
    with pytest.raises(SensitivityDesignError, match="normal distribution of 'X1' is infinite"):
        sens.morris(sens.prepare(model, ["Y"], ranges=ranges), 10, seed=1)
    bounded = _ranges(
        tmp_path,
        '[distributions]\n"X2" = { dist = "triangular", low = 0, high = 1, mode = 0.5 }\n',
        "t.toml",
    )
    ds = sens.morris(sens.prepare(model, ["Y"], ranges=bounded), 10, seed=1)
    assert np.all(np.isfinite(ds.mu_star.values))


def test_a_grouped_study_resumes_and_refuses_another_distribution(tmp_path):
    """The design (distributions, groups) is part of a checkpoint's fingerprint."""
    from test_sensitivity_execution import _StopsAfter

    from gvcdyn.errors import CheckpointError, JobInterrupted
    from gvcdyn.execute import Execution

    model = gvcdyn.load(MODELS / "ishigami.mdl")
    text = '[distributions]\n"X1" = {{ dist = "truncnorm", low = -3, high = 3, mean = 0, sd = {} }}'
    text += '\n[groups]\n"g" = ["X1", "X3"]\n"X2" = ["X2"]\n'
    study = sens.prepare(model, ["Ishigami"], ranges=_ranges(tmp_path, text.format(1)))
    whole = sens.sobol(study, 64, seed=5, chunk=50)
    output = tmp_path / "indices.nc"
    real = study.evaluator
    study.evaluator = _StopsAfter(real, calls=3)
    try:
        with pytest.raises(JobInterrupted):
            sens.sobol(study, 64, seed=5, chunk=50, execution=Execution(output=output))
    finally:
        study.evaluator = real
    other = sens.prepare(model, ["Ishigami"], ranges=_ranges(tmp_path, text.format(2), "o.toml"))
    with pytest.raises(CheckpointError):
        sens.sobol(other, 64, seed=5, chunk=50, execution=Execution(output=output, resume=True))
    resumed = sens.sobol(
        study, 64, seed=5, chunk=50, execution=Execution(output=output, resume=True)
    )
    np.testing.assert_array_equal(resumed.ST.values, whole.ST.values)
    assert list(resumed.parameter.values) == ["g", "X2"]


def test_predictive_draws_serve_when_the_chains_are_not_kept_and_an_unconverged_fit_says_so(
    evidence,
):
    import xarray as xr

    model, folder, _ = evidence
    fit = xr.Dataset(
        {"predictive_estimate": (("sample", "parameter"), [[0.2], [0.3], [0.7]])},
        coords={"parameter": ["W"]},
        attrs={"posterior_converged": 0},
    )
    fit.to_netcdf(folder / "pred.nc")
    ranges = _ranges(folder, 'parameters = ["X"]\nposterior = "pred.nc"\n')
    study = sens.prepare(model, ["Y"], ranges=ranges)
    (item,) = [i for i in study.design.inputs if i.source is not None]
    assert item.source.note.startswith("3 predictive posterior draws of pred.nc")
    assert "NOT CONVERGED" in item.source.note
    np.testing.assert_array_equal(item.source.rows[:, 0], [0.2, 0.3, 0.7])
