"""``gvcdyn report`` on a fit or a study that lacks a part its report reads (a file edited
with another tool, or damaged): refused in one line naming the file and the part,
instead of a KeyError traceback from deep in the report ("No variable named
'bound_low'", "KeyError: '0'" for a fit without its outcome coordinate)."""

from __future__ import annotations

from pathlib import Path

import pytest
import xarray as xr
from console import assert_one_line_error, gvcdyn
from toy_calibration import quick_toy_config

from gvcdyn.errors import ReportInputError
from gvcdyn.io.results_io import write_netcdf
from gvcdyn.reports.build import write_report

ISHIGAMI = Path(__file__).parent / "models" / "ishigami.mdl"


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, xr.Dataset]:
    """A quick cross-validated toy fit and a Morris and a Sobol' study of Ishigami."""
    import gvcdyn
    from gvcdyn.calibrate.study import calibrate
    from gvcdyn.sensitivity import study as sens

    config = quick_toy_config(maxiter=2, cv_folds=2, cv_repeats=1, cv_loo=False)
    fit = calibrate(config, crossval=True, command_line=["gvcdyn", "calibrate", "toy"])
    study = sens.prepare(gvcdyn.load(ISHIGAMI), ["Ishigami"], at="2")
    argv = ["gvcdyn", "sensitivity"]
    return {
        "fit": fit,
        "morris": sens.morris(study, 4, seed=3, command_line=argv),
        "sobol": sens.sobol(study, 16, seed=3, second_order=True, command_line=argv),
    }


@pytest.mark.parametrize(
    ("source", "part"),
    [
        ("fit", "bound_low"),
        ("fit", "start_seed"),
        ("fit", "quantity"),
        ("fit", "outcome"),
        ("fit", "cv_n_cases"),
        ("fit", "cv_metric"),
        ("morris", "sigma"),
        ("morris", "output"),
        ("sobol", "S1_conf"),
        ("sobol", "S2_conf"),
    ],
)
def test_a_file_without_a_part_is_refused_naming_it(sources, tmp_path, source, part) -> None:
    path = write_netcdf(sources[source].drop_vars(part), tmp_path / "x.nc")
    with pytest.raises(ReportInputError, match=rf"x\.nc looks like .* but lacks {part} "):
        write_report(path, tmp_path / "r.md")
    assert not (tmp_path / "r.md").exists()


def test_the_whole_files_are_reported(sources, tmp_path) -> None:
    for name, ds in sources.items():
        path = write_netcdf(ds, tmp_path / f"{name}.nc")
        assert write_report(path, tmp_path / f"{name}.md")[0].is_file()


def test_the_command_says_it_in_one_line(sources, tmp_path) -> None:
    path = write_netcdf(sources["fit"].drop_vars("bound_high"), tmp_path / "fit.nc")
    done = gvcdyn("report", path)
    assert_one_line_error(done, str(path), "lacks bound_high", "edited or damaged")
