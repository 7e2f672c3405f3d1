"""Output files by extension and one option vocabulary across commands (issue 22).

``--out`` writes what its extension says (netCDF, CSV or Vensim's ``.tab`` layout) and
refuses any other extension as ``--plot`` does, through one check; a path under a file
is refused naming the file. Each test runs the console script in a subprocess, on a
small model written per test so that a kernel compiles in a second.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from console import assert_one_line_error as one_line_error
from console import gvcdyn
from mdl_helpers import write_mdl

REPO = Path(__file__).resolve().parents[1]

GROWTH_MODEL = """
stock = INTEG(inflow, 1)
	~	widgets
	~	The stock.
	|
inflow = rate * stock
	~	widgets/Month
	~	Growth.
	|
rate = 0.1
	~	1/Month [0, 1]
	~	Growth rate.
	|
"""


@pytest.fixture
def growth(tmp_path: Path) -> Path:
    return write_mdl(tmp_path, GROWTH_MODEL, final_time=2, time_step=0.25, saveper=1, name="growth")


def test_out_tab_is_vensims_layout_and_reads_back_as_a_reference(growth, tmp_path) -> None:
    done = gvcdyn("run", growth, "--set", "rate=0.2", "--out", "r.tab", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = (tmp_path / "r.tab").read_text(encoding="utf-8").splitlines()
    rows = {line.split("\t")[0]: line.split("\t")[1:] for line in lines}
    assert rows["Time"] == ["0", "1", "2"]  # times across, as Vensim exports
    assert rows["rate"] == ["0.2", "0.2", "0.2"]  # a constant at every time
    done = gvcdyn("run", growth, "--set", "rate=0.2", "--out", "r.nc", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with xr.open_dataset(tmp_path / "r.nc") as nc:  # the same numbers, every digit
        expected = nc["stock"].isel(run=0).values
    np.testing.assert_array_equal([float(v) for v in rows["stock"]], expected)
    assert expected[-1] > 1.2  # grown at rate 0.2

    check = gvcdyn("check", growth, "--reference", "r.tab", cwd=tmp_path)
    assert check.returncode == 1, check.stderr  # read as a reference: the model's rate is 0.1
    assert "FAIL" in check.stdout and "stock" in check.stdout


def test_out_csv_has_a_block_per_run(growth, tmp_path) -> None:
    done = gvcdyn("run", growth, "--sweep", "rate=0.1:0.3:3", "--out", "out/x.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with (tmp_path / "out" / "x.csv").open(encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["Time", "0", "1", "2"]
    names = [row[0] for row in table[1:]]
    assert "stock : rate=0.1" in names and "stock : rate=0.3" in names, names
    assert not (tmp_path / "out" / "x.nc").exists()
    head = (tmp_path / "out" / "x.csv").read_bytes()[:4]
    assert head == b"Time"  # text, not netCDF (HDF5) under a .csv name


def test_unknown_out_extensions_are_refused_as_plots_are(growth, tmp_path) -> None:
    one_line_error(
        gvcdyn("run", growth, "--out", "r.txt", cwd=tmp_path), "r.txt", "'.txt'", ".csv .nc .tab"
    )
    one_line_error(gvcdyn("run", growth, "--out", "results", cwd=tmp_path), "'(none)'")
    one_line_error(
        gvcdyn("run", growth, "--plot", "p.bmp", cwd=tmp_path), "p.bmp", "'.bmp'", ".png"
    )
    assert not list(tmp_path.glob("r.*")) and not (tmp_path / "results").exists()


def test_a_parent_that_is_a_file_is_named(growth, tmp_path) -> None:
    (tmp_path / "supply.mdl").write_text("", encoding="utf-8")
    for option, name in (("--out", "x.nc"), ("--plot", "x.png")):
        line = one_line_error(gvcdyn("run", growth, option, f"supply.mdl/{name}", cwd=tmp_path))
        assert "supply.mdl is a file, not a folder" in line, line
        assert "File exists" not in line
    line = one_line_error(gvcdyn("demo", "--out", "supply.mdl/sub", cwd=tmp_path))
    assert "supply.mdl is a file" in line


def test_sobol_n_must_be_a_positive_power_of_two(growth, tmp_path) -> None:
    for n in ("-5", "0", "100"):
        one_line_error(
            gvcdyn(
                "sensitivity", growth, "--vars", "stock", "--params", "rate", "--n", n, cwd=tmp_path
            ),
            f"N = {n}",
            "positive power of two",
        )


COMMANDS = ("run", "demo", "params", "check", "calibrate", "predict", "sensitivity", "models")


def test_h_is_help_everywhere_and_flags_show_no_value_placeholder(tmp_path) -> None:
    top = gvcdyn("-h", cwd=tmp_path)
    assert top.returncode == 0 and "Usage: gvcdyn" in top.stdout, top.stderr
    for command in COMMANDS:
        done = gvcdyn(command, "-h", cwd=tmp_path)
        assert done.returncode == 0, (command, done.stderr)
        assert f"Usage: gvcdyn {command}" in done.stdout
        assert "<bool>" not in done.stdout, (command, done.stdout)


def test_o_is_out_in_every_command_that_writes_a_file(tmp_path) -> None:
    for command in ("run", "demo", "calibrate", "predict", "sensitivity"):
        done = gvcdyn(command, "-h", cwd=tmp_path)
        lines = done.stdout.splitlines()
        rows = [x for x in lines if x.startswith("│") and x.lstrip("│ *").startswith("--out ")]
        assert rows and " -o " in rows[0], (command, rows)
    for command in ("run", "demo", "sensitivity"):
        done = gvcdyn(command, "-h", cwd=tmp_path)
        assert "--integration" in done.stdout and "euler|rk4" in done.stdout
        assert "--method " not in done.stdout or command == "sensitivity"


def test_old_spellings_still_work_and_say_what_replaced_them(growth, tmp_path) -> None:
    done = gvcdyn("run", growth, "--method", "rk4", "--out", "m.nc", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "--method rk4 is deprecated; use --integration rk4" in done.stderr
    with xr.open_dataset(tmp_path / "m.nc") as ds:
        assert ds.attrs["method"] == "rk4"

    done = gvcdyn(
        "sensitivity",
        growth,
        "--output",
        "stock",
        "--params",
        "rate",
        "--n",
        "8",
        "-o",
        "s.nc",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "--output is deprecated; use --vars" in done.stderr
    with xr.open_dataset(tmp_path / "s.nc") as ds:
        assert [str(o) for o in ds["output"].values] == ["stock"]


def test_sensitivity_vars_are_comma_separated_or_repeated(growth, tmp_path) -> None:
    both = (
        "--vars",
        "stock,inflow",
        "--params",
        "rate",
        "--n",
        "8",
        "--seed",
        "1",
        "--integration",
        "rk4",
    )
    done = gvcdyn("sensitivity", growth, *both, "-o", "a.nc", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    repeated = (
        "--vars",
        "stock",
        "--vars",
        "inflow",
        "--params",
        "rate",
        "--n",
        "8",
        "--seed",
        "1",
    )
    done = gvcdyn(
        "sensitivity", growth, *repeated, "--integration", "rk4", "-o", "b.nc", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    with xr.open_dataset(tmp_path / "a.nc") as a, xr.open_dataset(tmp_path / "b.nc") as b:
        assert [str(o) for o in a["output"].values] == ["stock", "inflow"]
        xr.testing.assert_equal(a[["ST", "S1"]], b[["ST", "S1"]])
        assert a.attrs["integration_method"] == "rk4"


def test_sensitivity_old_o_for_outputs_is_told_what_changed(growth, tmp_path) -> None:
    one_line_error(
        gvcdyn("sensitivity", growth, "-o", "stock", cwd=tmp_path),
        "--vars",
        "-o is --out",
    )


def test_split_names_keeps_subscripted_names_whole() -> None:
    from gvcdyn.cli.common import split_names

    assert split_names(["a, b", "Stock[x, y],c"]) == ["a", "b", "Stock[x, y]", "c"]
    assert split_names(None) is None and split_names([" , "]) is None


HEAVY = ("numba", "pysd", "xarray", "dask", "distributed", "matplotlib", "scipy", "pandas")


def imported_by(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the console script under ``python -X importtime``; the top-level packages it
    imported (read from the import log, not timed)."""
    exe = shutil.which("gvcdyn")
    assert exe
    done = subprocess.run(
        [sys.executable, "-X", "importtime", exe, *args],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    names = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    return done, names


@pytest.mark.parametrize(
    "args",
    [
        ("--version",),
        ("--help",),
        ("run", "-h"),
        ("calibrate", "-h"),
        ("sensitivity", "-h"),
        ("models",),
        ("run", "gvc_upgrading", "--out", "x.txt"),
        ("run", "gvc_upgrading", "--plot", "x.bmp"),
        ("params", "no_such_model"),
    ],
)
def test_help_version_and_early_mistakes_import_no_heavy_library(args, tmp_path) -> None:
    done, names = imported_by(*args, cwd=tmp_path)
    assert done.returncode in (0, 2), done.stderr[-2000:]
    assert "gvcdyn" in names, "the import log was not read"
    assert not names & set(HEAVY), sorted(names & set(HEAVY))
