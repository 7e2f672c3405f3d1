"""``gvcdyn check --data FILE`` for a model that reads nothing from FILE.

``gvcdyn run`` says so ("warning: --data X: the model read nothing from it ..."); check
compared the model's own values and passed without a word, to a user who meant the
check to run on that data. It says so now, as run does.
"""

from __future__ import annotations

from pathlib import Path

from console import gvcdyn
from mdl_helpers import write_mdl

MODEL = """
Stock = INTEG(0.1 * Stock, 1)
	~	units
	~		|
"""


def test_a_data_file_the_model_does_not_read_is_said(tmp_path: Path) -> None:
    mdl = write_mdl(tmp_path, MODEL)
    other = tmp_path / "other_run.csv"
    other.write_text("Time,0,1\ndemand,1,2\n")
    result = gvcdyn("check", mdl, "--data", "other_run.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    said = " ".join(result.stderr.split())
    assert "other_run.csv: the model read nothing from it" in said, said
    assert said.startswith("warning: --data ")
