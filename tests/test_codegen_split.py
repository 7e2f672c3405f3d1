"""Split kernels (issue 9, section 3): a large model compiles as many small functions.

The split kernel must compute exactly what the one-function kernel computes: the same
operations in the same order, on values kept in an array between parts, with selects
instead of branches where both sides are safe to evaluate. So results are compared
bitwise, for both integration methods, on a generated model cut into many parts, and
on suite models (discrete states, DELAY FIXED pipes, a dynamic FINAL TIME, subscripted
stateful functions, data tables, VECTOR SELECT) forced through the split path, which must
also still match Vensim's own output under the suite's rule. A part that may raise is
linked into the driver, so its error still reaches the caller.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import sd_test_models_dir

import gvcdyn
from gvcdyn.backend import codegen
from gvcdyn.errors import SimulationSettingsError
from gvcdyn.io.reference import compare, dataset_columns, read_reference
from gvcdyn.model import Model
from gvcdyn.testing.synthetic_mdl import synthetic_mdl

# small parts, so that even a small model is cut into several of each kind
TINY_PARTS = 400


def _variant(model: Model, split: bool) -> Model:
    """``model`` with its kernel generated one way or the other."""
    variant = Model.__new__(Model)
    source = codegen.generate(model.ir, split=split)
    variant.__setstate__({"ir": model.ir, "path": model.path, "source": source})
    return variant


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Model:
    path = tmp_path_factory.mktemp("synthetic") / "synthetic_60.mdl"
    path.write_text(synthetic_mdl(60, seed=3), encoding="utf-8")
    return gvcdyn.load(path)


@pytest.mark.parametrize(
    ("method", "part_chars"),
    [
        ("euler", TINY_PARTS),  # many parts of a few statements
        ("euler", codegen.PART_CHARS),  # one part per block, values moved 16 at a time
        pytest.param("rk4", TINY_PARTS, marks=pytest.mark.slow),
    ],
)  # each compiles two kernels: about 10 s on a loaded 2-core machine
def test_split_kernel_is_bitwise_equal(
    synthetic: Model, method: str, part_chars: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(codegen, "PART_CHARS", part_chars)
    whole, split = _variant(synthetic, False), _variant(synthetic, True)
    if part_chars == TINY_PARTS:
        assert "def _dynamic_1(" in split.source and "def _output_1(" in split.source
    else:  # windows of 16 statements: gathers and scatters between them
        assert split.source.count("_rt_scatter(") > 2 * split.source.count("def _dynamic_")
    assert "_dynamic_" not in whole.source
    parts = split.source[split.source.index("def _init_0(") : split.source.index("def simulate")]
    # the synthetic model's IF THEN ELSE, MIN/MAX and lookups: selects and calls, no branches
    assert "_rt_choose(" in parts and " if " not in parts
    assert "_rt_c_table_lookup(h, (" in parts  # a helper called through its address
    assert "rt.call_part(parts[" in split.source  # parts that cannot raise: called by address
    rng = np.random.default_rng(5)
    params = {
        p.name: rng.uniform(0.2, 0.9, size=16) for p in synthetic.ir.parameters
    }  # 16 runs, every constant varied
    expected, got = whole.run(params, method=method), split.run(params, method=method)
    assert list(expected.data_vars) == list(got.data_vars)
    for name in expected.data_vars:
        np.testing.assert_array_equal(got[name].values, expected[name].values, err_msg=name)
    # the runs differ from each other: the comparison is not between constant arrays
    assert np.ptp(expected["Aux 59"].values[:, -1]) > 0


def test_size_threshold_and_environment_decide(
    synthetic: Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(codegen.SPLIT_ENV, raising=False)
    size = codegen.equation_count(synthetic.ir)
    monkeypatch.setattr(codegen, "SPLIT_THRESHOLD", size)
    assert not codegen.use_split(synthetic.ir)
    monkeypatch.setattr(codegen, "SPLIT_THRESHOLD", size - 1)
    assert codegen.use_split(synthetic.ir)
    assert not codegen.use_split(synthetic.ir, split=False)
    monkeypatch.setenv(codegen.SPLIT_ENV, "never")
    assert not codegen.use_split(synthetic.ir)
    assert "SPLIT_CELL_SLOTS" not in codegen.generate(synthetic.ir)
    monkeypatch.setenv(codegen.SPLIT_ENV, "Always")
    monkeypatch.setattr(codegen, "SPLIT_THRESHOLD", 10**9)
    assert codegen.use_split(synthetic.ir)
    monkeypatch.setenv(codegen.SPLIT_ENV, "sometimes")
    with pytest.raises(SimulationSettingsError, match=codegen.SPLIT_ENV):
        codegen.use_split(synthetic.ir)


SINGULAR_MATRIX_MDL = """{UTF-8}
d:
\tA, B
\t~\t
\t~\t\t|

d1:
\tA, B
\t~\t
\t~\t\t|

matrix[d,d1]=
\t1, 2;
\t2, 4;
\t~\t
\t~\t\t|

inverse[d,d1]=
\tINVERT MATRIX(matrix[d,d1], 2)
\t~\t
\t~\t\t|

FINAL TIME = 2
\t~\tMonth
\t~\t\t|

INITIAL TIME = 0
\t~\tMonth
\t~\t\t|

SAVEPER = 1
\t~\tMonth
\t~\t\t|

TIME STEP = 1
\t~\tMonth
\t~\t\t|
"""


def test_a_part_that_may_raise_is_linked_and_its_error_reaches_the_caller(tmp_path: Path) -> None:
    """A singular matrix makes numba's inverse raise inside the kernel: the split kernel
    fails as the one-function kernel does (a part called by address could not raise)."""
    path = tmp_path / "singular.mdl"
    path.write_text(SINGULAR_MATRIX_MDL, encoding="utf-8")
    model = gvcdyn.load(path)
    whole, split = _variant(model, False), _variant(model, True)
    before_call = split.source[: split.source.index("rt.inverse_entry(")]
    decorator = before_call.rsplit("\ndef ", 1)[0].rsplit("\n", 1)[-1]
    assert decorator.startswith("@njit(")  # a compiled part linked in, not a C function
    with pytest.raises(Exception) as from_whole:
        whole.run()
    with pytest.raises(Exception) as from_split:
        split.run()
    assert type(from_split.value) is type(from_whole.value)


# discrete states, DELAY FIXED pipes, dynamic FINAL TIME, stocks from SMOOTH/DELAY N,
# data tables (GET XLS DATA), VECTOR SELECT (a helper taking tuples)
SUITE_MODELS = (
    "sample_if_true",
    "delay_pipeline",
    "dynamic_final_time",
    "subscripted_smooth",
    "get_data_args_3d_xls",
    "vector_select",
)
# Part sizes other than TINY_PARTS. Each of vector_select's statements passes whole
# matrices as tuples (about 1,400 characters), so tiny parts hold one statement each:
# 368 parts compiled one by one; parts of the default size still cut it into 13 (3 static,
# 10 output), each calling the helper (this test: 68 s CPU instead of 104, most of it
# the one-function kernel).
PART_SIZES = {"vector_select": codegen.PART_CHARS}


@pytest.mark.slow
@pytest.mark.parametrize("name", SUITE_MODELS)
def test_split_suite_model_is_bitwise_equal_and_matches_vensim(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    part_chars = PART_SIZES.get(name, TINY_PARTS)
    monkeypatch.setattr(codegen, "PART_CHARS", part_chars)
    folder = shutil.copytree(sd_test_models_dir() / name, tmp_path / name)
    (mdl,) = [p for p in folder.iterdir() if p.suffix.lower() == ".mdl"]
    (reference_file,) = [p for p in folder.iterdir() if p.stem == "output"]
    model = gvcdyn.load(mdl)
    split, whole = _variant(model, True), _variant(model, False)
    assert "SPLIT_CELL_SLOTS" in split.source  # the split kernel, not the one function
    if part_chars != TINY_PARTS:  # larger parts: still many of them
        assert (
            len(re.findall(r"^def _(?:static|init|dynamic|output)_\d+\(", split.source, re.M)) > 8
        )
    got, expected = split.run(), whole.run()
    for variable in expected.data_vars:
        np.testing.assert_array_equal(got[variable].values, expected[variable].values)
    time, columns = dataset_columns(got)
    comparison = compare(columns, read_reference(reference_file), time=time)
    assert comparison.passed, f"{name}: {comparison.summary()}"
