"""``gvcdyn check --reference`` with a reference that ends before the simulation does.

The check compares the times both have. A Vensim export of a shorter run (FINAL TIME 5
of a model that now runs to 10) passed as "PASS: 3 columns agree (18 values ...)" and
said nothing of the five simulated times it never compared, while it does name the
reference times that were not simulated. It names both now.
"""

from __future__ import annotations

from pathlib import Path

from console import gvcdyn
from mdl_helpers import write_mdl

MODEL = """
Stock = INTEG(inflow, 1)
	~	units
	~		|
inflow = 0.1 * Stock
	~	units/Month
	~		|
"""


def test_simulated_times_the_reference_lacks_are_named(tmp_path: Path) -> None:
    mdl = write_mdl(tmp_path, MODEL, final_time=10, time_step=1)
    short = tmp_path / "short.csv"
    made = gvcdyn("run", mdl, "--final-time", "5", "-o", short, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    result = gvcdyn("check", mdl, "--reference", short, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    verdict = " ".join(result.stdout.split()[result.stdout.split().index("PASS:") :])
    assert "5 simulated times not in the reference, not compared (first 6)" in verdict


def test_a_reference_of_every_time_adds_no_note(tmp_path: Path) -> None:
    mdl = write_mdl(tmp_path, MODEL, final_time=10, time_step=1)
    full = tmp_path / "full.csv"
    assert gvcdyn("run", mdl, "-o", full, cwd=tmp_path).returncode == 0
    result = gvcdyn("check", mdl, "--reference", full, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "not in the reference" not in result.stdout
