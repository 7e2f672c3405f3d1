"""Vensim's RANDOM functions in the compiled kernel (RANDOM 0 1, UNIFORM, NORMAL, EXPONENTIAL).

What must hold, whatever the generator: a run's draws depend on its NOISE SEED only (not
on the batch around it, the thread that runs it, the kernel's form, or the values of the
other parameters: common random numbers); the draws follow the documented distributions
(moments within bounds set by the sample size, Kolmogorov-Smirnov against scipy's
truncated distributions); a window with nothing to draw is a load error when its bounds
are numbers and NaN with a failed status when they are parameters; a random number where
a value is needed before the run (FINAL TIME, a DELAY N order) is refused by name; and
where the draws cannot matter, the numbers are PySD's.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numba
import numpy as np
import pytest
from mdl_helpers import write_mdl
from scipy import stats

import gvcdyn
from gvcdyn.backend import codegen
from gvcdyn.errors import GvcdynError, ModelStructureError, UnsupportedFeatureError
from gvcdyn.model import Model

# One model for everything that needs a compiled kernel (compiling is the slow part).
# ``Window`` draws from a window set by parameters (empty when Low >= High); ``Level``
# integrates Gain x a normal draw; ``pinned`` and ``zeroed`` cannot depend on the draws.
RANDOM_MODEL = """
u01 = RANDOM 0 1() ~ Dmnl ~ |
uniform = RANDOM UNIFORM(-2, 3, 0) ~ Dmnl ~ |
normal = RANDOM NORMAL(-1, 2, 0.5, 1.5, 0) ~ Dmnl ~ |
exponential = RANDOM EXPONENTIAL(1, 8, 0.5, 2, 7) ~ Dmnl ~ |
Low = 0 ~ Dmnl [-10, 10] ~ |
High = 1 ~ Dmnl [-10, 10] ~ |
Window = RANDOM NORMAL(Low, High, 0, 1, 0) ~ Dmnl ~ |
Gain = 1 ~ Dmnl [0, 10] ~ |
Level = INTEG(Gain * normal, 0) ~ Dmnl ~ |
pinned = RANDOM UNIFORM(2, 2 + 1e-9, 0) ~ Dmnl ~ |
zeroed = 5 + 0 * RANDOM EXPONENTIAL(0, 10, 0, 1, 0) ~ Dmnl ~ |
Pinned Level = INTEG(pinned + zeroed * Gain, 1) ~ Dmnl ~ |
"""
FINAL_TIME = 100.0  # 101 saved values per run
# (variable, scipy's distribution of its draws) as PySD defines the functions
DISTRIBUTIONS = {
    "u01": stats.uniform(0.0, 1.0),
    "uniform": stats.uniform(-2.0, 5.0),
    "normal": stats.truncnorm((-1.0 - 0.5) / 1.5, (2.0 - 0.5) / 1.5, loc=0.5, scale=1.5),
    "exponential": stats.truncexpon((8.0 - 1.0) / 2.0, loc=1.0, scale=2.0),
}
DRAWN = list(DISTRIBUTIONS)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Model:
    return gvcdyn.load(write_mdl(tmp_path_factory.mktemp("random"), RANDOM_MODEL, FINAL_TIME))


@pytest.fixture(autouse=True)
def two_threads() -> object:
    """Batches run on 2 numba threads, so runs of one batch land on different threads."""
    before = numba.get_num_threads()
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    yield
    numba.set_num_threads(before)


def _variant(model: Model, split: bool) -> Model:
    """``model`` with its kernel generated one way or the other (as test_codegen_split)."""
    variant = Model.__new__(Model)
    source = codegen.generate(model.ir, split=split)
    variant.__setstate__({"ir": model.ir, "path": model.path, "source": source})
    return variant


def _values(ds, names=DRAWN) -> dict[str, np.ndarray]:
    return {name: ds[name].values for name in names}


# ------------------------------------------------------------------------ the seed


def test_noise_seed_is_a_parameter_only_of_models_that_draw(model: Model, tmp_path: Path) -> None:
    (seed,) = [p for p in model.ir.parameters if p.name == "NOISE SEED"]
    assert (seed.minimum, seed.maximum, seed.step) == (0.0, 2.0**31, 1.0)
    assert seed.default == 4487556.0  # Vensim's seed of a model without NOISE SEED
    assert model.ir.parameters[-1] is seed  # after the model's own constants
    plain = gvcdyn.load(write_mdl(tmp_path, "x = 1 ~ ~ |\ny = INTEG(x, 0) ~ ~ |"))
    assert [p.name for p in plain.ir.parameters] == ["x"]
    assert "seed_noise" not in codegen.generate(plain.ir, split=False)
    assert "seed_noise" not in codegen.generate(plain.ir, split=True)


def test_a_models_own_noise_seed_seeds_the_runs(tmp_path: Path) -> None:
    own = gvcdyn.load(
        write_mdl(tmp_path, "Noise Seed = 7 ~ ~ |\nx = Noise Seed + 0 * RANDOM 0 1() ~ ~ |")
    )
    (seed,) = own.ir.parameters
    assert (seed.name, seed.default) == ("Noise Seed", 7.0)
    for split in (False, True):
        assert f"rt.seed_noise(c[{seed.column}])" in codegen.generate(own.ir, split=split)


@pytest.mark.parametrize(
    "definition",
    ["NOISE SEED = 3 * 2 + TIME ~ ~ |", "r: (r1-r2) ~ ~ |\nNOISE SEED[r] = 1, 2 ~ ~ |"],
)
def test_a_noise_seed_that_is_not_one_constant_is_refused(tmp_path: Path, definition: str) -> None:
    path = write_mdl(tmp_path, f"{definition}\nx = RANDOM UNIFORM(0, 1, 0) ~ ~ |")
    with pytest.raises(ModelStructureError, match=r"NOISE SEED.*plain scalar constant"):
        gvcdyn.load(path)


# ------------------------------------------------------------------------ determinism


def test_a_batch_is_reproducible_and_a_run_does_not_depend_on_its_batch(model: Model) -> None:
    seeds = np.arange(1.0, 1001.0)
    batch = model.run({"NOISE SEED": seeds})
    again = model.run({"NOISE SEED": seeds})
    for name in [*DRAWN, "Level", "Window"]:
        np.testing.assert_array_equal(again[name].values, batch[name].values, err_msg=name)
    for k in (0, 1, 500, 999):  # alone, or among 1000 runs on two threads: the same
        alone = model.run({"NOISE SEED": seeds[k]})
        for name in DRAWN:
            np.testing.assert_array_equal(alone[name].values[0], batch[name].values[k])
    # the default seed: every run of a batch draws the same stream, run 0 alone too
    same = model.run({"Gain": np.ones(1000)})
    first = model.run()
    for name in DRAWN:
        assert np.ptp(same[name].values, axis=0).max() == 0.0
        np.testing.assert_array_equal(first[name].values[0], same[name].values[0])


def test_the_seed_changes_the_stream_and_the_other_parameters_do_not(model: Model) -> None:
    ds = model.run({"NOISE SEED": [1.0, 2.0, 1.0, 1.0], "Gain": [1.0, 1.0, 2.0, 0.5]})
    for name in DRAWN:
        values = ds[name].values
        assert np.all(values[0] != values[1]), name  # another seed: other draws throughout
        np.testing.assert_array_equal(values[2], values[0])  # common random numbers
        np.testing.assert_array_equal(values[3], values[0])
    level = ds["Level"].values  # Gain scales the same draws (by 2 and 0.5: exactly)
    np.testing.assert_array_equal(level[2], 2.0 * level[0])
    np.testing.assert_array_equal(level[3], 0.5 * level[0])
    assert np.all(ds["status"].values == 0)


def test_an_empty_window_set_by_parameters_is_nan_in_that_run_only(model: Model) -> None:
    ds = model.run({"Low": [0.0, 2.0, 0.0], "High": [1.0, 1.0, 1.0]})
    assert np.all(np.isnan(ds["Window"].values[1]))
    assert ds["status"].values[1] != 0
    assert list(ds["status"].values[[0, 2]]) == [0, 0]
    inside = ds["Window"].values[[0, 2]]
    assert np.all((inside >= 0.0) & (inside <= 1.0))
    for name in DRAWN:  # one draw per call even without a window: streams stay aligned
        np.testing.assert_array_equal(ds[name].values[1], ds[name].values[0])


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_split_and_whole_kernels_draw_bitwise_the_same(
    model: Model, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(codegen, "PART_CHARS", 100)  # several parts per block
    whole, split = _variant(model, False), _variant(model, True)
    assert "def _dynamic_1(" in split.source and "def _dynamic_" not in whole.source
    # the parts that draw are linked into the driver, never called by address
    parts = split.source.split("\n\n\n")
    drawing = [part for part in parts if "rt.random_" in part]
    assert len(drawing) >= 5 and all(part.lstrip().startswith("@njit(") for part in drawing)
    params = {"NOISE SEED": np.arange(40.0), "Gain": np.linspace(0.5, 2.0, 40)}
    expected, got = whole.run(params, method=method), split.run(params, method=method)
    for name in expected.data_vars:
        np.testing.assert_array_equal(got[name].values, expected[name].values, err_msg=name)
    assert np.ptp(expected["Level"].values[:, -1]) > 0


def test_rk4_draws_at_each_evaluation_of_the_equations(model: Model) -> None:
    """RK4 evaluates what the rates need four times a step, each time with new draws (as
    PySD): the first saved values are the same draws as Euler's, later ones are not."""
    euler = model.run({"NOISE SEED": 5.0}, method="euler")["u01"].values[0]
    rk4 = model.run({"NOISE SEED": 5.0}, method="rk4")["u01"].values[0]
    assert rk4[0] == euler[0]
    assert not np.array_equal(rk4[1:], euler[1:])


def test_a_runs_draws_do_not_depend_on_what_is_saved(tmp_path: Path) -> None:
    """Every draw is made every time step, whether or not its variable is saved then: a
    draw made only at saved times (``u01``, which nothing dynamic needs; ``start~``, read
    only by INITIAL) would shift the stocks' later draws, so a stock's path would change
    with SAVEPER."""
    text = RANDOM_MODEL + "start = INITIAL(RANDOM 0 1()) ~ Dmnl ~ |\n"
    model = gvcdyn.load(write_mdl(tmp_path, text, 20.0))
    every, second = (model.run({"NOISE SEED": 3.0}, saveper=s) for s in (1.0, 2.0))
    for name in ("Level", "u01", "start"):
        assert np.array_equal(every[name].values.ravel()[::2], second[name].values.ravel()), name
    level_only = model.run({"NOISE SEED": 3.0}, saveper=1.0, variables=["Level"])
    assert np.array_equal(level_only["Level"].values, every["Level"].values)


# ------------------------------------------------------------------------ distributions


@pytest.fixture(scope="module")
def draws(model: Model) -> dict[str, np.ndarray]:
    """1,000 runs x 101 saved steps of each function, every run with its own seed."""
    ds = model.run({"NOISE SEED": np.arange(1.0, 1001.0)}, variables=DRAWN)
    return {name: values.ravel() for name, values in _values(ds).items()}


@pytest.mark.parametrize("name", DRAWN)
def test_moments_and_range_follow_the_distribution(draws: dict[str, np.ndarray], name: str) -> None:
    x, dist = draws[name], DISTRIBUTIONS[name]
    n = x.size
    mean, var, _, excess_kurtosis = (float(v) for v in dist.stats(moments="mvsk"))
    # 5 standard errors: the mean's sqrt(var/n), the variance's sqrt((kurtosis - 1)/n) var
    assert abs(x.mean() - mean) < 5.0 * np.sqrt(var / n)
    assert abs(x.var() - var) < 5.0 * var * np.sqrt((excess_kurtosis + 2.0) / n)
    low, high = dist.support()
    assert low <= x.min() and x.max() <= high
    # both ends are reached: P(no draw below the 0.1% quantile) = 0.999^101000 ~ e^-101
    assert x.min() < dist.ppf(1e-3) and x.max() > dist.ppf(1 - 1e-3)


@pytest.mark.parametrize("name", DRAWN)
def test_draws_pass_kolmogorov_smirnov_against_scipy(
    draws: dict[str, np.ndarray], name: str
) -> None:
    result = stats.kstest(draws[name], DISTRIBUTIONS[name].cdf)
    assert result.pvalue > 1e-3, result


# ------------------------------------------------------------------------ refused


def test_literal_bounds_with_nothing_to_draw_are_a_load_error(tmp_path: Path) -> None:
    for equation, what in [
        ("x = RANDOM NORMAL(2, 1, 0, 1, 0) ~ ~ |", r"RANDOM NORMAL.*\[2, 1\]"),
        ("x = RANDOM EXPONENTIAL(0, 3, 5, 1, 0) ~ ~ |", r"RANDOM EXPONENTIAL.*\[5, 3\]"),
        ("x = RANDOM NORMAL(0, 1, 0, -1, 0) ~ ~ |", "RANDOM NORMAL.*standard deviation is -1"),
    ]:
        with pytest.raises(ModelStructureError, match=f"'x' calls {what}"):
            gvcdyn.load(write_mdl(tmp_path, equation))


def test_random_functions_pysd_does_not_implement_stay_refused(tmp_path: Path) -> None:
    path = write_mdl(tmp_path, "x = RANDOM POISSON(0, 10, 2, 0, 1, 0) ~ ~ |")
    with pytest.raises(UnsupportedFeatureError, match="RANDOM POISSON"):
        gvcdyn.load(path)


def test_a_random_delay_order_is_refused_by_name(tmp_path: Path) -> None:
    path = write_mdl(tmp_path, "x = DELAY N(TIME, 2, 0, RANDOM UNIFORM(1, 3, 0)) ~ ~ |")
    with pytest.raises(UnsupportedFeatureError, match="RANDOM UNIFORM cannot be evaluated"):
        gvcdyn.load(path)


def test_a_random_final_time_is_refused_by_name(tmp_path: Path) -> None:
    path = write_mdl(tmp_path, "x = INTEG(1, 0) ~ ~ |")
    text = path.read_text(encoding="utf-8").replace(
        "FINAL TIME  = 10.0", "FINAL TIME  = RANDOM UNIFORM(10, 20, 0)"
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(GvcdynError, match="RANDOM UNIFORM cannot be evaluated before the run"):
        gvcdyn.load(path).run()


# ------------------------------------------------------------------------ PySD parity


def test_values_the_draws_cannot_move_are_pysds(model: Model, tmp_path: Path) -> None:
    pysd = pytest.importorskip("pysd")
    folder = tmp_path / "pysd"
    folder.mkdir()
    path = shutil.copy(model.path, folder / "random.mdl")  # read_vensim writes beside it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = pysd.read_vensim(str(path)).run(
            params={"Gain": 3.0}, return_columns=["pinned", "zeroed", "Pinned Level"]
        )
    got = model.run({"Gain": 3.0}, variables=["pinned", "zeroed", "Pinned Level"])
    for name in ("pinned", "zeroed", "Pinned Level"):
        np.testing.assert_allclose(got[name].values[0], expected[name].values, rtol=1e-9)
    assert np.all(got["zeroed"].values == 5.0)
