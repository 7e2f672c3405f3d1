"""``gvcdyn predict --out`` writes CSV, so it is refused unless it names a .csv file.

``-o predictions.txt`` wrote CSV under a .txt name (and the JSON beside it), while every
other command writes what the extension says and refuses the rest; now predict refuses
it too, before the fit is read.
"""

from __future__ import annotations

from console import assert_one_line_error, gvcdyn


def test_an_out_that_is_not_csv_is_refused_before_the_fit_is_read(tmp_path) -> None:
    done = gvcdyn("predict", "--fit", tmp_path / "no_fit.nc", "--cases", tmp_path / "no.csv",
                  "--out", tmp_path / "p.txt", cwd=tmp_path)  # fmt: skip
    assert_one_line_error(done, "p.txt", "'.txt'", ".csv", stdout_empty=True)
    assert not (tmp_path / "p.txt").exists() and not (tmp_path / "p.json").exists()
