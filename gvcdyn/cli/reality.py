"""``gvcdyn reality-check``: run a model's behavioural checks and print which hold."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from gvcdyn.cli.common import (
    MODEL_HELP,
    IntegrationOption,
    OldMethodOption,
    integration,
    load,
    model_data_files,
    model_path,
    out,
    refuse_output_over_input,
    status,
    writing,
)

#: exit status when a check fails at the base (as ``gvcdyn check`` on a mismatch)
EXIT_FAILED = 1

#: the simulation settings a reality check's --set might name, and what to do instead: the
#: checks run to the model's FINAL TIME (no --final-time here, unlike gvcdyn run)
_SETTINGS = {
    "final time": "the checks run to the model's FINAL TIME; edit it in the model",
    "time step": "change it with --time-step",
    "initial time": "edit INITIAL TIME in the model",
    "saveper": "edit SAVEPER in the model",
}


def reality_check(
    model: Annotated[Path, typer.Argument(help=MODEL_HELP)],
    checks: Annotated[
        Path,
        typer.Argument(
            help="Reality-check .toml file (a path, or a file of that name beside the model)."
        ),
    ],
    params: Annotated[
        Path | None,
        typer.Option(
            "--params",
            help="Base values: a calibration fit (.nc, its estimates; the runs then use "
            "the fit's integration method and time step unless --integration or "
            "--time-step say otherwise) or a \\[parameters] .toml; default: the model's "
            "defaults.",
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="NAME=VALUE",
            help="NAME=VALUE over the base for every run; repeatable.",
        ),
    ] = None,
    perturb: Annotated[
        float,
        typer.Option(
            help="Also draw every non-lever constant uniformly within +-PERTURB (relative) "
            "of its base, clipped to its range, and report the share of draws where each "
            "check holds."
        ),
    ] = 0.0,
    draws: Annotated[
        int | None, typer.Option(help=escape("Number of draws with --perturb [default: 500]."))
    ] = None,
    posterior: Annotated[
        int,
        typer.Option(
            help="Instead of --perturb: judge the checks at N of the posterior draws of "
            "--params fit.nc (evenly spaced over all its draws; all of them when it holds "
            "fewer), each setting the estimated parameters over the estimate, and report "
            "the share of draws where each check holds.",
            show_default=False,
        ),
    ] = 0,
    seed: Annotated[int | None, typer.Option(help="Seed of the draws.")] = None,
    integration_: IntegrationOption = None,
    old_method: OldMethodOption = None,
    time_step: Annotated[
        float | None,
        typer.Option(
            help="Override TIME STEP, a number > 0 (default: a fit's with --params fit.nc, "
            "else the model's).",
            show_default=False,
        ),
    ] = None,
    out_path: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the result: .nc (everything) or .csv (table)."),
    ] = None,
) -> None:
    """Run the checks of CHECKS on MODEL in one batch; print check, holds, margin.

    The margin is the signed distance to failing, in the units of the compared quantity.
    Exit 0 when every check holds at the base, 1 when one does not. With --perturb, the
    table adds the share of draws where each check holds, and where all hold together;
    with --posterior N, the same over N posterior draws of the fit given by --params.
    The format of a check file: docs/reality-checks.md.

    With --params fit.nc the runs use the fit's integration method and time step, so the
    margins are the fit's: a fit's checks hold at the setting it was computed at, which
    may differ from the model's own TIME STEP. The table's title names the setting used.

    Examples:

      gvcdyn reality-check gvc_upgrading gvc_upgrading.checks.toml

      gvcdyn reality-check models/gvc_upgrading.mdl models/gvc_upgrading.checks.toml \\
          --params results/fit.nc --perturb 0.2 --draws 500 --seed 1 -o checks.csv

      gvcdyn reality-check models/gvc_upgrading.mdl models/gvc_upgrading.checks.toml \\
          --params results/fit.nc --posterior 500 --integration rk4 --time-step 0.0078125
    """
    from gvcdyn.calibrate.fitfile import fit_integration
    from gvcdyn.checks import read_checks, report
    from gvcdyn.checks import reality_check as run_checks
    from gvcdyn.errors import (
        OutputWriteError,
        ParameterValueError,
        RealityCheckError,
        UnknownParameterError,
    )
    from gvcdyn.whatif.scenarios import parse_set, refuse_setting

    model = model_path(model)
    if not checks.is_file() and (model.parent / checks.name).is_file():
        checks = model.parent / checks.name
    settings = dict(parse_set(text) for text in set_ or [])
    if out_path is not None:  # before the runs, which --perturb or --posterior make long
        from gvcdyn.io.output_files import check_parents
        from gvcdyn.io.results_io import check_writable

        if out_path.suffix not in (".nc", ".csv"):
            raise OutputWriteError(f"--out {out_path}: give a .nc or .csv file name")
        check_parents(out_path)  # "afile/t.csv": afile is a file (not "File exists")
        check_writable(out_path)  # a folder, or no permission
    refuse_output_over_input(
        {"--out": out_path}, {"--params": params, "the checks": checks, "the model": model}
    )
    if perturb < 0:
        raise RealityCheckError(f"--perturb {perturb:g}: give a fraction >= 0, e.g. 0.2")
    if posterior < 0:
        raise RealityCheckError(f"--posterior {posterior}: give a number of draws >= 1")
    if posterior and perturb > 0:
        raise RealityCheckError(
            "--posterior and --perturb: choose one (posterior draws of the fit, or draws "
            "within +-P of the base)"
        )
    if not perturb and (draws is not None or seed is not None):
        given = " and ".join(o for o, v in (("--draws", draws), ("--seed", seed)) if v is not None)
        raise RealityCheckError(
            f"{given} only set the draws of --perturb; "
            + ("--posterior N says how many posterior draws" if posterior else "add --perturb 0.2")
        )
    draws = 500 if draws is None else draws
    if posterior and (params is None or params.suffix != ".nc"):
        given = "no --params" if params is None else f"--params {params}"
        raise RealityCheckError(
            f"--posterior {posterior} needs --params FIT.nc, a calibration fit with posterior "
            f"draws (not {given})"
        )
    if time_step is not None and not (math.isfinite(time_step) and time_step > 0):
        raise RealityCheckError(f"--time-step {time_step:g}: give a step > 0, e.g. 0.0625")
    method = integration(integration_, old_method)
    from_fit = params is not None and params.suffix == ".nc"
    fit = fit_integration(params) if from_fit and (method is None or time_step is None) else None
    method_from = (
        "given" if method is not None else "the fit's" if fit and fit[0] else "the model's"
    )
    step_from = (
        "given" if time_step is not None else "the fit's" if fit and fit[1] else "the model's"
    )
    if fit is not None:
        method = fit[0] if method is None else method
        time_step = fit[1] if time_step is None else time_step
    loaded = load(model)
    for text in set_ or []:  # a misspelled lever says which --set, as gvcdyn run's does
        key = parse_set(text)[0]
        refuse_setting(f"--set {text!r}", key, _SETTINGS)
        try:
            loaded.parameter(key)
        except UnknownParameterError as exc:
            raise UnknownParameterError(f"--set {text!r}: {exc}") from None
    # the files the model itself reads (GET DIRECT CONSTANTS('c.csv', ...)) are known now
    refuse_output_over_input(
        {"--out": out_path}, {"the model's data files": model_data_files(loaded)}
    )
    spec = read_checks(checks, loaded)
    with status(f"running {len(spec.checks)} checks"):
        try:
            ds = run_checks(
                loaded,
                spec,
                params=params,
                settings=settings,
                perturb=perturb,
                draws=draws,
                seed=seed,
                method=method,
                time_step=time_step,
                posterior=posterior,
            )
        except ParameterValueError as exc:  # its hint names an option this command lacks
            if "out-of-range" not in (exc.hint or ""):
                raise
            raise RealityCheckError(exc.describe(hint="use a value inside it")) from None
    frame = report.table(ds)
    title = f"{loaded.name}: {len(spec.checks)} checks, base {ds.attrs['base']}; "
    setting = f"{ds.attrs['method']}, time step {ds.attrs['time_step']:g}"
    if method_from == step_from:
        title += f"{setting} ({method_from})"
    else:
        title += f"{ds.attrs['method']} ({method_from}), time step "
        title += f"{ds.attrs['time_step']:g} ({step_from})"
    if perturb > 0:
        title += f"; {draws} draws within +-{perturb:g}"
    elif posterior:
        title += f"; {ds.attrs['draws']} posterior draws of {params}"
    table = Table(title=escape(title), title_justify="left")
    table.add_column("check")
    table.add_column("holds")
    table.add_column("margin", justify="right")
    if "share" in frame:
        table.add_column("share", justify="right")
    for row in frame.itertuples(index=False):
        verdict = "[green]yes[/green]" if row.holds else "[red]NO[/red]"
        cells = [
            escape(row.check),
            verdict,
            "" if row.margin != row.margin else f"{row.margin:.4g}",
        ]
        if "share" in frame:
            cells.append(f"{row.share:.1%}")
        table.add_row(*cells)
    out.print(table)
    if "posterior_note" in ds.attrs:
        out.print(escape(f"note: {ds.attrs['posterior_note']}"))
    if out_path is not None:
        with writing(out_path):
            report.write(ds, out_path)
        out.print(f"written: {escape(str(out_path))}")
    if not ds.attrs["all_hold"]:  # decided once, by checks.run.all_hold
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    app.command("reality-check")(reality_check)
