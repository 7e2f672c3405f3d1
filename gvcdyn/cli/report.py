"""``gvcdyn report``: a calibration fit's or a sensitivity study's report, for any model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from gvcdyn.cli.common import out, status, writing


def report(
    source: Annotated[
        Path,
        typer.Argument(
            help="A fit written by 'gvcdyn calibrate --out' or a study written by "
            "'gvcdyn sensitivity --out' (.nc).",
            show_default=False,
        ),
    ],
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Report to write: .md (Markdown) or .html (one self-contained page). "
            "Default: <SOURCE stem>_report.md beside SOURCE.",
        ),
    ] = None,
) -> None:
    """Write the report of a calibration fit or a sensitivity study, with its plots.

    A fit: estimates with profile, bootstrap and posterior intervals (and the sampler's
    convergence verdict), identifiability, the reality checks' margins, cross-validation
    against every baseline the fit holds, observed vs predicted per case, and the profile
    plot. A study: the inputs and their ranges, then per output and time every input's
    indices with their confidence intervals, and the indices figure. Plots are PNG files
    beside the report, named after it; an .html report embeds them too.

    Examples:

      gvcdyn report results/fit.nc                  # writes results/fit_report.md

      gvcdyn report results/sens.nc --out results/sens.html
    """
    from gvcdyn.reports import check_out, check_source, default_out

    target = out_path if out_path is not None else default_out(source)
    check_out(target)  # a bad name or a missing file is refused before xarray loads
    check_source(source)
    with status(f"reporting on {source}"), writing(target):
        from gvcdyn.reports.build import write_report

        written, plots = write_report(source, target)
    out.print(escape(f"wrote {written}" + "".join(f", {p}" for p in plots)), soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``report`` to the ``gvcdyn`` command."""
    app.command()(report)
