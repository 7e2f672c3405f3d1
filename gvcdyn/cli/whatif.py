"""``gvcdyn run`` and ``gvcdyn demo``: what-if runs, scenario comparisons and sweeps."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from gvcdyn.cli.common import Method, err, load, out, run_batch, writing

SUMMARY_ROWS = 30


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _print_summary(ds: Any, variables: Sequence[str], title: str) -> None:
    from gvcdyn.results_io import final_values, units_of

    frame = final_values(ds, variables)
    table = Table(title=title, title_justify="left")
    table.add_column("scenario", style="bold")
    for column in frame.columns:
        units = units_of(ds, column)
        table.add_column(f"{column}\n[{units}]" if units else column, justify="right")
    status = ds["status"].values if "status" in ds else None
    shown = frame.iloc[:SUMMARY_ROWS]
    for i, (label, row) in enumerate(shown.iterrows()):
        mark = "" if status is None or status[i] == 0 else " (!)"
        table.add_row(f"{label}{mark}", *(_fmt(v) for v in row.to_numpy()))
    out.print(table)
    if len(frame) > SUMMARY_ROWS:
        out.print(f"... and {len(frame) - SUMMARY_ROWS} more runs (all are in the results file)")


def _report_status(ds: Any, model: Any) -> None:
    if "status" not in ds:
        return
    labels = ds["scenario"].values if "scenario" in ds.coords else ds["run"].values
    bad = [(str(labels[i]), int(code)) for i, code in enumerate(ds["status"].values) if code]
    for label, code in bad[:10]:
        err.print(f"warning: run {label!r}: {model.status_message(code)}")
    if len(bad) > 10:
        err.print(f"warning: {len(bad) - 10} more runs did not finish cleanly (see 'status')")


def _split_vars(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [v.strip() for v in text.split(",") if v.strip()]
    return names or None


def _what_if(
    model_path: Path,
    scenario_paths: Sequence[Path],
    sets: Sequence[str],
    sweeps: Sequence[str],
    *,
    method: str,
    final_time: float | None,
    time_step: float | None,
    variables: list[str] | None,
    allow_out_of_range: bool,
    out_path: Path | None,
    plot_path: Path | None,
    title: str,
) -> Any:
    """The shared body of ``run`` and ``demo``: validate, run one batch, report, write."""
    from gvcdyn.results_io import annotate, default_outcomes, write_netcdf
    from gvcdyn.scenarios import build_batch, read_scenario

    scenarios = [read_scenario(p) for p in scenario_paths]
    model = load(model_path)
    batch = build_batch(model, scenarios, sets, sweeps, allow_out_of_range=allow_out_of_range)
    if variables is not None:
        for name in variables:  # fail before compiling, with the close names
            model.output_columns([name])
    ds = run_batch(
        model,
        batch.params,
        method=method,
        final_time=final_time,
        time_step=time_step,
        variables=variables,
        allow_out_of_range=allow_out_of_range,
    )
    ds = annotate(ds, batch, model, allow_out_of_range=allow_out_of_range)
    shown = variables if variables is not None else default_outcomes(ds)
    final = float(ds["time"].values[-1]) if ds.sizes["time"] else float("nan")
    _print_summary(ds, shown, f"{title}: final values at time {final:g}")
    _report_status(ds, model)
    if out_path is not None:
        with writing(out_path):
            write_netcdf(ds, out_path)
        out.print(f"results: {out_path}")
    if plot_path is not None:
        from gvcdyn.plotting import plot_runs

        with writing(plot_path):
            plot_runs(ds, shown, plot_path, title=title)
        out.print(f"plot:    {plot_path}")
    return ds


def run(
    model: Annotated[Path, typer.Argument(help="Vensim .mdl model file.")],
    scenario: Annotated[
        list[Path] | None,
        typer.Option(
            "--scenario", "-s", help="Scenario TOML file; repeat to run several side by side."
        ),
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="NAME=VALUE for every run; repeatable.")
    ] = None,
    sweep: Annotated[
        list[str] | None,
        typer.Option("--sweep", help="NAME=START:STOP:N grid; repeat for a cartesian product."),
    ] = None,
    method: Annotated[Method, typer.Option(help="Integration method.")] = Method.euler,
    final_time: Annotated[float | None, typer.Option(help="Override FINAL TIME.")] = None,
    time_step: Annotated[float | None, typer.Option(help="Override TIME STEP.")] = None,
    vars_: Annotated[
        str | None,
        typer.Option(
            "--vars",
            help="Comma-separated variables to save, summarise and plot "
            "(default: all saved, main outcomes shown).",
        ),
    ] = None,
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="Write the results as netCDF here (e.g. results/NAME.nc)."),
    ] = None,
    plot_path: Annotated[
        Path | None,
        typer.Option("--plot", help="Write a PNG of the shown variables over time here."),
    ] = None,
    allow_out_of_range: Annotated[
        bool,
        typer.Option(
            "--allow-out-of-range", help="Accept lever values outside their documented range."
        ),
    ] = False,
) -> None:
    """Run one what-if, several scenarios side by side, or a grid sweep, in ONE batch.

    Examples (in models/: scenarios side by side; one lever set, files written; a
    5 x 3 grid sweep):

      gvcdyn run gvc_upgrading.mdl -s scenarios/captive.toml -s scenarios/no-shock.toml

      gvcdyn run gvc_upgrading.mdl --set "Shock Size=0.5" --out r.nc --plot r.png

      gvcdyn run gvc_upgrading.mdl --sweep "Buyer Support=0:1:5" --sweep "Shock Size=0:0.8:3"
    """
    _what_if(
        model,
        scenario or [],
        set_ or [],
        sweep or [],
        method=method.value,
        final_time=final_time,
        time_step=time_step,
        variables=_split_vars(vars_),
        allow_out_of_range=allow_out_of_range,
        out_path=out_path,
        plot_path=plot_path,
        title=model.stem,
    )


def bundled_gvc() -> tuple[Path, list[Path]]:
    """The GVC model and its scenario files shipped with the source tree.

    They are found relative to the installed package (``<repo>/models`` beside
    ``<repo>/gvcdyn``), which is where ``pip install -e .`` leaves them, so ``demo``
    works from any directory.
    """
    from gvcdyn.errors import ModelFileNotFoundError
    from gvcdyn.scenarios import scenario_files

    root = Path(__file__).resolve().parents[2] / "models"
    model = root / "gvc_upgrading.mdl"
    if not model.is_file():
        raise ModelFileNotFoundError(
            f"the bundled GVC model is not at {model}; 'gvcdyn demo' needs the source tree "
            "(install with: pip install -e . from a clone of the repository)"
        )
    scenarios = scenario_files(root / "scenarios")
    if not scenarios:
        raise ModelFileNotFoundError(f"no scenario files (*.toml) in {root / 'scenarios'}")
    return model, scenarios


def demo(
    out_dir: Annotated[Path, typer.Option(help="Folder for demo.nc and demo.png.")] = Path(
        "results"
    ),
    method: Annotated[Method, typer.Option(help="Integration method.")] = Method.euler,
) -> None:
    """Run the GVC model's standard scenarios; write results/demo.nc and results/demo.png.

    Example (from any directory, no arguments needed):

      gvcdyn demo
    """
    model, scenarios = bundled_gvc()
    out.print(f"GVC upgrading model: {len(scenarios)} scenarios from {scenarios[0].parent}")
    _what_if(
        model,
        scenarios,
        [],
        [],
        method=method.value,
        final_time=None,
        time_step=None,
        variables=None,
        allow_out_of_range=False,
        out_path=out_dir / "demo.nc",
        plot_path=out_dir / "demo.png",
        title="GVC upgrading scenarios",
    )
    out.print(
        'open the results with: python -c "import xarray; '
        f"print(xarray.open_dataset('{out_dir / 'demo.nc'}'))\""
    )


def register(app: typer.Typer) -> None:
    """Add ``run`` and ``demo`` to the ``gvcdyn`` command."""
    app.command()(run)
    app.command()(demo)
