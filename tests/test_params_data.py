"""``gvcdyn params`` of a model with data variables (values from another run's output).

params had no --data, so such a model could not be listed at all, and the one-line
error advised the library's "pass that file with gvcdyn.load(model, data_files=[...])"
to a command-line user. params takes --data now, as run and check do, and the error
advises it.
"""

from __future__ import annotations

from pathlib import Path

from console import assert_one_line_error, gvcdyn

SUITE = Path(__file__).parent / "sd-test-models" / "data_from_other_model"
MODEL = SUITE / "test_data_from_other_model.mdl"


def test_params_reads_the_data_a_model_needs(tmp_path: Path) -> None:
    result = gvcdyn("params", MODEL, "--data", SUITE / "data.tab", "-f", "csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("name,default,min,max,units,doc\n")


def test_without_it_the_error_advises_the_option(tmp_path: Path) -> None:
    result = gvcdyn("params", MODEL, cwd=tmp_path)
    assert_one_line_error(result, "'var 0dim' is a data variable", "pass that file with --data")
