"""External data (issue 9, section 2): data variables and GET XLS/DIRECT functions.

The oracle is PySD: its runtime ``Data`` class for the data keywords, and a whole PySD
run of a small model whose workbook and run output the tests write themselves. Errors
must name the file and the variable; the data files' hashes must reach the kernel source
(the cache key) and the results' provenance.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import openpyxl  # a dependency of PySD
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mdl_helpers import write_mdl

import gvcdyn
from gvcdyn import runtime as rt
from gvcdyn.errors import DataFileNotFoundError, ExternalDataError, GvcdynError

TIMES = [0, 2, 4, 6]
SERIES = [10.0, 20.0, None, 40.0]  # a missing value, filled by each keyword's own rule

MODEL = """
Dim: a, b
\t~\t~\t|
d interp := GET XLS DATA('inputs.xlsx', 'Data', '1', 'B2')
\t~\t~\t|
d hold:HOLD BACKWARD::= GET XLS DATA('inputs.xlsx', 'Data', '1', 'B2')
\t~\t~\t|
d forward:LOOK FORWARD::= GET XLS DATA('inputs.xlsx', 'Data', '1', 'B2')
\t~\t~\t|
d raw:RAW::= GET XLS DATA('inputs.xlsx', 'Data', '1', 'B2')
\t~\t~\t|
tbl = GET XLS LOOKUPS('inputs.xlsx', 'Data', '1', 'B2')
\t~\t~\t|
tbl out = tbl(Time * 0.7 + 0.5)
\t~\t~\t|
c[Dim] = GET XLS CONSTANTS('inputs.xlsx', 'Data', 'B3')
\t~\t~\t|
run var[Dim]:HOLD BACKWARD:
\t~\t~\t|
total[Dim] = INTEG(d hold * c[Dim] + run var[Dim], 0)
\t~\t~\t|
"""
OUTPUTS = ["d interp", "d hold", "d forward", "d raw", "tbl out", "c[a]", "c[b]"]
OUTPUTS += ["run var[a]", "run var[b]", "total[a]", "total[b]"]


def _write_inputs(folder: Path, constants: tuple[float, float] = (3.0, 5.0)) -> None:
    """The workbook: times in row 1 from B1, a series in row 2, constants in row 3."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Data"
    sheet.append(["time", *TIMES])
    sheet.append(["x", *SERIES])
    sheet.append(["c", *constants])
    book.save(folder / "inputs.xlsx")
    # another run's output, as Vensim writes it (tab separated, time down)
    lines = ["Time\trun var[a]\trun var[b]"]
    lines += [f"{t}\t{t * t}\t{-t}" for t in (0, 3, 5, 9)]
    (folder / "run.tab").write_text("\n".join(lines) + "\n")


@pytest.fixture()
def model_dir(tmp_path: Path) -> Path:
    _write_inputs(tmp_path)
    write_mdl(tmp_path, MODEL, final_time=8.0, time_step=0.5)
    return tmp_path


# ---------------------------------------------------------------------- the keywords


def _pysd_data(xs: np.ndarray, ys: np.ndarray, mode: str):
    """PySD's own ``Data`` object over a table, as its ``ExtData`` builds it."""
    import xarray as xr
    from pysd.py_backend.data import Data

    data = Data()
    data.data = xr.DataArray(ys, {"time": xs}, ["time"])
    data.interp, data.is_float, data.py_name, data.nan = mode, True, "d", np.nan
    return data


@settings(max_examples=60, deadline=None)
@given(
    xs=st.lists(st.integers(-20, 20), min_size=1, max_size=6, unique=True),
    probes=st.lists(st.floats(-25, 25, allow_nan=False), min_size=1, max_size=8),
    mode=st.sampled_from(["hold_backward", "look_forward", "raw"]),
)
def test_data_keywords_match_pysd(xs: list[int], probes: list[float], mode: str) -> None:
    """rt.data_value reads a table as PySD's Data does, at data times and between them."""
    times = np.array(sorted(float(x) / 2 for x in xs))
    values = np.arange(1.0, times.size + 1.0) ** 2
    data = _pysd_data(times, values, mode)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for t in [*probes, *times.tolist()]:
            expected = float(data(t))
            got = rt.data_value.py_func(t, times, values, rt.DATA_MODE_CODES[mode])
            assert got == expected or (np.isnan(got) and np.isnan(expected)), (t, mode)


# ---------------------------------------------------------------------- a whole model


def test_model_matches_pysd(model_dir: Path) -> None:
    """Data (all four keywords, a missing value), lookups, constants and a data variable
    read from another run: gvcdyn's results are PySD's."""
    import pysd

    mdl = model_dir / "model.mdl"
    pysd_dir = model_dir / "pysd"  # PySD writes its translation next to the model
    pysd_dir.mkdir()
    for name in ("model.mdl", "inputs.xlsx", "run.tab"):
        shutil.copy(model_dir / name, pysd_dir / name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = pysd.read_vensim(
            str(pysd_dir / "model.mdl"), data_files=[str(pysd_dir / "run.tab")]
        ).run(return_columns=OUTPUTS)
    ds = gvcdyn.load(mdl, data_files=[model_dir / "run.tab"]).run()
    assert np.allclose(ds["time"].values, reference.index.values)
    for column in OUTPUTS:
        name, _, element = column.partition("[")
        ours = ds[name]
        if element:
            ours = ours.sel(Dim=element.rstrip("]"))
        ours = np.broadcast_to(np.squeeze(ours.values), reference.index.shape)
        np.testing.assert_allclose(ours, reference[column].values, rtol=1e-12, err_msg=column)
    # the filled missing value follows each keyword: hold 20, look forward 40, raw none
    at = {t: i for i, t in enumerate(ds["time"].values)}
    assert ds["d hold"].values[0, at[4.0]] == 20.0
    assert ds["d forward"].values[0, at[4.0]] == 40.0
    assert np.isnan(ds["d raw"].values[0, at[4.0]])


def test_constants_are_parameters_and_files_are_provenance(model_dir: Path) -> None:
    """A constant read from a workbook is a parameter with the file's value as default;
    the workbook's SHA-256 is in the kernel source and in the results' attributes."""
    model = gvcdyn.load(model_dir / "model.mdl", data_files=[model_dir / "run.tab"])
    table = model.parameter_table().set_index("name")
    assert table.loc["c[a]", "default"] == 3.0 and table.loc["c[b]", "default"] == 5.0

    files = json.loads(model.run({"c[a]": 7.0}, variables=["c"]).attrs["data_files"])
    for name in ("inputs.xlsx", "run.tab"):
        path = str((model_dir / name).resolve())
        digest = hashlib.sha256((model_dir / name).read_bytes()).hexdigest()
        assert files[path] == digest
        assert digest in model.source

    # a changed workbook is a different kernel source (cache key) and new defaults
    _write_inputs(model_dir, constants=(3.0, 6.0))
    changed = gvcdyn.load(model_dir / "model.mdl", data_files=[model_dir / "run.tab"])
    assert changed.source != model.source
    assert changed.parameter_table().set_index("name").loc["c[b]", "default"] == 6.0


# ---------------------------------------------------------------------- errors


def _error(folder: Path, equations: str, **load) -> GvcdynError:
    mdl = write_mdl(folder, equations)
    with pytest.raises(GvcdynError) as info:
        gvcdyn.load(mdl, **load)
    return info.value


def test_missing_file_names_file_and_variable(tmp_path: Path) -> None:
    error = _error(tmp_path, "k = GET XLS CONSTANTS('nowhere.xlsx', 'Data', 'B3')\n~~|")
    assert isinstance(error, DataFileNotFoundError) and isinstance(error, FileNotFoundError)
    assert "nowhere.xlsx" in str(error) and "'k'" in str(error)


@pytest.mark.parametrize(
    ("equation", "named"),
    [
        ("k = GET XLS CONSTANTS('inputs.xlsx', 'Nosheet', 'B3')", "Nosheet"),
        ("k = GET DIRECT CONSTANTS('inputs.xlsx', 'Data', 'no_such_range')", "no_such_range"),
        ("k := GET XLS DATA('inputs.xlsx', 'Data', '9', 'B10')", "B10"),
    ],
)
def test_missing_sheet_or_range_names_it(tmp_path: Path, equation: str, named: str) -> None:
    _write_inputs(tmp_path)
    error = _error(tmp_path, equation + "\n~~|")
    assert isinstance(error, ExternalDataError)
    message = str(error)
    assert "inputs.xlsx" in message and named in message and "'k'" in message
    assert "\n" not in message


def test_data_variable_needs_data_files(tmp_path: Path) -> None:
    _write_inputs(tmp_path)
    equations = "v:HOLD BACKWARD:\n~~|\nout = v * 2\n~~|"
    error = _error(tmp_path, equations)
    assert isinstance(error, ExternalDataError)
    assert "'v'" in str(error) and "data_files" in str(error)

    error = _error(tmp_path, equations, data_files=[tmp_path / "run.tab"])
    assert isinstance(error, ExternalDataError)
    assert "'v'" in str(error) and "run.tab" in str(error)

    error = _error(tmp_path, equations, data_files=[tmp_path / "missing.tab"])
    assert isinstance(error, DataFileNotFoundError) and "missing.tab" in str(error)

    (tmp_path / "run.vdf").write_bytes(b"\x00binary")
    error = _error(tmp_path, equations, data_files=[tmp_path / "run.vdf"])
    assert isinstance(error, ExternalDataError) and "run.vdf" in str(error)


def test_csv_constants_and_subscript_range(tmp_path: Path) -> None:
    """GET DIRECT CONSTANTS and SUBSCRIPT from a .csv (the 'tab' argument is the separator):
    the range's elements and the constants' defaults come from the file."""
    (tmp_path / "c.csv").write_text("name,v1,v2\nrow,1.5,2.5\n")
    (tmp_path / "s.csv").write_text("e1,e2,e3\n")
    equations = """
    k[D] = GET DIRECT CONSTANTS('c.csv', ',', 'B2')
    ~~|
    D: d1, d2
    ~~|
    S: GET DIRECT SUBSCRIPT('s.csv', ',', 'A1', 'C1', '')
    ~~|
    q[S] = 1
    ~~|
    """
    model = gvcdyn.load(write_mdl(tmp_path, equations))
    defaults = dict(zip(*model.parameter_table()[["name", "default"]].values.T, strict=True))
    assert defaults == {"k[d1]": 1.5, "k[d2]": 2.5, "q[e1]": 1.0, "q[e2]": 1.0, "q[e3]": 1.0}
    files = {Path(f).name for f, _ in model.ir.data_files}
    assert files == {"c.csv", "s.csv"}
