"""``--data run.nc`` where run.nc is gvcdyn's own results file.

A data variable reads another run's output, and .nc is among the suffixes accepted; but
PySD's reader takes its own netCDF layout (``time`` and the variable's dimensions, by
Python name), not gvcdyn's (``run``, ``time``, Vensim names). The error said "data
variable 'var 0dim': no column for it in run.nc", false: the file holds 'var 0dim'. It
says now what the file is and how to pass the run (as a table, which reads).
"""

from __future__ import annotations

from pathlib import Path

from console import assert_one_line_error, gvcdyn

SUITE = Path(__file__).parent / "sd-test-models" / "data_from_other_model"
MODEL = SUITE / "test_data_from_other_model.mdl"


def test_a_results_nc_is_named_as_such_and_its_table_reads(tmp_path: Path) -> None:
    for name in ("run.nc", "run.csv"):
        made = gvcdyn("run", MODEL, "--data", SUITE / "data.tab", "-o", name, cwd=tmp_path)
        assert made.returncode == 0, made.stderr
    result = gvcdyn("run", MODEL, "--data", "run.nc", cwd=tmp_path)
    assert_one_line_error(result, "run.nc", "is a gvcdyn results file", "-o run.csv")
    again = gvcdyn("run", MODEL, "--data", "run.csv", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
