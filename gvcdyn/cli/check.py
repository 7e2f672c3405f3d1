"""``gvcdyn check``: compare a model's simulation with a Vensim output or with PySD."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from gvcdyn.cli.common import MODEL_HELP, DataOption, data_files, err, model_path, out
from gvcdyn.progress import RichProgress

EXIT_MISMATCH = 1


def check(
    model: Annotated[Path, typer.Argument(help=MODEL_HELP)],
    reference: Annotated[
        Path | None,
        typer.Option(help="Vensim output (.tab or .csv); default: compare with a PySD run."),
    ] = None,
    rtol: Annotated[float, typer.Option(help="Relative tolerance.")] = 1e-3,
    atol: Annotated[float, typer.Option(help="Absolute tolerance.")] = 1e-6,
    data: DataOption = None,
) -> None:
    """Simulate MODEL and compare with a Vensim reference or PySD; exit 0 if they agree, 1 if not.

    Example (the second model's data variables read another run's output):

      gvcdyn check SIR/SIR.mdl --reference SIR/output.csv

      gvcdyn check data_from_other_model/test_data_from_other_model.mdl \\
          --reference data_from_other_model/output.tab \\
          --data data_from_other_model/data.tab

      gvcdyn check gvc_upgrading
    """
    from gvcdyn.checks.replication import check_model

    model = model_path(model)
    with data_files(data) as files, RichProgress(err) as progress:
        comparison = check_model(
            model, reference, rtol=rtol, atol=atol, data_files=files, progress=progress
        )
    against = str(reference) if reference is not None else "PySD (same model, Euler)"
    table = Table(
        title=escape(f"{model.name} vs {against}"), title_justify="left", show_header=False
    )
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("verdict", "[green]PASS[/green]" if comparison.passed else "[red]FAIL[/red]")
    table.add_row(
        "compared",
        f"{comparison.n_compared_columns} columns, {comparison.n_compared_values} values "
        f"(rtol={rtol:g}, atol={atol:g})",
    )
    if comparison.worst_variable is not None:
        kind = "worst excess over tolerance" if not comparison.passed else "largest relative error"
        table.add_row("worst variable", escape(str(comparison.worst_variable)))
        table.add_row("at time", f"{comparison.worst_time:g}")
        table.add_row(
            "simulated / reference",
            f"{comparison.worst_simulated:.6g} / {comparison.worst_reference:.6g}",
        )
        table.add_row(kind, f"{comparison.worst_error:.3g}")
    out.print(table)
    out.print(escape(comparison.summary()), soft_wrap=True)
    raise typer.Exit(0 if comparison.passed else EXIT_MISMATCH)


def register(app: typer.Typer) -> None:
    """Add ``check`` to the ``gvcdyn`` command."""
    app.command()(check)
