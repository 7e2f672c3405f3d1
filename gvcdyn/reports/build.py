"""Build a fit's or a study's report and write it: what ``gvcdyn report`` runs.

:func:`write_report` reads the netCDF file, tells its kind from its variables and
attributes (:func:`kind_of`), builds the report (:mod:`gvcdyn.reports.calibration`,
:mod:`gvcdyn.reports.sensitivity`; plots are written beside the report then) and writes it
atomically (:func:`save`) in the format its name says (:mod:`gvcdyn.reports`).
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from gvcdyn.errors import ReportInputError
from gvcdyn.io.atomic import atomic_write
from gvcdyn.io.results_io import unreadable_netcdf
from gvcdyn.reports import calibration, check_out, check_source, default_out, sensitivity
from gvcdyn.reports.calibration import calibration_report, is_fit
from gvcdyn.reports.document import Report
from gvcdyn.reports.sensitivity import is_study, sensitivity_report

__all__ = ["build_report", "kind_of", "open_input", "save", "write_report"]


def open_input(source: str | Path) -> xr.Dataset:
    """The netCDF file ``source``, loaded; ``ReportInputError`` if it is missing or unreadable."""
    source = check_source(source)
    try:
        return xr.load_dataset(source)
    except Exception as exc:
        if not unreadable_netcdf(exc):
            raise
        raise ReportInputError(
            f"{source} is not a netCDF file gvcdyn can read; give a fit written by "
            "'gvcdyn calibrate --out' or a study written by 'gvcdyn sensitivity --out'"
        ) from exc


def kind_of(ds: xr.Dataset, source: str | Path = "the file") -> str:
    """``"calibration"`` or ``"sensitivity"``; ``ReportInputError`` for anything else."""
    if is_fit(ds):
        return _whole(ds, source, "calibration")
    if is_study(ds):
        return _whole(ds, source, "sensitivity")
    names = ", ".join(sorted(map(str, ds.data_vars))[:6]) or "none"
    raise ReportInputError(
        f"{source} is neither a calibration fit (gvcdyn calibrate: estimate, probability, "
        f"observed) nor a sensitivity study (gvcdyn sensitivity: S1/ST or mu/mu_star over "
        f"parameter, output, time); its variables: {names}"
    )


#: each kind's reader of the parts its report needs, and the command that writes it
_WRITERS = {
    "calibration": (calibration.missing_parts, "a calibration fit", "gvcdyn calibrate"),
    "sensitivity": (sensitivity.missing_parts, "a sensitivity study", "gvcdyn sensitivity"),
}


def _whole(ds: xr.Dataset, source: str | Path, kind: str) -> str:
    """``kind``, when ``ds`` holds every part its report reads; ``ReportInputError``
    naming the parts it lacks otherwise (a damaged or edited file)."""
    missing_parts, what, command = _WRITERS[kind]
    missing = missing_parts(ds)
    if missing:
        raise ReportInputError(
            f"{source} looks like {what} but lacks {', '.join(missing)} (every file "
            f"'{command} --out' writes has them): it was edited or damaged; write it again"
        )
    return kind


def build_report(
    ds: xr.Dataset, out: str | Path, *, source: str | Path = "", generated_by: str | None = None
) -> Report:
    """The report of ``ds`` (a fit or a study) for the file ``out``; plots are written
    beside ``out`` now, named after it."""
    out = Path(out)
    kind = kind_of(ds, source or "the dataset")
    generated_by = generated_by or f"gvcdyn report {source}"
    make = calibration_report if kind == "calibration" else sensitivity_report
    out.parent.mkdir(parents=True, exist_ok=True)
    return make(ds, out.parent, out.stem, generated_by=generated_by)


def save(report: Report, out: str | Path) -> Path:
    """Write ``report`` to ``out`` atomically, in the format its extension names."""
    out = Path(out)
    kind = check_out(out)
    text = report.markdown() if kind == "markdown" else report.html(out.parent)
    return atomic_write(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_report(
    source: str | Path, out: str | Path | None = None, *, generated_by: str | None = None
) -> tuple[Path, list[Path]]:
    """Report on the fit or study ``source``; returns the report's path and the plots
    written beside it. ``out``: ``.md`` or ``.html`` (default: ``<stem>_report.md``
    beside ``source``)."""
    out = Path(out) if out is not None else default_out(source)
    check_out(out)
    ds = open_input(source)
    report = build_report(ds, out, source=source, generated_by=generated_by)
    return save(report, out), list(report.files)
