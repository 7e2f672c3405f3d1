"""A model without FINAL TIME is refused with Vensim's name and what to add.

The message said "the model does not define FINAL_TIME" (PySD's Python name, which
appears nowhere in a .mdl); it names the control as Vensim spells it and says how to
define it.
"""

from __future__ import annotations

from console import assert_one_line_error, gvcdyn

NO_FINAL_TIME = """{UTF-8}
stock = INTEG(1, 0)
	~	widgets
	~	The stock.
	|

INITIAL TIME = 0
	~	Month
	~		|

TIME STEP = 1
	~	Month
	~		|
"""


def test_a_missing_final_time_is_named_as_vensim_spells_it(tmp_path) -> None:
    mdl = tmp_path / "no_final.mdl"
    mdl.write_text(NO_FINAL_TIME, encoding="utf-8")
    done = gvcdyn("run", mdl, cwd=tmp_path)
    line = assert_one_line_error(done, str(mdl), "does not define FINAL TIME", stdout_empty=True)
    assert "FINAL_TIME" not in line and "FINAL TIME = " in line, line
