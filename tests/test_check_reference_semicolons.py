"""``gvcdyn check --reference`` with a CSV a spreadsheet saved with ';' separators.

Spreadsheets in many locales save "CSV" with semicolons; the whole line then read as one
field: "line 2, column 'Time;Stock': '0;1' is not a number". It says now what the
separator is and what to give.
"""

from __future__ import annotations

from pathlib import Path

from console import assert_one_line_error, gvcdyn
from mdl_helpers import write_mdl

MODEL = """
Stock = INTEG(0.1 * Stock, 1)
	~	units
	~		|
"""


def test_a_semicolon_separated_reference_is_named(tmp_path: Path) -> None:
    mdl = write_mdl(tmp_path, MODEL)
    for text in ("Time;Stock\n0;1\n1;1.1\n", "Time;0;1\nStock;1;1.1\n"):
        reference = tmp_path / "vensim.csv"
        reference.write_text(text)
        result = gvcdyn("check", mdl, "--reference", reference, cwd=tmp_path)
        assert_one_line_error(result, "vensim.csv", "separated by ';'", stdout_empty=True)
