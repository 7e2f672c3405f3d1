"""Reading Vensim reference outputs and comparing results with them (gvcdyn.io.reference).

The reader is tested on every canonical file of the reference suite and on small files
written here for each quirk; ``compare`` on values placed just inside and just outside
the tolerance, so each assertion would fail if the rule were off.
"""

from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gvcdyn.errors import GvcdynError
from gvcdyn.io.reference import (
    Comparison,
    ReferenceFileError,
    ReferenceFormatError,
    compare,
    compare_frames,
    dataset_columns,
    normalize_name,
    read_reference,
)


def _write(path: Path, text: str, newline: str = "\n") -> Path:
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


# --------------------------------------------------------------------------------------
# The canonical files of the suite
# --------------------------------------------------------------------------------------


def _manifest(root: Path) -> list[dict[str, str]]:
    with open(root / "MANIFEST.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_every_canonical_file_reads(sd_test_models: Path) -> None:
    rows = _manifest(sd_test_models)
    assert len(rows) > 90
    for row in rows:
        path = sd_test_models / row["name"] / row["canonical_file"]
        df = read_reference(path)
        assert df.index.name == "time", path
        assert df.index.dtype == np.float64, path
        assert np.all(np.diff(df.index.to_numpy()) > 0), path
        assert len(df) >= 2, path
        assert all(df.dtypes == np.float64), path
        # The first row is complete except where the model really has no value there;
        # at least one column has a value at the initial time.
        assert df.iloc[0].notna().any(), path
        for name in df.columns:
            assert name == name.strip() and name, (path, name)
        if row["tier"] == "subscripts":
            assert any("[" in c and c.endswith("]") for c in df.columns), path


@pytest.mark.parametrize(
    ("name", "file", "n_rows", "columns"),
    [
        # \r line endings, comma separated, 1/32 time step printed with 6 digits
        ("SIR", "output.csv", 3201, ["Contact Infectivity", "Infectious", "Susceptible"]),
        ("teacup", "output.csv", 241, ["Teacup Temperature", "Heat Loss to Room"]),
        # CRLF, tab separated, subscripted columns
        ("subscript_3d_arrays", "output.tab", 101, ["Stock A[Entry 1,Column 2,Depth 2]"]),
        # Vensim quoted names, CSV-quoted again ("""name""")
        (
            "special_characters",
            "output.tab",
            101,
            [
                '"Aux with $peC!@| characters"',
                "normal flow",
                '"variable with \\"Quotes\\" in \'it\' and \\ backslashes!!"',
            ],
        ),
        # UTF-8 names
        ("fully_invalid_names", "output.tab", 11, ['"$ euro"', '"1995€/$"']),
        # short rows (trailing blank cells dropped by Vensim)
        ("get_data_args_3d_xls", "output.tab", 61, ["accumulation forward[B,Row2]"]),
    ],
)
def test_canonical_file_details(
    sd_test_models: Path, name: str, file: str, n_rows: int, columns: list[str]
) -> None:
    df = read_reference(sd_test_models / name / file)
    assert len(df) == n_rows
    for column in columns:
        assert column in df.columns


def test_sir_times_and_constants(sd_test_models: Path) -> None:
    df = read_reference(sd_test_models / "SIR" / "output.csv")
    assert df.index[0] == 0.0 and df.index[-1] == 100.0
    assert df.index[-2] == pytest.approx(99.9688)  # printed with 6 digits, not 99.96875
    assert df.loc[0.0, "Susceptible"] == 1000.0


def test_constants_written_once_are_nan_later(sd_test_models: Path) -> None:
    df = read_reference(sd_test_models / "builtin_min" / "output_vensim63dss.csv")
    assert df["FINAL TIME"].iloc[0] == 10.0
    assert df["FINAL TIME"].iloc[1:].isna().all()
    assert df["output"].notna().all()


# --------------------------------------------------------------------------------------
# Synthetic files: one quirk each
# --------------------------------------------------------------------------------------

SIMPLE_TAB = "Time\tStock\tRate\n0\t1\t0.5\n1\t1.5\t0.5\n2\t2\t0.5\n"


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings(tmp_path: Path, newline: str) -> None:
    df = read_reference(_write(tmp_path / "out.tab", SIMPLE_TAB, newline))
    assert list(df.columns) == ["Stock", "Rate"]
    assert df.index.tolist() == [0.0, 1.0, 2.0]
    assert df["Stock"].tolist() == [1.0, 1.5, 2.0]


def test_csv_with_quoted_subscripted_headers(tmp_path: Path) -> None:
    text = 'Time,"Var[a,b]", "Var[a,c]" ,Plain\n0,1,2,3\n0.5,4,5,6\n'
    df = read_reference(_write(tmp_path / "out.csv", text, "\r"))
    assert list(df.columns) == ["Var[a,b]", "Var[a,c]", "Plain"]
    assert df.loc[0.5, "Var[a,c]"] == 5.0


def test_quoted_headers_in_tab_file(tmp_path: Path) -> None:
    text = 'Time\t"Var[a,b]"\t"""Quoted name"""\n0\t1\t2\n'
    df = read_reference(_write(tmp_path / "out.tab", text))
    assert list(df.columns) == ["Var[a,b]", '"Quoted name"']


def test_blank_cells_are_nan_and_short_rows_padded(tmp_path: Path) -> None:
    text = "Time\tConst\tStock\tLast\n0\t5\t1\t7\n1\t\t2\n2\t\t3\t\n"
    df = read_reference(_write(tmp_path / "out.tab", text))
    assert df["Const"].iloc[0] == 5.0
    assert np.isnan(df["Const"].iloc[1:]).all()
    assert df["Stock"].tolist() == [1.0, 2.0, 3.0]
    assert df["Last"].iloc[0] == 7.0 and df["Last"].iloc[1:].isna().all()


def test_non_finite_spellings(tmp_path: Path) -> None:
    text = "Time\tA\tB\tC\n0\tNaN\t1.#INF\t-inf\n1\t:NA:\t-1.#IND\t1e3\n"
    df = read_reference(_write(tmp_path / "out.tab", text))
    assert np.isnan(df["A"]).all()
    assert df["B"].iloc[0] == math.inf and np.isnan(df["B"].iloc[1])
    assert df["C"].tolist() == [-math.inf, 1000.0]


def test_transposed_file(tmp_path: Path) -> None:
    text = "Time\t0\t0.5\t1\nStock\t1\t2\t3\nConst\t9\t\t\nVar[a,b]\t4\t5\t6\n"
    df = read_reference(_write(tmp_path / "out.tab", text, "\r"))
    assert df.index.tolist() == [0.0, 0.5, 1.0]
    assert list(df.columns) == ["Stock", "Const", "Var[a,b]"]
    assert df["Stock"].tolist() == [1.0, 2.0, 3.0]
    assert df["Const"].iloc[0] == 9.0 and df["Const"].iloc[1:].isna().all()
    assert df.loc[1.0, "Var[a,b]"] == 6.0


def test_transposed_matches_row_layout(tmp_path: Path) -> None:
    rows = read_reference(_write(tmp_path / "rows.tab", SIMPLE_TAB))
    across = read_reference(
        _write(tmp_path / "across.tab", "Time\t0\t1\t2\nStock\t1\t1.5\t2\nRate\t0.5\t0.5\t0.5\n")
    )
    pd.testing.assert_frame_equal(rows, across)


def test_variable_named_infinity_is_not_transposed(tmp_path: Path) -> None:
    df = read_reference(_write(tmp_path / "out.tab", "Time\tInfinity\n0\t1\n1\t2\n"))
    assert list(df.columns) == ["Infinity"]


def test_utf8_bom_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_bytes(b"\xef\xbb\xbfTime,A\r\n\r\n0,1\r\n1,2\r\n\r\n")
    df = read_reference(path)
    assert list(df.columns) == ["A"]
    assert df["A"].tolist() == [1.0, 2.0]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.tab"
    with pytest.raises(ReferenceFileError, match=r"nope\.tab") as info:
        read_reference(path)
    assert isinstance(info.value, FileNotFoundError)
    assert isinstance(info.value, GvcdynError)


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("", "empty"),
        ("\r\n\r\n", "empty"),
        ("Time\n0\n1\n", "no variable columns"),
        ("Time\tA\n", "no data rows"),
        ("Time\tA\n0\t1\n1\tabc\n", r"line 3, column 'A': 'abc' is not a number"),
        ("Time\tA\n0\t1\n1\t2\t3\n", "line 3 has 3 fields"),
        ("Time\tA\n0\t1\n0\t2\n", "times do not increase"),
        ("Time\tA\n0\t1\n\t2\n", "time value is blank"),
        ("Time\tA\tA\n0\t1\t2\n", "duplicate column names"),
        ("Time,A\n0,1\n<html>,2\n", "not a number"),
    ],
)
def test_malformed_file_names_file_and_problem(tmp_path: Path, text: str, what: str) -> None:
    path = _write(tmp_path / "bad_output.tab", text)
    with pytest.raises(ReferenceFormatError, match=what) as info:
        read_reference(path)
    assert "bad_output.tab" in str(info.value)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, GvcdynError)


def test_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ReferenceFormatError, match="directory"):
        read_reference(tmp_path)


# --------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Teacup Temperature", "teacup_temperature"),
        ("Teacup  Temperature ", "TEACUP__temperature"),
        ('"Teacup Temperature"', "teacup temperature"),
        ("Var[a, b]", "var[A,B]"),
        ("Stock A[Entry 1,Column 2]", "stock_a[entry_1, column_2]"),
        ('"Stock, x"[ "elem,1" ]', 'stock,_x["elem,1"]'),
        ('"variable with \\"Quotes\\""', 'variable with "quotes"'),
    ],
)
def test_normalize_name_matches(a: str, b: str) -> None:
    assert normalize_name(a) == normalize_name(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Stock A", "Stock B"),
        ("Var[a,b]", "Var[b,a]"),
        ("Var[a]", "Var"),
        ("Stock A", "StockA"),
    ],
)
def test_normalize_name_distinguishes(a: str, b: str) -> None:
    assert normalize_name(a) != normalize_name(b)


def test_normalize_name_examples() -> None:
    assert normalize_name(" Var Name[Elem 1, Elem_2] ") == "var_name[elem_1,elem_2]"
    assert normalize_name('"Aux with $peC!@| chars"') == "aux_with_$pec!@|_chars"


# --------------------------------------------------------------------------------------
# Flattening a result
# --------------------------------------------------------------------------------------


def _result() -> xr.Dataset:
    time = np.array([0.0, 0.5, 1.0])
    runs = 2
    scalar = np.arange(runs * 3, dtype=float).reshape(runs, 3)
    grid = np.arange(runs * 3 * 2 * 3, dtype=float).reshape(runs, 3, 2, 3)
    return xr.Dataset(
        {
            "Teacup Temperature": (("run", "time"), scalar),
            "Var": (("run", "time", "Dim1", "Dim2"), grid),
            "Characteristic Time": (("run",), np.array([10.0, 12.0])),
            "status": (("run",), np.array([0, 0])),
        },
        coords={
            "time": time,
            "run": np.arange(runs),
            "Dim1": ["a1", "a2"],
            "Dim2": ["b1", "b2", "b3"],
        },
    )


def test_dataset_columns_flattens_subscripts() -> None:
    ds = _result()
    time, cols = dataset_columns(ds, run=1)
    assert time.tolist() == [0.0, 0.5, 1.0]
    assert set(cols) == {"Teacup Temperature"} | {
        f"Var[{a},{b}]" for a in ("a1", "a2") for b in ("b1", "b2", "b3")
    }
    assert cols["Teacup Temperature"].tolist() == [3.0, 4.0, 5.0]
    grid = ds["Var"].values
    assert cols["Var[a2,b1]"].tolist() == grid[1, :, 1, 0].tolist()
    assert cols["Var[a1,b3]"].tolist() == grid[1, :, 0, 2].tolist()


def test_dataset_columns_follows_variable_dim_order() -> None:
    ds = _result()
    ds["Var"] = ds["Var"].transpose("Dim2", "run", "Dim1", "time")  # storage order differs
    _, cols = dataset_columns(ds, run=0)
    # the column name follows the variable's own dim order (Dim2 first now)
    assert cols["Var[b3,a1]"].tolist() == _result()["Var"].values[0, :, 0, 2].tolist()


def test_dataset_columns_errors() -> None:
    ds = _result()
    with pytest.raises(ValueError, match="out of range"):
        dataset_columns(ds, run=5)
    with pytest.raises(ValueError, match="'Dim2' has no coordinate"):
        dataset_columns(ds.drop_vars("Dim2"))


def test_dataset_round_trip_through_compare(tmp_path: Path) -> None:
    ds = _result()
    time, cols = dataset_columns(ds, run=0)
    lines = ["Time\t" + "\t".join(cols)]
    for i, t in enumerate(time):
        lines.append(f"{t:g}\t" + "\t".join(f"{v[i]:.6g}" for v in cols.values()))
    ref = read_reference(_write(tmp_path / "out.tab", "\n".join(lines) + "\n"))
    result = compare(cols, ref, time=time)
    assert result.passed
    assert result.n_compared_columns == 7
    # a different run does not match the reference written from run 0
    time1, cols1 = dataset_columns(ds, run=1)
    assert not compare(cols1, ref, time=time1).passed


# --------------------------------------------------------------------------------------
# compare
# --------------------------------------------------------------------------------------


def _ref(values: dict[str, list[float]], times: list[float]) -> pd.DataFrame:
    return pd.DataFrame(values, index=pd.Index(times, name="time"))


T = np.array([0.0, 1.0, 2.0])


def test_identical_passes() -> None:
    ref = _ref({"Stock": [1.0, 2.0, 3.0]}, [0.0, 1.0, 2.0])
    result = compare({"Stock": np.array([1.0, 2.0, 3.0])}, ref, time=T)
    assert isinstance(result, Comparison)
    assert result.passed
    assert result.n_compared_columns == 1 and result.n_failed_columns == 0
    assert result.n_compared_values == 3
    assert result.worst_error == 0.0
    assert result.summary().startswith("PASS")


def test_just_inside_and_just_outside_tolerance() -> None:
    ref_value = 1000.0
    bound = 1e-6 + 1e-3 * ref_value  # 1.000001
    ref = _ref({"Stock": [ref_value] * 3}, list(T))
    inside = compare({"Stock": np.full(3, ref_value + 0.999 * bound)}, ref, time=T)
    outside = compare({"Stock": np.full(3, ref_value + 1.001 * bound)}, ref, time=T)
    assert inside.passed
    assert inside.worst_error == pytest.approx(0.999 * bound / ref_value)
    assert not outside.passed
    assert outside.n_failed_columns == 1
    assert outside.worst_error == pytest.approx(0.001 * bound)


def test_absolute_tolerance_near_zero() -> None:
    ref = _ref({"x": [0.0, 0.0, 0.0]}, list(T))
    assert compare({"x": np.array([0.0, 9e-7, -9e-7])}, ref, time=T).passed
    bad = compare({"x": np.array([0.0, 0.0, -2.5e-6])}, ref, time=T)
    assert not bad.passed
    assert bad.worst_time == 2.0 and bad.worst_simulated == -2.5e-6


def test_custom_tolerances_are_used() -> None:
    ref = _ref({"x": [1.0, 1.0, 1.0]}, list(T))
    sim = {"x": np.array([1.0, 1.0, 1.0 + 1e-6])}
    assert compare(sim, ref, time=T).passed
    assert not compare(sim, ref, time=T, rtol=1e-9, atol=1e-12).passed


def test_worst_is_the_largest_excess_across_columns() -> None:
    ref = _ref({"A": [1.0, 1.0, 1.0], "B": [10.0, 10.0, 10.0], "C": [5.0, 5.0, 5.0]}, list(T))
    sim = {
        "A": np.array([1.0, 1.1, 1.0]),  # excess ~0.099
        "B": np.array([10.0, 10.0, 12.0]),  # excess ~1.99
        "C": np.array([5.0, 5.0, 5.0]),
    }
    result = compare(sim, ref, time=T)
    assert not result.passed
    assert result.n_compared_columns == 3
    assert result.n_failed_columns == 2
    assert set(result.failed_columns) == {"A", "B"}
    assert (result.worst_variable, result.worst_time) == ("B", 2.0)
    assert (result.worst_simulated, result.worst_reference) == (12.0, 10.0)
    assert result.worst_error == pytest.approx(2.0 - (1e-6 + 1e-2))
    text = result.summary()
    assert text.startswith("FAIL") and "'B'" in text and "2 of 3" in text


def test_nan_equals_nan_but_not_a_number() -> None:
    ref = _ref({"x": [1.0, np.nan, 3.0]}, list(T))
    both_nan = compare_frames({"x": np.array([1.0, np.nan, 3.0])}, ref, time=T)
    assert both_nan.passed and both_nan.n_compared_values == 3
    nan_vs_number = compare_frames({"x": np.array([1.0, 2.0, 3.0])}, ref, time=T)
    assert not nan_vs_number.passed and nan_vs_number.worst_time == 1.0
    assert nan_vs_number.worst_error == math.inf
    sim_nan = compare({"x": np.array([1.0, np.nan, np.nan])}, ref, time=T)
    assert not sim_nan.passed and sim_nan.worst_time == 2.0


def test_blank_reference_cells_are_skipped() -> None:
    ref = _ref({"Const": [5.0, np.nan, np.nan]}, list(T))
    result = compare({"Const": np.array([5.0, 99.0, -1.0])}, ref, time=T)
    assert result.passed
    assert result.n_compared_values == 1
    assert not compare({"Const": np.array([5.1, 5.0, 5.0])}, ref, time=T).passed


def test_times_matched_with_tolerance() -> None:
    sim_time = np.arange(0, 100.0001, 0.03125)
    values = np.sin(sim_time)
    printed = [float(f"{t:.6g}") for t in sim_time[-3:]]  # 99.9375, 99.9688, 100
    assert printed[1] != sim_time[-2]
    ref = _ref({"s": [float(f"{v:.6g}") for v in values[-3:]]}, printed)
    result = compare({"s": values}, ref, time=sim_time)
    assert result.passed and result.missing_times == ()
    assert result.n_compared_values == 3


def test_reference_times_not_simulated_are_missing_not_failures() -> None:
    ref = _ref({"x": [0.0, 1.0, 2.0, 3.0, 4.0]}, [0.0, 0.5, 1.0, 1.5, 2.0])
    sim = {"x": np.array([0.0, 2.0, 4.0])}  # saved every 1, reference every 0.5
    result = compare(sim, ref, time=T)
    assert result.passed
    assert result.missing_times == (0.5, 1.5)
    assert result.n_compared_values == 3
    assert "2 reference times not simulated" in result.summary()


def test_nearby_time_does_not_match_neighbour() -> None:
    # Late in a long run 1e-4 relative (about 1.0 here) is wider than the save spacing
    # (0.01): the quarter-spacing cap (0.0025) keeps 10000.004 from matching 10000.0.
    sim_time = 10000.0 + 0.01 * np.arange(5)
    ref = _ref({"x": [1.0, 1.0]}, [10000.004, 10000.02])
    result = compare({"x": np.ones(5)}, ref, time=sim_time)
    assert result.missing_times == (10000.004,)
    assert result.passed and result.n_compared_values == 1
    # and one that is neither within 1e-4 relative nor a quarter spacing of any save
    early = compare({"x": np.ones(4)}, _ref({"x": [1.0]}, [0.45]), time=np.arange(4) / 4)
    assert early.missing_times == (0.45,)
    assert not early.passed and early.n_compared_values == 0


def test_zero_common_columns_is_a_failure() -> None:
    ref = _ref({"Other": [1.0, 2.0, 3.0]}, list(T))
    result = compare({"Stock": np.array([1.0, 2.0, 3.0])}, ref, time=T)
    assert not result.passed
    assert result.n_compared_columns == 0
    assert result.unmatched_reference_columns == ("Other",)
    assert result.worst_variable is None
    assert "nothing was compared" in result.summary()


def test_columns_matched_by_normalized_name() -> None:
    ref = _ref(
        {
            "Teacup Temperature": [1.0, 2.0, 3.0],
            "Var[a, b]": [4.0, 5.0, 6.0],
            "FINAL TIME": [2.0, np.nan, np.nan],
        },
        list(T),
    )
    sim = {"teacup_temperature": np.array([1.0, 2.0, 3.0]), "VAR[A,B]": np.array([4, 5, 6])}
    result = compare(sim, ref, time=T)
    assert result.passed and result.n_compared_columns == 2
    assert result.unmatched_reference_columns == ("FINAL TIME",)


def test_dataframe_input_uses_its_index() -> None:
    ref = _ref({"x": [1.0, 2.0, 3.0]}, list(T))
    sim = pd.DataFrame({"x": [1.0, 2.0, 3.0]}, index=pd.Index([0, 1, 2], name="time"))
    assert compare(sim, ref).passed
    shifted = pd.DataFrame({"x": [2.0, 3.0, 4.0]}, index=[0, 1, 2])
    assert not compare(shifted, ref).passed


def test_inconsistent_simulated_input() -> None:
    ref = _ref({"x": [1.0, 2.0, 3.0]}, list(T))
    with pytest.raises(ValueError, match="has 2 values but there are 3 times"):
        compare({"x": np.array([1.0, 2.0])}, ref, time=T)
    with pytest.raises(ValueError, match="without their time vector"):
        compare({"x": np.array([1.0, 2.0, 3.0])}, ref)
    with pytest.raises(ValueError, match="same name key"):
        compare({"A b": np.ones(3), "a_B": np.ones(3)}, ref, time=T)


def test_comparison_is_frozen() -> None:
    result = compare({"x": np.ones(3)}, _ref({"x": [1.0, 1.0, 1.0]}, list(T)), time=T)
    with pytest.raises(AttributeError):
        result.passed = False  # type: ignore[misc]


# --------------------------------------------------------------------------------------
# Against a real PySD run (PySD writes a .py next to the .mdl: copy the folder first)
# --------------------------------------------------------------------------------------


def _pysd_run(sd_test_models: Path, name: str, tmp_path: Path) -> pd.DataFrame:
    pysd = pytest.importorskip("pysd")
    folder = shutil.copytree(sd_test_models / name, tmp_path / name)
    (mdl,) = [p for p in folder.iterdir() if p.suffix.lower() == ".mdl"]
    return pysd.read_vensim(str(mdl)).run()


def test_pysd_run_passes_against_canonical(sd_test_models: Path, tmp_path: Path) -> None:
    df = _pysd_run(sd_test_models, "subscript_1d_arrays", tmp_path)
    assert "Stock A[Entry 1]" in df.columns  # PySD flattens subscripts as Vensim does
    ref = read_reference(sd_test_models / "subscript_1d_arrays" / "output.csv")
    result = compare(df, ref)
    assert result.passed, result.summary()
    assert result.n_compared_columns == len(ref.columns)
    assert result.unmatched_reference_columns == ()
    # and the same frame, perturbed in one value, fails exactly there
    bad = df.copy()
    bad.loc[50, "Stock A[Entry 2]"] *= 1.01
    failed = compare(bad, ref)
    assert not failed.passed
    assert (failed.worst_variable, failed.worst_time) == ("Stock A[Entry 2]", 50.0)
    assert compare_frames(df, df, rtol=1e-12, atol=0).passed


def test_pysd_exp_fails_as_the_manifest_says(sd_test_models: Path, tmp_path: Path) -> None:
    # MANIFEST: "StockA@t=50.0: -1.02696e-15 vs -2.52e-06" (beyond atol=1e-6)
    df = _pysd_run(sd_test_models, "exp", tmp_path)
    result = compare(df, read_reference(sd_test_models / "exp" / "output.csv"))
    assert not result.passed
    assert result.failed_columns == ("StockA",)
    assert result.worst_time == 50.0
    assert result.worst_reference == pytest.approx(-2.52e-06)
