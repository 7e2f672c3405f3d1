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

This module holds only the output rules (formats, default name, the checks made before
any work), so the command refuses a bad name without loading xarray or matplotlib; the
building and writing is :mod:`gvcdyn.reports.build`. A script that adds a domain's
commentary (``calibration/report.py`` for the GVC model) calls ``build.build_report``,
adds its sections to the :class:`~gvcdyn.reports.document.Report` and writes it with
``build.save``.
"""

from __future__ import annotations

from pathlib import Path

from gvcdyn.errors import OutputWriteError, ReportInputError

__all__ = ["FORMATS", "check_out", "check_source", "default_out"]

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


def check_source(source: str | Path) -> Path:
    """``source`` if it is a file; ``ReportInputError`` saying what to give if not."""
    source = Path(source)
    if not source.is_file():
        missing = "is a folder, not a file" if source.is_dir() else "file not found"
        raise ReportInputError(
            f"{source}: {missing}; give a fit written by 'gvcdyn calibrate --out' or a "
            "study written by 'gvcdyn sensitivity --out'"
        )
    return source


def default_out(source: str | Path) -> Path:
    """``<input stem>_report.md`` beside the input."""
    source = Path(source)
    return source.with_name(f"{source.stem}_report.md")
