"""``gvcdyn run`` and ``gvcdyn demo``: what-if runs, scenario comparisons and sweeps.

The commands parse, check that the output files can be written (before a long run),
call ``gvcdyn.whatif`` and print its summary; the plot and the netCDF file are written by
``gvcdyn.io.plotting`` and ``gvcdyn.io.results_io``. A small request runs as one batch; a large
sweep, or one given ``--workers``/``--scheduler``/``--resume``, runs in chunks through
``gvcdyn.execute`` with a progress bar, checkpointed next to ``--out``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from gvcdyn.cli.common import (
    MODEL_HELP,
    SCENARIO_HELP,
    DataOption,
    IntegrationOption,
    OldMethodOption,
    check_output,
    data_files,
    deprecated,
    err,
    exit_on_interrupt,
    integration,
    model_data_files,
    model_path,
    out,
    refuse_output_over_input,
    save_plot,
    save_results,
    scenario_paths,
    split_names,
)
from gvcdyn.errors import OutputWriteError, SpecSyntaxError
from gvcdyn.execute import (
    Execution,
    checkpoint_dir,
    refuse_unfinished_job,
)
from gvcdyn.execute.options import (
    ResumeOption,
    SchedulerOption,
    WorkersOption,
    executor_from_options,
    is_large_job,
    resume_command,
)
from gvcdyn.io.output_files import PLOT_FORMATS, RUN_FORMATS, check_parents, check_plot_path
from gvcdyn.progress import RichProgress

SUMMARY_ROWS = 30
#: --plot draws one line per run: a streamed sweep larger than this is not plotted
PLOT_MAX_RUNS = 5_000


@dataclass(frozen=True)
class Executing:
    """The ``--workers``/``--scheduler``/``--resume`` of a command (none for ``demo``)."""

    workers: int | None = None
    scheduler: str | None = None
    resume: bool = False
    resumable: bool = False  # the command has --resume (``run``; not ``demo``)

    def resume_command(self) -> str:
        """What continues an unfinished job: this command line plus --resume."""
        if self.resumable:
            return resume_command()
        return "the 'gvcdyn run' command that started it, with --resume"

    def chunked(self, request: Any, out_path: Path | None) -> bool:
        """Whether the runs go through the executors: when asked to, when the job is
        large (the executors' rule) or its results too big for one batch in memory, and
        when an interrupted job waits next to ``--out`` (which then says to resume it)."""
        from gvcdyn.whatif import chunks  # its STREAM_BYTES as it is now (tests lower it)

        return (
            self.workers is not None
            or self.scheduler is not None
            or self.resume
            or is_large_job(request.n_runs)
            or request.result_bytes > chunks.STREAM_BYTES
            or (out_path is not None and checkpoint_dir(out_path).exists())
        )


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
    from gvcdyn.io.results_io import final_values, units_of

    n_runs = ds.sizes["run"]
    ds = ds.isel(run=slice(0, SUMMARY_ROWS))  # a streamed sweep stays on disk
    frame = final_values(ds, variables)
    status = ds["status"].values if "status" in ds else None
    labels = [
        f"{label}{'' if status is None or status[i] == 0 else ' (!)'}"
        for i, label in enumerate(frame.index)
    ]
    cells = [[_fmt(v) for v in frame[column].to_numpy()] for column in frame.columns]
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
    if n_runs > SUMMARY_ROWS:
        out.print(f"... and {n_runs - SUMMARY_ROWS} more runs (all are in the results file)")


def _report_status(ds: Any) -> None:
    from gvcdyn.status import describe

    if "status" not in ds:
        return
    labels = ds["scenario"] if "scenario" in ds.coords else ds["run"]
    codes = ds["status"].values
    bad = [i for i, code in enumerate(codes) if code]
    for i in bad[:10]:  # only these labels read: a streamed sweep's stay on disk
        label = str(labels[i].item())
        err.print(escape(f"warning: run {label!r}: {describe(int(codes[i]))}"))
    if len(bad) > 10:
        err.print(f"warning: {len(bad) - 10} more runs did not finish cleanly (see 'status')")


def _check_outputs(out_path: Path | None, plot_path: Path | None) -> None:
    """Fail before a long run (and before printing anything) if an output cannot be written."""
    if out_path is not None:
        check_output(out_path, RUN_FORMATS, what="results", example="results/run.nc")
    if plot_path is not None:
        check_plot_path(plot_path)
        check_parents(plot_path)
    for path in (out_path, plot_path):
        if path is not None:
            from gvcdyn.io.results_io import check_writable

            check_writable(path)


def _warn_unread_data(given: Sequence[Path] | None, read: Sequence[Path]) -> None:
    """Say so when a ``--data`` file fed nothing: the model has no data variable it
    holds (or an earlier --data file had them all), so the run is what it would be
    without it, which the user who passed it does not expect."""
    used = {path.resolve() for path in read}
    for path in given or []:
        if path.resolve() not in used:
            err.print(
                escape(
                    f"warning: --data {path}: the model read nothing from it (none of its "
                    "data variables is in it, or an earlier --data file holds them); the "
                    "run does not depend on it"
                ),
                soft_wrap=True,
            )


def _write_results(ds: Any, out_path: Path) -> None:
    """The results in the format ``out_path``'s extension names (``RUN_FORMATS``)."""
    if RUN_FORMATS[out_path.suffix.lower()] == "netcdf":
        from gvcdyn.io.results_io import write_netcdf

        write_netcdf(ds, out_path)
    else:
        from gvcdyn.io.run_tables import write_run_table

        write_run_table(ds, out_path)


def _what_if(
    model_path: Path,
    scenario_paths: Sequence[Path],
    sets: Sequence[str],
    sweeps: Sequence[str],
    *,
    method: str | None,
    final_time: float | None,
    time_step: float | None,
    variables: list[str] | None,
    allow_out_of_range: bool,
    out_path: Path | None,
    plot_path: Path | None,
    title: str,
    data: list[Path] | None = None,
    executing: Executing = Executing(),
) -> None:
    """The shared body of ``run`` and ``demo``: check outputs, run, print, write."""
    _check_outputs(out_path, plot_path)  # before any heavy import: a mistake costs nothing
    refuse_output_over_input(
        {"--out": out_path, "--plot": plot_path},
        {"--data": data, "--scenario": scenario_paths, "the model": model_path},
    )
    if executing.resume and out_path is None:
        raise SpecSyntaxError("--resume continues a sweep saved with --out; give --out")
    from gvcdyn.backend.lever_names import refuse_unknown
    from gvcdyn.whatif.scenarios import lever_keys, read_scenario

    # a lever the model file is known not to have: refused before parsing it (and before
    # xarray and numba are imported), with the message the full check gives
    scenarios = [read_scenario(p) for p in scenario_paths]
    refuse_unknown(model_path, lever_keys(scenarios, sets, sweeps))
    from gvcdyn.whatif import prepare_what_if, run_batch, shown_variables

    if out_path is not None:  # before reading the model and starting workers
        refuse_unfinished_job(
            out_path, resume=executing.resume, resume_command=executing.resume_command()
        )
    with data_files(data) as files, RichProgress(err) as progress:
        request = prepare_what_if(
            model_path,
            scenarios,  # read once, above
            sets,
            sweeps,
            method=method,
            final_time=final_time,
            time_step=time_step,
            variables=variables,
            allow_out_of_range=allow_out_of_range,
            data_files=files,
            progress=progress,
        )
    # the files the model itself reads (GET DIRECT CONSTANTS('c.csv', ...)) are known now
    refuse_output_over_input(
        {"--out": out_path, "--plot": plot_path},
        {"the model's data files": model_data_files(request.model)},
    )
    _warn_unread_data(data, model_data_files(request.model))
    written = False
    if executing.chunked(request, out_path):
        ds, written = _run_in_chunks(request, executing, out_path, plot_path)
    else:
        with exit_on_interrupt("interrupted: no results written"), RichProgress(err) as progress:
            ds = run_batch(request, progress=progress)
    # the model's spelling (--vars stock: the results hold 'Stock')
    chosen = list(request.variables) if request.variables is not None else None
    shown = _streamed_names(ds, chosen) if written else shown_variables(ds, chosen)
    title = request.title(title)
    final = float(ds["time"].values[-1]) if ds.sizes["time"] else float("nan")
    _print_summary(ds, shown, f"{title}: final values at time {final:g}")
    _report_status(ds)
    if out_path is not None:
        save_results(out_path, None if written else lambda: _write_results(ds, out_path))
    if plot_path is not None:
        from gvcdyn.io.plotting import plot_runs

        save_plot(plot_path, lambda: plot_runs(ds, shown, plot_path, title=title))


def _run_in_chunks(
    request: Any, executing: Executing, out_path: Path | None, plot_path: Path | None
) -> tuple[Any, bool]:
    """The runs through the executors with a progress bar; ``(dataset, streamed to out)``.

    Ctrl-C keeps the finished chunks (with --out) and prints the command that resumes.
    """
    from gvcdyn.whatif import run_in_chunks, streams

    stream = streams(request, out_path)
    if stream and out_path is not None and RUN_FORMATS[out_path.suffix.lower()] != "netcdf":
        raise OutputWriteError(
            f"the {request.n_runs:,} runs make {request.result_bytes / 2**30:.1f} GiB of "
            f"results, streamed to --out chunk by chunk, which only netCDF can take: "
            f"give --out {out_path.with_suffix('.nc')} (or save fewer variables with --vars)"
        )
    if stream and plot_path is not None and request.n_runs > PLOT_MAX_RUNS:
        raise OutputWriteError(
            f"--plot draws one line per run and this sweep has {request.n_runs:,} runs "
            f"(at most {PLOT_MAX_RUNS:,}); drop --plot and plot a selection from --out"
        )
    with (
        exit_on_interrupt("interrupted: no results written"),
        executor_from_options(
            executing.workers, executing.scheduler, n_runs=request.n_runs
        ) as executor,
        RichProgress(err) as progress,
    ):
        execution = Execution(
            executor,
            out_path,
            resume=executing.resume,
            resume_command=executing.resume_command(),
            keep_checkpoint=True,  # until the results are written (_what_if)
        )
        ds = run_in_chunks(request, execution, stream=stream, progress=progress)
    return ds, stream


def _streamed_names(ds: Any, variables: list[str] | None) -> list[str]:
    """The shown variables in a streamed file, where each cell is a variable of its own."""
    from gvcdyn.whatif import shown_variables

    if variables is None:
        return shown_variables(ds, None)
    names = [str(n) for n in ds.data_vars]
    return [n for v in variables for n in names if n == v or n.startswith(f"{v}[")]


def run(
    model: Annotated[Path, typer.Argument(help=MODEL_HELP)],
    scenario: Annotated[
        list[Path] | None,
        typer.Option(
            "--scenario",
            "-s",
            metavar="FILE|NAME",
            help=f"{SCENARIO_HELP}; repeat to run several side by side.",
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="NAME=VALUE", help="NAME=VALUE for every run; repeatable."),
    ] = None,
    sweep: Annotated[
        list[str] | None,
        typer.Option(
            "--sweep",
            metavar="NAME=START:STOP:N",
            help="NAME=START:STOP:N grid; repeat for a cartesian product.",
        ),
    ] = None,
    integration_: IntegrationOption = None,
    final_time: Annotated[float | None, typer.Option(help="Override FINAL TIME.")] = None,
    time_step: Annotated[float | None, typer.Option(help="Override TIME STEP.")] = None,
    vars_: Annotated[
        list[str] | None,
        typer.Option(
            "--vars",
            metavar="NAMES",
            help="Variables to save, summarise and plot, comma-separated or the option "
            "repeated (default: all saved, main outcomes shown).",
        ),
    ] = None,
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write the results here: .nc (netCDF, with provenance and lever values), "
            ".csv or .tab (Vensim's export layout: a row per variable, times across).",
        ),
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
    data: DataOption = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    resume: ResumeOption = False,
    old_method: OldMethodOption = None,
) -> None:
    """Run one what-if, several scenarios side by side, or a grid sweep (one batch if small).

    Examples (the shipped model and its scenarios by name, side by side; one lever set,
    files written; a 5 x 3 grid sweep to CSV; a 100 x 100 sweep on two local workers,
    resumable):

      gvcdyn run gvc_upgrading -s captive -s no-shock

      gvcdyn run gvc_upgrading --set "Shock Size=0.5" -o r.nc --plot r.png

      gvcdyn run gvc_upgrading --sweep "Buyer Support=0:1:5" \\
          --sweep "Shock Size=0:0.8:3" -o sweep.csv

      gvcdyn run gvc_upgrading --sweep "Buyer Support=0:1:100" \\
          --sweep "Shock Size=0:0.8:100" -o sweep.nc --workers 2

    A large sweep (or one given --workers, --scheduler or --resume) runs in chunks: with
    --out, finished chunks are kept in <out>.job/ until the results are written, and the
    same command with --resume continues after Ctrl-C, a crash or a failed write; results
    beyond 1 GiB stream to --out, one NAME(run, time) variable per saved cell.
    """
    model = model_path(model)
    _what_if(
        model,
        scenario_paths(scenario, model),
        set_ or [],
        sweep or [],
        method=integration(integration_, old_method),
        final_time=final_time,
        time_step=time_step,
        variables=split_names(vars_),
        allow_out_of_range=allow_out_of_range,
        out_path=out_path,
        plot_path=plot_path,
        title=model.stem,
        data=data,
        executing=Executing(workers, scheduler, resume, resumable=True),
    )


def _check_demo_folder(out_dir: Path) -> None:
    """Refuse a file name as ``demo``'s ``--out`` folder (``-o out.nc``): a user who types
    it expects the results in that file, not a folder named ``out.nc`` holding demo.nc and
    demo.png. An existing folder is taken whatever its name."""
    suffix = out_dir.suffix.lower()
    if suffix in {*RUN_FORMATS, *PLOT_FORMATS} and not out_dir.is_dir():
        raise OutputWriteError(
            f"demo's --out is a folder for demo.nc and demo.png, and {out_dir} names a "
            f"{suffix} file; give a folder (e.g. --out {out_dir.with_suffix('')})"
        )


def demo(
    out_dir: Annotated[
        Path,
        typer.Option("--out", "-o", metavar="FOLDER", help="Folder for demo.nc and demo.png."),
    ] = Path("results"),
    integration_: IntegrationOption = None,
    old_out_dir: Annotated[
        Path | None, typer.Option("--out-dir", hidden=True, help="Deprecated: --out.")
    ] = None,
    old_method: OldMethodOption = None,
) -> None:
    """Run the GVC model's standard scenarios; write results/demo.nc and results/demo.png.

    Example (from any directory, no arguments needed):

      gvcdyn demo
    """
    from gvcdyn.bundled import gvc_model

    if old_out_dir is not None:
        deprecated("--out-dir", "--out")
        out_dir = old_out_dir
    method = integration(integration_, old_method)
    _check_demo_folder(out_dir)
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
        method=method,
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
