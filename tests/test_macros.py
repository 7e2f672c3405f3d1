"""Vensim macros (``:MACRO:``): every call is its own instance, as in PySD.

Small models written here are run by gvcdyn and by PySD (its Python builder and runtime
are the specification); every column both report must agree. What stays unsupported is
refused by name.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from mdl_helpers import write_mdl

import gvcdyn
from gvcdyn.errors import ModelStructureError, UnsupportedFeatureError
from gvcdyn.io.reference import dataset_columns, normalize_name

pysd = pytest.importorskip("pysd")

# A first-order smoothing macro with its own stock, a macro calling it (nested
# instance), and a macro with an internal constant and lookup that reads Time.
MACROS = """
:MACRO: SMOOTHER(input, delay, start)
SMOOTHER = INTEG((input - SMOOTHER) / delay, start)
    ~ units ~ a stock per call |
:END OF MACRO:
:MACRO: DOUBLE SMOOTH(input, delay)
DOUBLE SMOOTH = SMOOTHER(SMOOTHER(input, delay, input), delay / 2, 0)
    ~ units ~ two nested instances |
:END OF MACRO:
:MACRO: SEASONAL(level)
SEASONAL = level * season(MODULO(Time, period))
    ~ units ~ |
period = 4
    ~ Month ~ an internal constant, not a model parameter |
season((0,0.5),(2,1.5),(4,0.5))
    ~ ~ an internal lookup |
:END OF MACRO:
"""

MAIN = """
demand = 10 + RAMP(gain, 2, 6)
    ~ units ~ |
gain = 1.5
    ~ units/Month [0, 5] ~ |
fast time = 2
    ~ Month ~ |
slow time = 5
    ~ Month ~ |
fast = SMOOTHER(demand, fast time, 10)
    ~ units ~ |
slow = SMOOTHER(demand * 2, slow time, demand)
    ~ units ~ a second instance with an expression argument |
both = SMOOTHER(demand, fast time, 10) + 2 * SMOOTHER(demand, slow time, 0)
    ~ units ~ two more instances in one equation |
nested = DOUBLE SMOOTH(demand, slow time)
    ~ units ~ |
seasonal = SEASONAL(demand)
    ~ units ~ |
smoothed input = SMOOTHER(SMOOTH(demand, fast time), slow time, INITIAL(demand))
    ~ units ~ stateful builtins in the arguments |
"""


def _write(tmp_path: Path, macros: str, main: str, **controls: float) -> Path:
    return write_mdl(tmp_path, macros + main, **controls)


def _assert_matches_pysd(path: Path, params: dict[str, float] | None = None) -> int:
    """Every column gvcdyn reports equals PySD's (rtol 1e-9); the number compared."""
    ours = gvcdyn.load(path).run(params or {})
    time, columns = dataset_columns(ours)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pysd.read_vensim(str(path)).run(params=params or {})
    np.testing.assert_array_equal(time, ref.index.to_numpy(dtype=float))
    theirs = {normalize_name(str(c)): c for c in ref.columns}
    for column, values in columns.items():
        expected = ref[theirs[normalize_name(column)]].to_numpy(dtype=float)
        np.testing.assert_allclose(values, expected, rtol=1e-9, atol=1e-12, err_msg=column)
    return len(columns)


@pytest.mark.parametrize("gain", [1.5, 0.2])
def test_macro_instances_match_pysd(tmp_path: Path, gain: float) -> None:
    path = _write(tmp_path, MACROS, MAIN, final_time=12, time_step=0.25)
    compared = _assert_matches_pysd(path, {"gain": gain})
    assert compared == 10  # the six macro outputs and the model's four variables


def test_each_call_has_its_own_stocks(tmp_path: Path) -> None:
    """Two calls with different delays give different paths (one shared stock would not)."""
    main = """
    input = STEP(10, 1)
        ~ ~ |
    quick = SMOOTHER(input, 1, 0)
        ~ ~ |
    sluggish = SMOOTHER(input, 4, 0)
        ~ ~ |
    """
    path = _write(tmp_path, MACROS, main, final_time=8, time_step=0.5)
    ds = gvcdyn.load(path).run()
    quick = ds["quick"].values[0]
    sluggish = ds["sluggish"].values[0]
    assert quick[-1] > sluggish[-1] > 0.0
    _assert_matches_pysd(path)


def test_macro_internals_are_neither_outputs_nor_parameters(tmp_path: Path) -> None:
    path = _write(tmp_path, MACROS, MAIN)
    model = gvcdyn.load(path)
    assert {p.name for p in model.parameters} == {"gain", "fast time", "slow time"}
    names = {v.name for v in model.ir.variables}
    assert names == {"demand", "gain", "fast time", "slow time", "fast", "slow", "both"} | {
        "nested",
        "seasonal",
        "smoothed input",
    }


def test_macro_with_extra_outputs_is_refused_by_name(tmp_path: Path) -> None:
    macros = """
    :MACRO: SPLIT(input : rest)
    SPLIT = input / 2
        ~ ~ |
    rest = input - SPLIT
        ~ ~ |
    :END OF MACRO:
    """
    path = _write(tmp_path, macros, "half = SPLIT(4)\n ~ ~ |\n")
    with pytest.raises(UnsupportedFeatureError, match=r"SPLIT.*additional outputs"):
        gvcdyn.load(path)


def test_macro_in_subscripted_equation_has_an_instance_per_cell(tmp_path: Path) -> None:
    main = """
    region: north, south, east
        ~ ~ |
    level[region] = 1, 2, 3
        ~ ~ |
    smoothed[region] = SMOOTHER(level[region] * Time, 2, level[region])
        ~ ~ |
    seasonal[region] = SEASONAL(level[region]) + SMOOTHER(1, level[region], 0)
        ~ ~ |
    """
    path = _write(tmp_path, MACROS, main, final_time=6, time_step=0.5)
    assert _assert_matches_pysd(path) == 9
    ds = gvcdyn.load(path).run()
    final = ds["smoothed"].values[0, -1]
    assert final[0] < final[1] < final[2]  # three stocks, not one


def test_partial_definitions_call_their_own_instances(tmp_path: Path) -> None:
    """PySD fails on macro calls in :EXCEPT: equations; each cell equals the same call
    written as a scalar equation."""
    main = """
    region: north, south, east
        ~ ~ |
    level[region] = 1, 2, 3
        ~ ~ |
    partial[north] = SMOOTHER(Time, 1, 0)
        ~ ~ |
    partial[region] :EXCEPT: [north] = SMOOTHER(level[region], 3, 1)
        ~ ~ |
    north alone = SMOOTHER(Time, 1, 0)
        ~ ~ |
    east alone = SMOOTHER(level[east], 3, 1)
        ~ ~ |
    """
    path = _write(tmp_path, MACROS, main, final_time=6, time_step=0.5)
    ds = gvcdyn.load(path).run()
    partial = ds["partial"].values[0]
    np.testing.assert_array_equal(partial[:, 0], ds["north alone"].values[0])
    np.testing.assert_array_equal(partial[:, 2], ds["east alone"].values[0])
    assert not np.array_equal(partial[:, 1], partial[:, 2])


def test_subscripted_variable_inside_a_macro_is_refused_by_name(tmp_path: Path) -> None:
    macros = """
    :MACRO: SPREAD(input)
    SPREAD = SUM(part[dim!])
        ~ ~ |
    dim: one, two
        ~ ~ |
    part[dim] = input / 2
        ~ ~ |
    :END OF MACRO:
    """
    path = _write(tmp_path, macros, "whole = SPREAD(4)\n ~ ~ |\n")
    with pytest.raises(UnsupportedFeatureError, match=r"SPREAD.*'part' is subscripted"):
        gvcdyn.load(path)


def test_wrong_number_of_macro_arguments_names_the_macro(tmp_path: Path) -> None:
    path = _write(tmp_path, MACROS, "x = SMOOTHER(1, 2)\n ~ ~ |\n")
    with pytest.raises(ModelStructureError, match=r"'x'.*SMOOTHER with 2 arguments.*takes 3"):
        gvcdyn.load(path)
