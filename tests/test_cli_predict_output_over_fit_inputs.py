"""``gvcdyn predict -o X`` is refused when X is a file the fit's model or its revisions
are read from, as an output over --cases or --fit is (cli.common.refuse_output_over_input).

Before, ``predict`` checked only the files on its command line: the model (loaded inside
``gvcdyn.calibrate.predict``) reads its GET DIRECT data files, and a fit written before
fits recorded their revisions' text reads its revisions file by path; ``-o`` over either
wrote the predictions there, exit 0, and the next predict of that fit read a predictions
table as the model's constants, or as its case revisions.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import xarray as xr
from console import assert_one_line_error, gvcdyn
from toy_calibration import revised_toy_fit

from gvcdyn.io.results_io import write_netcdf

DATA = Path(__file__).parent / "data" / "calibration"
DATA_LINE = """Data Constant = GET DIRECT CONSTANTS('c.csv', ',', 'B2')
	~	Dmnl
	~	A constant the model reads from c.csv beside it (read by no other variable).
	|

"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A toy fit (fit.nc) of a model that reads c.csv, made with revisions.csv, and the
    same fit as one written before fits recorded their revisions' text (old_fit.nc)."""
    folder = tmp_path_factory.mktemp("predict_inputs")
    model = (DATA / "toy_upgrading.mdl").read_text(encoding="utf-8")
    assert model.startswith("{UTF-8}\n")
    (folder / "c.csv").write_text("a,b\nx,3.5\n", encoding="utf-8")
    fit, revisions = revised_toy_fit(folder, model.replace("{UTF-8}\n", "{UTF-8}\n" + DATA_LINE, 1))
    ds = xr.load_dataset(fit)
    assert ds.attrs["case_revisions"] == str(revisions) and ds.attrs["case_revisions_text"]
    del ds.attrs["case_revisions_text"]  # as fits written before the text was recorded
    write_netcdf(ds, folder / "old_fit.nc")
    return folder


@pytest.mark.parametrize(
    ("fit", "name", "said"),
    [
        ("fit.nc", "c.csv", "(the model's data files)"),
        ("old_fit.nc", "c.csv", "(the model's data files)"),
        ("old_fit.nc", "revisions.csv", "(the fit's case revisions file)"),
    ],
)
def test_predict_over_a_file_the_fit_reads_is_refused(folder, tmp_path, fit, name, said) -> None:
    target = folder / name
    before = target.read_bytes()
    done = gvcdyn(
        "predict", "--fit", folder / fit, "--cases", folder / "toy_cases.csv", "-o", target,
        cwd=tmp_path,  # not the model's folder, which its data file is relative to
    )  # fmt: skip
    assert_one_line_error(done, name, f"a file this command reads {said}", "another name")
    assert target.read_bytes() == before
    assert not (folder / f"{Path(name).stem}.json").exists()


def test_predict_elsewhere_still_writes(folder, tmp_path) -> None:
    before = {p.name: p.read_bytes() for p in (folder / "c.csv", folder / "revisions.csv")}
    for fit in ("fit.nc", "old_fit.nc"):
        out = tmp_path / f"p_{fit}.csv"
        done = gvcdyn(
            "predict", "--fit", folder / fit, "--cases", folder / "toy_cases.csv", "--point",
            "-o", out, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert out.read_text().startswith("id,")
    assert {p: (folder / p).read_bytes() for p in before} == before
