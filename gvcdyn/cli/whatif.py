"""``gvcdyn run`` and ``gvcdyn demo``: what-if runs, scenario comparisons and sweeps.

The commands parse, check that the output files can be written (before a long run),
call ``gvcdyn.whatif.run_what_if`` and print its summary; the plot and the netCDF file
are written by ``gvcdyn.plotting`` and ``gvcdyn.results_io``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from gvcdyn.cli.common import Method, err, out, status, writing

SUMMARY_ROWS = 30


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _column_groups(widths: Sequence[int], room: int) -> list[list[int]]:
    """Split columns (by index) into consecutive groups whose widths fit in ``room``."""
    groups: list[list[int]] = [[]]
    used = 0
    for i, width in enumerate(widths):
        if groups[-1] and used + width + 3 > room:
            groups.append([])
            used = 0
        groups[-1].append(i)
        used += width + 3
    return groups


def _print_summary(ds: Any, variables: Sequence[str], title: str) -> None:
    """Final values per run. Labels fold (never cut) so runs stay distinguishable, and
    outcome columns that do not fit the terminal go to a second table instead of off-screen.
    """
    from gvcdyn.results_io import final_values, units_of

    frame = final_values(ds, variables)
    status = ds["status"].values if "status" in ds else None
    shown = frame.iloc[:SUMMARY_ROWS]
    labels = [
        f"{label}{'' if status is None or status[i] == 0 else ' (!)'}"
        for i, label in enumerate(shown.index)
    ]
    cells = [[_fmt(v) for v in shown[column].to_numpy()] for column in frame.columns]
    headers = []
    for column in frame.columns:
        units = units_of(ds, column)
        headers.append(f"{column}\n[{units}]" if units else column)
    narrow = [  # a header wrapped at its words
        max([len(word) for word in header.split()] + [len(c) for c in column_cells])
        for header, column_cells in zip(headers, cells, strict=True)
    ]
    wide = [  # a header on as few lines as it was written
        max([len(line) for line in header.splitlines()] + [len(c) for c in column_cells])
        for header, column_cells in zip(headers, cells, strict=True)
    ]
    label_width = min(max([len(x) for x in labels] + [8]), max(14, out.width // 3))
    room = out.width - label_width - 4
    for k, group in enumerate(_column_groups(narrow, room)):
        fits = sum(wide[i] + 3 for i in group) <= room
        table = Table(title=escape(title) if k == 0 else None, title_justify="left")
        table.add_column("scenario", style="bold", overflow="fold", width=label_width)
        for i in group:
            width = wide[i] if fits else narrow[i]
            table.add_column(escape(headers[i]), justify="right", width=width)
        for r, label in enumerate(labels):
            table.add_row(escape(label), *(cells[i][r] for i in group))
        out.print(table)
    if len(frame) > SUMMARY_ROWS:
        out.print(f"... and {len(frame) - SUMMARY_ROWS} more runs (all are in the results file)")


def _report_status(ds: Any) -> None:
    from gvcdyn.status import describe

    if "status" not in ds:
        return
    labels = ds["scenario"].values if "scenario" in ds.coords else ds["run"].values
    bad = [(str(labels[i]), int(code)) for i, code in enumerate(ds["status"].values) if code]
    for label, code in bad[:10]:
        err.print(escape(f"warning: run {label!r}: {describe(code)}"))
    if len(bad) > 10:
        err.print(f"warning: {len(bad) - 10} more runs did not finish cleanly (see 'status')")


def _split_vars(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [v.strip() for v in text.split(",") if v.strip()]
    return names or None


def _check_outputs(out_path: Path | None, plot_path: Path | None) -> None:
    """Fail before a long run (and before printing anything) if an output cannot be written."""
    from gvcdyn.plotting import check_plot_path
    from gvcdyn.results_io import check_writable

    if out_path is not None:
        check_writable(out_path)
    if plot_path is not None:
        check_plot_path(plot_path)
        check_writable(plot_path)


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
) -> None:
    """The shared body of ``run`` and ``demo``: check outputs, run, print, write."""
    from gvcdyn.plotting import plot_runs
    from gvcdyn.results_io import write_netcdf
    from gvcdyn.whatif import describe_request, run_what_if, shown_variables

    _check_outputs(out_path, plot_path)
    ds = run_what_if(
        model_path,
        scenario_paths,
        sets,
        sweeps,
        method=method,
        final_time=final_time,
        time_step=time_step,
        variables=variables,
        allow_out_of_range=allow_out_of_range,
        progress=status,
    )
    shown = shown_variables(ds, variables)
    title = describe_request(ds, title)
    final = float(ds["time"].values[-1]) if ds.sizes["time"] else float("nan")
    _print_summary(ds, shown, f"{title}: final values at time {final:g}")
    _report_status(ds)
    if out_path is not None:
        with writing(out_path):
            write_netcdf(ds, out_path)
        out.print(f"results: {escape(str(out_path))}")
    if plot_path is not None:
        with writing(plot_path):
            plot_runs(ds, shown, plot_path, title=title)
        out.print(f"plot:    {escape(str(plot_path))}")


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
        typer.Option(
            "--plot", help="Write a picture of the shown variables over time (.png .jpg .pdf .svg)."
        ),
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
    from gvcdyn.bundled import gvc_model

    model, scenarios = gvc_model()
    _check_outputs(out_dir / "demo.nc", out_dir / "demo.png")
    out.print(
        f"GVC upgrading model: {len(scenarios)} scenarios from {escape(str(scenarios[0].parent))}"
    )
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
    opener = f"print(xarray.open_dataset({str(out_dir / 'demo.nc')!r}))"
    out.print(escape(f'open the results with: python -c "import xarray; {opener}"'))


def register(app: typer.Typer) -> None:
    """Add ``run`` and ``demo`` to the ``gvcdyn`` command."""
    app.command()(run)
    app.command()(demo)
