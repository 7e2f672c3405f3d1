"""``gvcdyn params``: the model's levers and constants as a table, CSV or JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from gvcdyn.cli.common import MODEL_HELP, DataOption, Format, data_files, load, model_path, out


def params(
    model: Annotated[Path, typer.Argument(help=MODEL_HELP)],
    format_: Annotated[
        Format, typer.Option("--format", "-f", help="Output format.")
    ] = Format.table,
    data: DataOption = None,
) -> None:
    """List the model's levers and constants: name, default, range, units, documentation.

    Example:

      gvcdyn params gvc_upgrading

      gvcdyn params path/to/model.mdl --format csv > levers.csv

    A model with data variables (values from another run's output) needs that output,
    as in run and check: --data FILE.
    """
    with data_files(data) as files:
        m = load(model_path(model), files)
    frame = m.parameter_table()
    if format_ is Format.csv:
        frame.to_csv(sys.stdout, index=False)
        return
    if format_ is Format.json:
        records = [
            {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
            for row in frame.astype(object).where(frame.notna(), None).to_dict("records")
        ]
        json.dump(records, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return
    table = Table(title=escape(f"{m.name}: {len(frame)} constants"), title_justify="left")
    for column, justify in [
        ("name", "left"),
        ("default", "right"),
        ("range", "center"),
        ("units", "left"),
        ("doc", "left"),
    ]:
        table.add_column(
            column,
            justify=justify,  # type: ignore[arg-type]
            overflow="fold",
            ratio=3 if column == "doc" else None,
        )
    for row in frame.itertuples(index=False):
        lo = "" if row.min is None or row.min != row.min else _number(row.min)
        hi = "" if row.max is None or row.max != row.max else _number(row.max)
        span = f"[{lo or '-inf'}, {hi or 'inf'}]" if (lo or hi) else ""
        cells = (str(row.name), _number(row.default), span, str(row.units), str(row.doc))
        table.add_row(*(escape(cell) for cell in cells))
    out.print(table)


def _number(value: float) -> str:
    """``value`` as written in a model: every digit it has (4487556, not 4.48756e+06),
    without a trailing ``.0``."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def register(app: typer.Typer) -> None:
    """Add ``params`` to the ``gvcdyn`` command."""
    app.command()(params)
