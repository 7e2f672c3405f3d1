"""``--vars TABLE`` naming a lookup table.

A lookup is not an output (it has no values over time), and the error said only
"unknown variable 'tbl'" of a name the model plainly defines. It says what the name is.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from console import assert_one_line_error, gvcdyn
from mdl_helpers import write_mdl

import gvcdyn as gd
from gvcdyn.errors import UnknownVariableError

MODEL = """
Stock = INTEG(rate * Stock, 1)
	~	units
	~		|
rate = growth table(Time)
	~	1/Month
	~		|
growth table([(0,0)-(10,1)],(0,0),(10,1))
	~	1/Month
	~		|
"""


def test_a_lookup_named_in_vars_is_said_to_be_one(tmp_path: Path) -> None:
    mdl = write_mdl(tmp_path, MODEL)
    result = gvcdyn("run", mdl, "--vars", "Growth_Table", cwd=tmp_path)
    assert_one_line_error(result, "'Growth_Table' is a lookup table, not a variable")
    with pytest.raises(UnknownVariableError, match="is a lookup table"):
        gd.load(mdl).run(variables=["growth table"])
