"""``gvcdyn run --vars`` with a name spelt otherwise than in the model.

The model finds ``stock`` as ``Stock`` (names are looked up as Vensim reads them, case,
spaces and underscores ignored) and the run saved it, but the summary table looked the
results up by the user's spelling and ended in a bare ``KeyError`` traceback.
"""

from __future__ import annotations

from pathlib import Path

from console import gvcdyn
from mdl_helpers import write_mdl

MODEL = """
Stock = INTEG(inflow, 1)
	~	units
	~		|
inflow = growth rate * Stock
	~	units/Month
	~		|
growth rate = 0.1
	~	1/Month [0, 1]
	~		|
"""


def test_vars_spelt_otherwise_are_shown_saved_and_plotted(tmp_path: Path) -> None:
    mdl = write_mdl(tmp_path, MODEL)
    result = gvcdyn(
        "run", mdl, "--vars", "stock, GROWTH_RATE", "--vars", "Stock",
        "-o", tmp_path / "r.csv", "--plot", tmp_path / "r.png", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    header = next(line for line in result.stdout.splitlines() if "Stock" in line)
    assert "growth rate" in header
    assert header.count("Stock") == 1  # asked twice, shown once
    rows = [line.split(",")[0] for line in (tmp_path / "r.csv").read_text().splitlines()]
    assert rows == ["Time", "Stock", "growth rate"]
    assert (tmp_path / "r.png").stat().st_size > 0
