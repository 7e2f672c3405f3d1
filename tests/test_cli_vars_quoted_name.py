"""``--vars '"weird, name"'``: a quoted Vensim name with a comma in it.

The names were split at every comma outside brackets, so the quoted name became
'"weird' and ' name"', and the error suggested '"weird, name"', the very name given.
"""

from __future__ import annotations

from pathlib import Path

from console import gvcdyn
from mdl_helpers import write_mdl

from gvcdyn.cli.common import split_names

MODEL = """
Stock = INTEG(0.1 * Stock, 1)
	~	units
	~		|
"weird, name" = 3
	~	Dmnl [0, 10]
	~		|
"""


def test_a_comma_inside_quotes_belongs_to_the_name() -> None:
    assert split_names(['"weird, name",Stock', "a, b"]) == ['"weird, name"', "Stock", "a", "b"]


def test_run_shows_a_quoted_name_with_a_comma(tmp_path: Path) -> None:
    mdl = write_mdl(tmp_path, MODEL)
    result = gvcdyn("run", mdl, "--vars", '"weird, name", Stock', cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert '"weird, name"' in result.stdout
