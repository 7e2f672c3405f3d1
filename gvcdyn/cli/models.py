"""``gvcdyn models``: the models shipped with gvcdyn, their scenarios and calibration configs.

Every name it lists is accepted where a command takes a file (``gvcdyn/bundled``).
"""

from __future__ import annotations

import tomllib

import typer
from rich.markup import escape
from rich.table import Table

from gvcdyn.cli.common import out


def _description(path) -> str:
    try:
        return str(tomllib.loads(path.read_text(encoding="utf-8")).get("description", ""))
    except (OSError, tomllib.TOMLDecodeError):
        return ""


def models() -> None:
    """List the models shipped with gvcdyn, their scenarios and calibration configs.

    Each name works wherever a command takes a model, a scenario or a config file (a file
    that exists under that name always wins):

      gvcdyn params gvc_upgrading

      gvcdyn run gvc_upgrading -s captive -s no-shock

      gvcdyn calibrate gvc_upgrading --out results/fit.nc
    """
    from gvcdyn.bundled import shipped_models, shipped_root

    root = shipped_root()
    for model in shipped_models():
        where = model.path.relative_to(root)
        table = Table(
            title=escape(f"{model.name}  ({where}, in {root})"),
            title_justify="left",
        )
        table.add_column("scenario", style="bold", no_wrap=True)
        table.add_column("description", overflow="fold")
        for scenario in model.scenarios:
            table.add_row(escape(scenario.stem), escape(_description(scenario)))
        out.print(table)
        for k, config in enumerate(model.calibrations):
            where = config.relative_to(root)
            # the model's name runs its first config only: the others by their file
            command = f"gvcdyn calibrate {model.name if k == 0 else where.as_posix()}"
            out.print(escape(f"calibration: {where} ({command})"))


def register(app: typer.Typer) -> None:
    """Add ``models`` to the ``gvcdyn`` command."""
    app.command()(models)
