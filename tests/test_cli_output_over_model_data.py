"""An output path that is a data file the model reads (``GET DIRECT CONSTANTS('c.csv',
...)``, relative to the model's folder) is refused, as an output over ``--data`` is.

``gvcdyn run m.mdl -o c.csv`` beside such a model wrote the results over c.csv, exit 0:
the model's own input gone, and its next run reading a results table as its constants.
The refusal of outputs over inputs (cli.common.refuse_output_over_input) knew the files
named on the command line, not the ones the model names; these are known once the model
is read, so they are refused then, before any run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from console import assert_one_line_error, gvcdyn

MODEL = """{UTF-8}
k = GET DIRECT CONSTANTS('c.csv', ',', 'B2')
	~	~		|
y = INTEG(k, 0)
	~	~		|
FINAL TIME = 2
	~	~		|
INITIAL TIME = 0
	~	~		|
SAVEPER = 1
	~	~		|
TIME STEP = 1
	~	~		|
"""
CHECKS = """
[[check]]
name = "y grows"
expect = "bound"
value = 'run["y"] @ 2'
min = 0
"""


def _model(tmp_path: Path) -> tuple[Path, Path, bytes]:
    (tmp_path / "m.mdl").write_text(MODEL)
    (tmp_path / "m.checks.toml").write_text(CHECKS)
    data = tmp_path / "c.csv"
    data.write_text("a,b\nx,3.5\n")
    return tmp_path / "m.mdl", data, data.read_bytes()


@pytest.mark.parametrize("command", [["run", "{m}"], ["reality-check", "{m}", "{d}/m.checks.toml"]])
def test_an_output_over_a_data_file_the_model_reads_is_refused(tmp_path, command) -> None:
    model, data, before = _model(tmp_path)
    given = [a.format(m=model, d=tmp_path) for a in command]
    done = gvcdyn(*given, "-o", data, cwd=tmp_path)
    assert_one_line_error(done, "c.csv", "a file this command reads (the model's data files)")
    assert data.read_bytes() == before
    # elsewhere the same command writes its results, the model's input untouched
    done = gvcdyn(*given, "-o", tmp_path / "out.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.csv").is_file() and data.read_bytes() == before
