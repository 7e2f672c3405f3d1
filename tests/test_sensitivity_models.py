"""Sensitivity studies end to end on .mdl models whose indices are known analytically.

``tests/models/ishigami.mdl`` and ``tests/models/sobol_g.mdl`` hold the functions as
Vensim auxiliaries of constants with ``[min, max]`` ranges, so sampling, the compiled
runs through the evaluator, the analysis and the dataset are all exercised.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from recording_progress import Recorder

import gvcdyn
from gvcdyn.errors import GvcdynError, SensitivityDesignError
from gvcdyn.sensitivity import dataset as sens_dataset
from gvcdyn.sensitivity import study as sens

MODELS = Path(__file__).parent / "models"

# Ishigami with a = 7, b = 0.1 on [-pi, pi]^3 (Ishigami and Homma 1990; Sobol' and Levitan 1999)
_A, _B = 7.0, 0.1
_V1 = 0.5 * (1 + _B * np.pi**4 / 5) ** 2
_V2 = _A**2 / 8
_V13 = 8 * _B**2 * np.pi**8 / 225
_V = _V1 + _V2 + _V13
ISHIGAMI_S1 = np.array([_V1, _V2, 0.0]) / _V
ISHIGAMI_ST = np.array([_V1 + _V13, _V2, _V13]) / _V
ISHIGAMI_S2 = {(0, 1): 0.0, (0, 2): _V13 / _V, (1, 2): 0.0}

G_A = np.array([0, 1, 4.5, 9, 99, 99])


def _g_indices() -> tuple[np.ndarray, np.ndarray]:
    """Sobol G: V_i = 1 / (3 (1 + a_i)^2), V = prod(1 + V_i) - 1 (Saltelli and Sobol' 1995)."""
    Vi = 1.0 / (3.0 * (1.0 + G_A) ** 2)
    V = np.prod(1 + Vi) - 1
    total = np.array([Vi[i] * np.prod(np.delete(1 + Vi, i)) for i in range(len(G_A))])
    return Vi / V, total / V


@pytest.fixture(scope="module")
def ishigami():
    return gvcdyn.load(MODELS / "ishigami.mdl")


@pytest.fixture(scope="module")
def ishigami_study(ishigami):
    study = sens.prepare(ishigami, ["Ishigami", "Accumulated Ishigami"], at="all")
    return study, sens.sobol(study, 2048, second_order=True, seed=20)


def test_ishigami_indices_within_intervals_of_analytic_values(ishigami_study):
    _, ds = ishigami_study
    one = ds.sel(output="Ishigami", time=4.0)
    assert list(ds.parameter.values) == ["X1", "X2", "X3"]  # from the Levers view
    assert np.all(np.abs(one.S1.values - ISHIGAMI_S1) <= one.S1_conf.values)
    assert np.all(np.abs(one.ST.values - ISHIGAMI_ST) <= one.ST_conf.values)
    for (j, k), value in ISHIGAMI_S2.items():
        assert abs(float(one.S2[j, k]) - value) <= float(one.S2_conf[j, k])
    assert np.all(one.S1_conf.values < 0.1)  # the test has power: intervals are narrow
    assert np.isnan(float(one.S2[1, 0])) and np.isnan(float(one.S2[0, 0]))


def test_time_resolved_indices_one_per_saved_time(ishigami_study):
    """Accumulated Ishigami = Ishigami * Time: the same indices at every time after 0."""
    study, ds = ishigami_study
    np.testing.assert_array_equal(ds.time.values, [0, 1, 2, 3, 4])
    acc = ds.sel(output="Accumulated Ishigami")
    assert np.all(acc.S1.sel(time=0).values == 0) and np.all(acc.ST.sel(time=0).values == 0)
    later = acc.sel(time=slice(1, None))
    same = ds.sel(output="Ishigami", time=slice(1, None))
    np.testing.assert_allclose(later.S1.values, same.S1.values, atol=1e-9)
    np.testing.assert_allclose(later.ST_conf.values, same.ST_conf.values, atol=1e-9)
    assert study.evaluator.names[0] == "Ishigami @ 0"


def test_dataset_records_how_it_was_made_and_round_trips(ishigami_study, tmp_path, ishigami):
    _, ds = ishigami_study
    assert ds.attrs["method"] == "sobol" and ds.attrs["N"] == 2048
    assert ds.attrs["n_runs"] == 2048 * 8 and ds.attrs["n_failed_runs"] == 0
    assert ds.attrs["seed"] == 20 and ds.attrs["conf_level"] == 0.95
    assert ds.attrs["model_sha256"] == ishigami.ir.source_hash
    assert ds.attrs["base"] == "model defaults"
    for key in ("gvcdyn_version", "command_line", "levers_from"):
        assert ds.attrs[key]
    assert ds.S2.dims == ("parameter", "parameter_2", "output", "time")
    np.testing.assert_array_equal(ds.parameter_min.values, [-np.pi] * 3)
    path = sens_dataset.write(ds, tmp_path / "sens.nc")
    back = xr.load_dataset(path)
    xr.testing.assert_allclose(back[["S1", "ST", "S2"]], ds[["S1", "ST", "S2"]])
    assert back.attrs["seed"] == 20 and back.attrs["second_order"] == 1
    assert not list(tmp_path.glob(".*tmp"))  # nothing half-written left behind


def test_sobol_g_indices_within_intervals(tmp_path):
    model = gvcdyn.load(MODELS / "sobol_g.mdl")
    study = sens.prepare(model, ["Sobol G"])
    ds = sens.sobol(study, 4096, seed=3).sel(output="Sobol G").isel(time=0)
    S1, ST = _g_indices()
    assert np.all(np.abs(ds.S1.values - S1) <= ds.S1_conf.values)
    assert np.all(np.abs(ds.ST.values - ST) <= ds.ST_conf.values)
    assert "S2" not in ds


def test_morris_ranks_sobol_g_inputs_by_importance():
    model = gvcdyn.load(MODELS / "sobol_g.mdl")
    study = sens.prepare(model, ["Sobol G"])
    ds = sens.morris(study, 200, seed=1)
    mu_star = ds.mu_star.sel(output="Sobol G").isel(time=0).values
    assert list(np.argsort(-mu_star)[:4]) == [0, 1, 2, 3]  # a = 0 < 1 < 4.5 < 9
    assert mu_star[4] < 0.1 * mu_star[0]
    assert ds.attrs["method"] == "morris" and ds.attrs["n_runs"] == 200 * 7


def test_sobol_matches_salib_on_model_outputs(ishigami):
    """Same Y from the model, our analysis and SALib's, for one output column."""
    from SALib.analyze import sobol as salib_sobol
    from SALib.sample import sobol as salib_sample

    study = sens.prepare(ishigami, ["Ishigami"], params=["X1", "X2", "X3"])
    ds = sens.sobol(study, 512, seed=77).isel(output=0, time=0)
    X = salib_sample.sample(study.problem, 512, calc_second_order=False, seed=77)
    Y, status = study.evaluator(X)
    assert not status.any()
    theirs = salib_sobol.analyze(study.problem, Y[:, 0], calc_second_order=False, seed=77)
    np.testing.assert_allclose(ds.S1.values, theirs["S1"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ds.ST_conf.values, theirs["ST_conf"], rtol=0, atol=1e-12)


def test_failed_runs_drop_their_whole_base_sample(ishigami):
    """A run that fails takes its group of 2D+2 rows out; the rest is analysed as usual."""
    study = sens.prepare(ishigami, ["Ishigami"])
    real = study.evaluator

    def flaky(X):
        Y, status = real(X)
        status = status.copy()
        status[X[:, 0] > 3.0] = 1  # X1 near pi "fails"
        return Y, status

    study.evaluator = _Wrapped(flaky, real)
    ds = sens.sobol(study, 256, seed=5)
    assert ds.attrs["n_failed_runs"] > 0
    assert 0 < ds.attrs["n_dropped_groups"] < 256
    assert ds.attrs["N_analysed"] == 256 - ds.attrs["n_dropped_groups"]
    assert np.all(np.isfinite(ds.S1.values))


class _Wrapped:
    """An evaluator stand-in: a different call, the real one's grid and method."""

    def __init__(self, call, real):
        self._call, self.grid, self.method, self.names = call, real.grid, real.method, real.names

    def __call__(self, X):
        return self._call(X)


def test_every_run_failing_is_a_clear_error(ishigami):
    study = sens.prepare(ishigami, ["Ishigami"])
    real = study.evaluator
    study.evaluator = _Wrapped(lambda X: (real(X)[0], np.ones(len(X), dtype=np.int64)), real)
    with pytest.raises(SensitivityDesignError, match="every base sample has a failed run"):
        sens.sobol(study, 16, seed=1)


def test_progress_reports_runs_and_analysis(ishigami):
    study = sens.prepare(ishigami, ["Ishigami", "Accumulated Ishigami"], at="1,2")
    progress = Recorder()
    sens.sobol(study, 64, seed=2, chunk=100, progress=progress)
    totals = {t.description: t.total for t in progress.tasks}
    seen = {t.description: t.steps for t in progress.tasks}
    assert totals == {"runs": 64 * 5, "analysis": 4}
    assert sum(seen["runs"]) == 320 and len(seen["runs"]) == 4  # chunks of 100
    assert sum(seen["analysis"]) == 4


def test_ranges_file_narrows_ranges(ishigami, tmp_path):
    ranges = tmp_path / "ranges.toml"
    ranges.write_text('parameters = ["X1", "X2"]\n[ranges]\n"X2" = [0.0, 1.0]\n')
    study = sens.prepare(ishigami, ["Ishigami"], ranges=ranges)
    assert study.space.names == ("X1", "X2")
    np.testing.assert_array_equal(study.space.bounds[1], [0.0, 1.0])
    ds = sens.sobol(study, 128, seed=1)
    assert float(ds.parameter_max.sel(parameter="X2")) == 1.0


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"n": 100}, "power of two"),
        ({"n": 128, "seed": -1}, "seed"),
    ],
)
def test_bad_study_settings_are_clear_errors(ishigami, kwargs, words):
    study = sens.prepare(ishigami, ["Ishigami"])
    with pytest.raises(GvcdynError, match=words):
        sens.sobol(study, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"outputs": ["Nope"]}, "unknown variable 'Nope'"),
        ({"outputs": ["Ishigami"], "at": "5"}, "not a saved time"),
        ({"outputs": ["Ishigami"], "at": "soon"}, "give 'final', 'all'"),
        ({"outputs": ["Ishigami"], "params": ["X9"]}, "unknown parameter 'X9'"),
        ({"outputs": []}, "at least one output"),
    ],
)
def test_bad_study_definitions_are_clear_errors(ishigami, kwargs, error):
    with pytest.raises(GvcdynError, match=error):
        sens.prepare(ishigami, **kwargs)


def test_plots_of_sobol_and_morris_results(ishigami_study, ishigami, tmp_path):
    from gvcdyn.errors import PlotFormatError
    from gvcdyn.sensitivity.plots import indices_figure, plot_indices

    _, ds = ishigami_study
    fig = indices_figure(ds)
    assert len(fig.axes) == 4  # two outputs x (ranked, over time)
    assert plot_indices(ds, tmp_path / "s.svg").read_text().lstrip().startswith("<?xml")
    study = sens.prepare(ishigami, ["Ishigami"])  # one time: the ranked panel only
    md = sens.morris(study, 10, seed=1)
    assert len(indices_figure(md).axes) == 1
    assert plot_indices(md, tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"
    # one plot-path check for every command (gvcdyn.io.output_files): an unknown extension is
    # a PlotFormatError, as for `gvcdyn run --plot`
    with pytest.raises(PlotFormatError, match="cannot write a plot"):
        plot_indices(md, tmp_path / "m.gif")


def test_a_design_too_large_for_memory_is_refused_before_running(ishigami, monkeypatch):
    from gvcdyn.sensitivity import runs

    study = sens.prepare(ishigami, ["Ishigami", "Accumulated Ishigami"], at="all")
    monkeypatch.setattr(runs, "MAX_OUTPUT_BYTES", 1000)
    calls = []
    monkeypatch.setattr(study, "evaluator", _Recording(study.evaluator, calls))
    with pytest.raises(SensitivityDesignError, match="10 outputs would need"):
        sens.sobol(study, 64, seed=1)
    assert calls == []


class _Recording(_Wrapped):
    def __init__(self, real, calls):
        super().__init__(lambda X: calls.append(len(X)) or real(X), real)
