"""Reports of a calibration fit or a sensitivity study, for any model: ``gvcdyn report``.

:func:`write_report` reads a netCDF file, tells from its variables and attributes which
kind it is (a fit written by ``gvcdyn calibrate``, a study written by ``gvcdyn
sensitivity``; anything else is refused in one line), builds the report
(:mod:`gvcdyn.reports.calibration`, :mod:`gvcdyn.reports.sensitivity`) and writes it
atomically as Markdown (``.md``) or as one self-contained HTML page (``.html``, images
embedded). Plots are written beside the report as PNG, named after it
(``fit_report_profiles.png``, ``sens_report_indices.png``), so a Markdown report and
its pictures travel together. Without ``out`` the report is ``<input stem>_report.md``
beside the input: a report belongs with the file it reports, and nothing tracked in a
repository is overwritten unless named.

A script that adds a domain's commentary (``calibration/report.py`` for the GVC model)
calls :func:`build_report`, adds its sections to the :class:`~gvcdyn.reports.document.Report`
and writes it with :func:`save`.
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from gvcdyn.atomic import atomic_write
from gvcdyn.errors import OutputWriteError, ReportInputError
from gvcdyn.reports.calibration import calibration_report, is_fit
from gvcdyn.reports.document import Report
from gvcdyn.reports.sensitivity import is_study, sensitivity_report

__all__ = [
    "FORMATS",
    "build_report",
    "default_out",
    "kind_of",
    "open_input",
    "save",
    "write_report",
]

#: report formats by extension
FORMATS = {".md": "markdown", ".html": "html", ".htm": "html"}


def check_out(path: str | Path) -> str:
    """The format ``path``'s extension names; ``OutputWriteError`` before any work if none,
    or if a parent folder of it is a file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise OutputWriteError(
            f"cannot write a report to {path}: the extension {suffix or '(none)'!r} is not one "
            f"of {' '.join(sorted(FORMATS))}; name the file e.g. report.md or report.html"
        )
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            raise OutputWriteError(
                f"cannot write {path}: {parent} is a file, not a folder; give a path in a folder"
            )
    return FORMATS[suffix]


def default_out(source: str | Path) -> Path:
    """``<input stem>_report.md`` beside the input."""
    source = Path(source)
    return source.with_name(f"{source.stem}_report.md")


def open_input(source: str | Path) -> xr.Dataset:
    """The netCDF file ``source``, loaded; ``ReportInputError`` if it is missing or unreadable."""
    source = Path(source)
    if not source.is_file():
        raise ReportInputError(
            f"{source}: file not found; give a fit written by 'gvcdyn calibrate --out' or a "
            "study written by 'gvcdyn sensitivity --out'"
        )
    try:
        return xr.load_dataset(source)
    except (OSError, ValueError) as exc:
        raise ReportInputError(
            f"{source} is not a netCDF file gvcdyn can read; give a fit written by "
            "'gvcdyn calibrate --out' or a study written by 'gvcdyn sensitivity --out'"
        ) from exc


def kind_of(ds: xr.Dataset, source: str | Path = "the file") -> str:
    """``"calibration"`` or ``"sensitivity"``; ``ReportInputError`` for anything else."""
    if is_fit(ds):
        return "calibration"
    if is_study(ds):
        return "sensitivity"
    names = ", ".join(sorted(map(str, ds.data_vars))[:6]) or "none"
    raise ReportInputError(
        f"{source} is neither a calibration fit (gvcdyn calibrate: estimate, probability, "
        f"observed) nor a sensitivity study (gvcdyn sensitivity: S1/ST or mu/mu_star over "
        f"parameter, output, time); its variables: {names}"
    )


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
    written beside it. ``out``: ``.md`` or ``.html`` (default :func:`default_out`)."""
    out = Path(out) if out is not None else default_out(source)
    check_out(out)
    ds = open_input(source)
    report = build_report(ds, out, source=source, generated_by=generated_by)
    return save(report, out), list(report.files)
