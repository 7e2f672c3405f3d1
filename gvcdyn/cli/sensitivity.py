"""``gvcdyn sensitivity``: which levers move an output most, with intervals, over time."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from gvcdyn.cli.common import (
    MODEL_HELP,
    SCENARIO_HELP,
    IntegrationOption,
    check_output,
    deprecated,
    err,
    exit_on_interrupt,
    load,
    model_path,
    out,
    refuse_output_over_input,
    save_plot,
    save_results,
    scenario_paths,
    split_names,
)
from gvcdyn.errors import SensitivityDesignError, UnknownParameterError
from gvcdyn.execute import Execution, checkpoint_dir, job_checkpoints
from gvcdyn.execute.options import (
    ResumeOption,
    SchedulerOption,
    WorkersOption,
    executor_from_options,
    resume_command,
)
from gvcdyn.io.output_files import PLOT_FORMATS
from gvcdyn.progress import RichProgress

#: Parameters listed per output in the printed ranking (the file has them all).
SHOWN = 15


class Analysis(StrEnum):
    sobol = "sobol"
    morris = "morris"


def sensitivity(
    model: Annotated[Path, typer.Argument(help=MODEL_HELP)],
    vars_: Annotated[
        list[str] | None,
        typer.Option(
            "--vars",
            metavar="NAMES",
            help="Output variables to explain, comma-separated or the option repeated.",
        ),
    ] = None,
    at: Annotated[
        str,
        typer.Option(
            metavar="final|all|T1,T2,...",
            help="When to read the outputs: final, all (every saved time) or T1,T2,...",
        ),
    ] = "final",
    params: Annotated[
        str | None,
        typer.Option(
            metavar="NAMES",
            help="Comma-separated parameters to vary (default: the model's Levers view).",
        ),
    ] = None,
    ranges: Annotated[
        Path | None,
        typer.Option(
            help=escape(
                "TOML: optional 'parameters', [ranges] (name = [low, high]), "
                "[distributions], [groups], and evidence sources 'cases' (a calibration "
                "config) and 'posterior' (a fit); docs/sensitivity.md."
            )
        ),
    ] = None,
    scenario: Annotated[
        Path | None,
        typer.Option(
            "--scenario",
            "-s",
            metavar="FILE|NAME",
            help=f"{SCENARIO_HELP}: fixes the parameters not varied.",
        ),
    ] = None,
    fit: Annotated[
        Path | None, typer.Option(help="Calibration fit (.nc): its estimates fix the rest.")
    ] = None,
    method: Annotated[Analysis, typer.Option(help="sobol (indices) or morris (screening).")] = (
        Analysis.sobol
    ),
    n: Annotated[
        int,
        typer.Option("--n", help="Sobol: base samples (a power of two); Morris: trajectories."),
    ] = 1024,
    second_order: Annotated[
        bool, typer.Option("--second-order", help="Sobol: also pairwise indices S2.")
    ] = False,
    seed: Annotated[int | None, typer.Option(help="Seed of sampling and bootstrap.")] = None,
    resamples: Annotated[int, typer.Option(help="Bootstrap resamples for the intervals.")] = 100,
    conf_level: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    integration: IntegrationOption = None,
    out_path: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the indices as netCDF (.nc) here.")
    ] = None,
    plot_path: Annotated[
        Path | None, typer.Option("--plot", help="Write ranked indices and indices over time.")
    ] = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    resume: ResumeOption = False,
    old_output: Annotated[
        list[str] | None, typer.Option("--output", hidden=True, help="Deprecated: --vars.")
    ] = None,
) -> None:
    """Global sensitivity of outputs to the model's levers: Sobol' indices or Morris effects.

    Ranges are the levers' documented ranges unless --ranges overrides them; everything not
    varied stays at the model defaults, the --scenario, or the --fit estimates. A scenario
    or fit that sets a varied lever is refused (its value would never be used). Timing
    levers (a trigger's year) are varied only when named. The --ranges file can also give
    distributions, groups and evidence: levers of one real case per run ('cases') or one
    posterior draw of a fit per run ('posterior'); see docs/sensitivity.md.

    Example (time-resolved, second order, files written; the captive chain's governance
    fixed, the starts and sources of learning varied):

      gvcdyn sensitivity gvc_upgrading --vars "Innovation Capability" \\
          --vars "Value Capture Share" --at all --n 1024 --second-order --seed 1 \\
          -s captive --params "Buyer Led Start,State Led Start,FDI Led Start" \\
          -o results/sens.nc --plot results/sens.png

    With --out, finished chunks of runs are kept in <out>.job/ until the indices are written:
    after Ctrl-C or a crash, the same command with --resume continues where it stopped.
    --workers N runs on a local dask cluster, --scheduler tcp://HOST:PORT on an existing
    one (docs/cluster.md); the indices are the same, bit for bit.
    """
    from gvcdyn.sensitivity.dataset import write
    from gvcdyn.sensitivity.plots import plot_indices
    from gvcdyn.sensitivity.study import analyse

    if old_output:
        deprecated("--output", "--vars")
    output = split_names([*(vars_ or []), *(old_output or [])])
    if not output:
        raise SensitivityDesignError(
            "give the output variables to explain with --vars NAME (comma-separated or "
            "repeated); -o is --out, as in every command"
        )
    if out_path is not None:
        check_output(out_path, {".nc": "netcdf"}, what="the indices", example="results/sens.nc")
    if plot_path is not None:
        check_output(plot_path, PLOT_FORMATS, what="a plot", example="plot.png")
    if out_path is not None or plot_path is not None:
        # lazy: results_io imports xarray, which `gvcdyn --help` must not pay for
        from gvcdyn.io.results_io import check_writable

        for path in (out_path, plot_path):  # a folder that cannot be written: now, not later
            if path is not None:
                check_writable(path)
    names = [p.strip() for p in params.split(",") if p.strip()] if params is not None else None
    if names == []:  # not the Levers view in silence: the option was given, and empty
        raise SensitivityDesignError(
            f"--params {params!r} names no parameter; give NAMES comma-separated, or leave "
            "--params out to vary the model's Levers view"
        )
    model = model_path(model)
    if scenario is not None:
        (scenario,) = scenario_paths([scenario], model)
    refuse_output_over_input(
        {"--out": out_path, "--plot": plot_path},
        {
            "--fit": fit,
            "--ranges": ranges,
            "the posterior of --ranges": _ranges_posterior(ranges),
            "--scenario": scenario,
            "the model": model,
        },
    )
    loaded = load(model)
    for name in names or []:  # a misspelled lever says it came from --params
        try:
            loaded.parameter(name)
        except UnknownParameterError as exc:
            raise UnknownParameterError(f"--params {params!r}: {exc}") from None
    if resume and out_path is None:
        raise SensitivityDesignError("--resume continues a study saved with --out; give --out")
    with exit_on_interrupt(lambda: _unsaved(out_path)), RichProgress(err) as progress:
        ds = analyse(
            loaded,
            names,
            output,
            method=method.value,
            n=n,
            at=at,
            ranges=ranges,
            scenario=scenario,
            fit=fit,
            second_order=second_order,
            seed=seed,
            num_resamples=resamples,
            conf_level=conf_level,
            integration=None if integration is None else integration.value,
            progress=progress,
            command_line=["gvcdyn", *sys.argv[1:]],
            execution=Execution(
                output=out_path,
                resume=resume,
                resume_command=resume_command(),
                keep_checkpoint=True,  # until the indices are written, below
            ),
            executor_for_runs=lambda n_runs: executor_from_options(
                workers, scheduler, n_runs=n_runs
            ),
        )
    _print_ranking(ds)
    if ds.attrs["n_failed_runs"]:
        err.print(
            f"warning: {ds.attrs['n_failed_runs']} runs failed; "
            f"{ds.attrs['n_dropped_groups']} of the design's groups were left out"
        )
    if out_path is not None:
        save_results(out_path, lambda: write(ds, out_path))
    if plot_path is not None:
        save_plot(plot_path, lambda: plot_indices(ds, plot_path))


def _unsaved(out_path: Path | None) -> str:
    """What Ctrl-C outside the runs (the kernel's compilation, the analysis' bootstrap)
    leaves: no indices, but with --out every finished run in <out>.job, which the same
    command with --resume analyses without running them again."""
    if out_path is None or not job_checkpoints(out_path):
        return "interrupted: no results written"
    return (
        f"interrupted: no indices written; the finished runs are kept in "
        f"{checkpoint_dir(out_path)}; resume with: {resume_command()}"
    )


def _ranges_posterior(ranges: Path | None) -> Path | None:
    """The fit whose posterior draws a ranges file draws levers from (``posterior =
    "fit.nc"``), an input as much as ``--fit``: an ``--out`` there would replace the
    calibration with the indices. None without one (a ranges file that cannot be read is
    refused later, with the study's own message)."""
    if ranges is None or not ranges.is_file():
        return None
    from gvcdyn.errors import GvcdynError
    from gvcdyn.sensitivity.levers import read_ranges

    try:
        posterior = read_ranges(ranges).posterior
    except GvcdynError:
        return None
    return None if posterior is None else Path(posterior)


def _print_ranking(ds: Any) -> None:
    """Per output, the parameters ranked at the last time analysed."""
    sobol = "ST" in ds
    main = "ST" if sobol else "mu_star"
    last = float(ds.time.values[-1])
    for output in ds.output.values:
        one = ds.sel(output=output).isel(time=-1)
        table = Table(
            title=escape(
                f"{output} at time {last:g} ({ds.attrs['method']}, "
                f"N = {ds.attrs['N']}, {ds.attrs['n_runs']:,} runs)"
            ),
            title_justify="left",
            caption=escape(_design_caption(ds)) or None,
            caption_justify="left",
        )
        table.add_column("parameter", style="bold")
        columns = ["ST", "S1"] if sobol else ["mu_star", "mu", "sigma"]
        for column in columns:
            table.add_column(column, justify="right")
        order = one[main].values.argsort()[::-1]
        for i in order[:SHOWN]:
            cells = []
            for column in columns:
                value = float(one[column].values[i])
                conf = f"{column}_conf"
                cells.append(
                    f"{value:.3f} ± {float(one[conf].values[i]):.3f}"
                    if conf in one
                    else f"{value:.3g}"
                )
            table.add_row(escape(str(one.parameter.values[i])), *cells)
        out.print(table)
        if len(order) > SHOWN:
            hidden = len(order) - SHOWN
            out.print(
                f"... and {hidden} more parameter{'s' * (hidden > 1)} ranked lower "
                "(--out writes them all)"
            )


def _design_caption(ds: Any) -> str:
    """What the table's rows are beyond plain levers: groups, evidence, timing levers."""
    lines = []
    if "parameter_members" in ds.coords:
        for label, members in zip(ds.parameter.values, ds.parameter_members.values, strict=True):
            if str(members) != str(label):
                lines.append(f"{label}: {members}")
    for kind in ("cases", "posterior"):
        if f"{kind}_note" in ds.attrs:
            lines.append(f"{kind}: {ds.attrs[f'{kind}_note']}")
    if "timing_note" in ds.attrs:
        lines.append(f"note: {ds.attrs['timing_note']}")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    app.command()(sensitivity)
