"""``gvcdyn calibrate`` and ``gvcdyn predict``: fit a model to case outcomes, predict new cases."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from gvcdyn.calibrate.config import EXAMPLE_CONFIG
from gvcdyn.cli.common import (
    check_output,
    err,
    exit_on_interrupt,
    load,
    model_data_files,
    out,
    refuse_output_over_input,
    status,
    writing,
)
from gvcdyn.errors import CalibrationConfigError
from gvcdyn.execute import Execution, refuse_unfinished_job, remove_checkpoints
from gvcdyn.execute.options import (
    ResumeOption,
    SchedulerOption,
    WorkersOption,
    executor_from_options,
    resume_command,
)
from gvcdyn.progress import RichProgress

_EPILOG = (
    "Example config, every section (the shipped GVC config is calibration/config.toml):"
    "\n\n\b\n" + escape(EXAMPLE_CONFIG)
)


def register(app: typer.Typer) -> None:
    app.command(epilog=_EPILOG)(calibrate)
    app.command()(predict)


def calibrate(
    config: Annotated[
        Path,
        typer.Argument(
            help="Calibration config TOML (see the example below), or the name of a model "
            "shipped with one (gvcdyn models)."
        ),
    ],
    out_path: Annotated[
        Path, typer.Option("--out", "-o", help="netCDF file for the fit (written atomically).")
    ] = Path("results/fit.nc"),
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Derive every random seed from this one (else the config's)."),
    ] = None,
    crossval: Annotated[
        bool,
        typer.Option(
            "--crossval/--no-crossval",
            help="Also run cross-validation against the two baselines (slower).",
        ),
    ] = False,
    posterior: Annotated[
        bool | None,
        typer.Option(
            "--posterior/--no-posterior",
            help=escape(
                "Sample the config's [posterior] table (the default when it has one); "
                "--no-posterior skips it for a quick fit (the GVC config: about 2 minutes "
                "of CPU with --crossval instead of 15), and predict then uses the estimate."
            ),
            show_default=False,
        ),
    ] = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    resume: ResumeOption = False,
) -> None:
    """Fit the config's parameters to the case outcomes (ordered logit, multi-start DE).

    Stops with an error, and writes no fit, when no parameter set inside the bounds holds
    every reality check of the config's `checks` (or every candidate's runs fail): it
    names the checks that fail at the closest candidate tried and by how much. Nothing is
    left to --resume then; when the posterior or the cross-validation found nothing after
    a sound fit, the fit's finished steps are kept and the message says how to write them.

    Writes estimates, 95% profile-likelihood and bootstrap intervals, profiles,
    identifiability (Fisher rank, collinearity index), the objective, the number of model
    runs, convergence messages, the config and the case file's SHA-256.

    The differential-evolution starts, the polish, the profiles, the bootstrap
    replicates and the cross-validation folds run as independent tasks: --workers N on
    a local dask cluster, --scheduler tcp://HOST:PORT on an existing one (the same
    numbers, bit for bit). Each finished one is kept beside --out (<out>.fit-starts.job/,
    <out>.profiles.job/, <out>.bootstrap.job/...) until the fit is written; after Ctrl-C
    or a crash the same command with --resume takes them from there and runs only the
    rest (refused if the model, config, cases or seed changed).
    """
    from dataclasses import replace

    from gvcdyn.calibrate.config import as_config
    from gvcdyn.calibrate.study import calibrate as run_calibration
    from gvcdyn.calibrate.tasks import checkpoint_note
    from gvcdyn.errors import CalibrationInfeasibleError
    from gvcdyn.io.results_io import check_writable, write_netcdf

    check_output(out_path, {".nc": "netcdf"}, what="the fit", example="results/fit.nc")
    cfg = as_config(config)  # as gvcdyn.calibrate(config) reads it
    _refuse_posterior_without_table(posterior, cfg)
    skipped = posterior is False and cfg.posterior is not None
    if skipped:  # the fit's attribute posterior_skipped says so
        cfg = replace(cfg, posterior=None)
    check_writable(out_path)  # before the fit (minutes), as the checkpoints go beside it
    # before the fit (minutes) and the workers: saved replicates/folds beside --out are
    # continued with --resume, never overwritten
    refuse_unfinished_job(out_path, resume=resume, resume_command=resume_command())
    if not config.is_file() and cfg.path is not None:
        # a model's name takes the first of its configs by file name: say which, so that a
        # config added beside it cannot change what is fitted without a word
        err.print(escape(f"config: {cfg.path} (the one '{config}' names)"), soft_wrap=True)
    # Ctrl-C in the calibration is its JobInterrupted, which names the kept tasks and
    # this command with --resume; before it starts (the workers), _interrupted does
    with (
        exit_on_interrupt(lambda: _interrupted(out_path)),
        executor_from_options(workers, scheduler) as executor,
        RichProgress(err, stage_lines=True) as progress,
    ):
        try:
            ds = run_calibration(
                cfg,
                seed=seed,
                crossval=crossval,
                progress=progress,
                command_line=["gvcdyn", *sys.argv[1:]],
                execution=Execution(
                    executor, out_path, resume=resume, resume_command=resume_command()
                ),
            )
        except CalibrationInfeasibleError as exc:
            # No fit file is written. The library has ended the checkpoints as it does for
            # any caller (tasks.settle_checkpoints): a fit that found nothing leaves none
            # (the next run starts over, nothing to resume); a posterior or
            # cross-validation that found nothing keeps the fit's finished steps, to be
            # written without the step that failed: said here with the option that does it.
            if not exc.kept:
                raise
            flag = _SKIPPABLE[exc.stage]
            argv = [a for a in sys.argv if a != flag.replace("--no-", "--")] + [flag]
            note = checkpoint_note(exc, out_path, resume_command(argv))
            raise exc.advise(f"{exc.remedy}; {note}" if exc.remedy else note) from None
    if skipped:
        ds.attrs["posterior_skipped"] = "--no-posterior: the config's [posterior] was not sampled"
    with writing(out_path):
        write_netcdf(ds, out_path)
    remove_checkpoints(out_path)  # only now: a failed write keeps every finished task
    _print_fit(ds)
    out.print(escape(f"fit: {out_path}"), soft_wrap=True)


def _refuse_posterior_without_table(posterior: bool | None, cfg) -> None:
    """``--posterior`` asked of a config without a ``[posterior]`` table is refused before
    the fit: it has no sampler settings, so the fit would come back without draws, and
    without a word, as if the option had not been given."""
    if posterior and cfg.posterior is None:
        raise CalibrationConfigError(
            f"--posterior: the config {cfg.path or 'given'} has no [posterior] table to "
            "sample; add one (its settings: gvcdyn calibrate --help) or leave out --posterior"
        )


#: calibration steps after the fit whose failure leaves a fit to write, and their skip flag
_SKIPPABLE = {"posterior": "--no-posterior", "crossval": "--no-crossval"}


def _interrupted(out_path: Path) -> str:
    """What Ctrl-C outside the calibration's own handling (before it starts) leaves: the
    message ``calibrate`` gives a Python caller, with the command that resumes."""
    from gvcdyn.calibrate.tasks import interrupted_message

    return interrupted_message(out_path, resume_command())


def _print_fit(ds) -> None:
    """The estimates with a column for each kind of interval the fit holds (the shipped
    config has only the posterior's), then the sampler's verdict."""
    from rich.table import Table

    table = Table(
        title=escape(
            f"objective {ds.attrs['objective']:.4f}, {ds.attrs['n_runs']:,} model "
            f"runs, {_fisher(ds)}, "
            f"collinearity index {ds.attrs['collinearity_index']:.3g}"
        ),
        title_justify="left",
    )
    columns = _interval_columns(ds)
    table.add_column("parameter", justify="left")
    table.add_column("estimate", justify="right")
    for column in columns:
        table.add_column(column, justify="right")
    if "identifiability" in ds:
        table.add_column("identifiability", justify="left")
    for i, name in enumerate(ds["parameter"].values):
        cells = [escape(str(name)), f"{ds['estimate'].values[i]:.4g}"]
        cells += [escape(interval[i]) for interval in columns.values()]
        if "identifiability" in ds:
            cells.append(escape(str(ds["identifiability"].values[i])))
        table.add_row(*cells)
    out.print(table)
    if "posterior_draw" in ds:
        out.print(escape(_posterior_verdict(ds)), soft_wrap=True)
    if not ds.attrs.get("success", 1):
        err.print(escape(f"warning: {ds.attrs['message']}"), soft_wrap=True)


def predict(
    fit: Annotated[Path, typer.Option("--fit", help="Fit file written by 'gvcdyn calibrate'.")],
    cases: Annotated[Path, typer.Option("--cases", help="Case CSV (outcome columns optional).")],
    out_path: Annotated[
        Path, typer.Option("--out", "-o", help="Predictions CSV (a JSON with the same stem).")
    ] = Path("predictions.csv"),
    point: Annotated[
        bool,
        typer.Option("--point", help="The point estimate only (no posterior or bootstrap draws)."),
    ] = False,
) -> None:
    """Outcome probabilities for new cases: one row per case (id, p_..., pred_...).

    Example:

      gvcdyn predict --fit results/fit.nc --cases new_cases.csv \\
          --out predictions.csv
    """
    from gvcdyn.calibrate.fitfile import missing_fit_parts, read_fit, refuse_incomplete
    from gvcdyn.calibrate.predict import predict as run_prediction
    from gvcdyn.calibrate.predict import prediction_paths, write_predictions

    # a clashing --out (the JSON's own name), or a CSV under another name, is refused
    # before the simulation
    csv_out, json_out = prediction_paths(out_path)
    check_output(out_path, {".csv": "csv"}, what="predictions", example="predictions.csv")
    refuse_output_over_input(
        {"--out": csv_out, "the JSON beside --out,": json_out}, {"--cases": cases, "--fit": fit}
    )
    from gvcdyn.io.results_io import check_writable  # lazy: xarray, after the cheap checks

    for path in (csv_out, json_out):  # a folder that cannot be written: now, not after
        check_writable(path)
    # the files the fit's model and revisions are read from, known once the fit and its
    # model are read: refused as well, before the simulation, which is given both (the
    # fit read once: what is checked here is what is predicted from)
    ds = read_fit(fit)
    refuse_incomplete(fit, missing_fit_parts(ds))  # before the model is loaded
    model, inputs = _fit_inputs(ds)
    refuse_output_over_input({"--out": csv_out, "the JSON beside --out,": json_out}, inputs)
    with status("simulating the cases"):
        prediction = run_prediction(fit, cases, model=model, point=point, ds=ds)
    for problem in prediction.problems:
        err.print(escape(f"warning: {problem}"), soft_wrap=True)
    with writing(out_path):
        csv_path, meta_path = write_predictions(prediction, out_path)
    out.print(
        escape(
            f"{prediction.meta['n_predicted']} of {prediction.meta['n_cases']} cases "
            f"predicted ({prediction.meta['uncertainty']})"
        )
    )
    out.print(escape(f"predictions: {csv_path}\nabout them:  {meta_path}"), soft_wrap=True)


def _fit_inputs(ds) -> tuple[Any, dict[str, list[Path]]]:
    """The model the fit ``ds`` (as ``read_fit`` read it) was made with (loaded, as
    ``predict`` would load it; None for a fit that ``predict`` refuses as recording no
    fit) and the files ``predict`` reads beside its command line's, for
    :func:`refuse_output_over_input`: the model's data files (GET DIRECT/XLS), and the
    case revisions file of a fit that recorded it by path only (an older fit; a newer one
    carries the revisions' text)."""
    from gvcdyn.calibrate.fitfile import recorded_file
    from gvcdyn.calibrate.problem import FAILED

    attrs = ds.attrs
    inputs: dict[str, list[Path]] = {}
    if attrs.get("case_revisions") and not attrs.get("case_revisions_text"):
        inputs["the fit's case revisions file"] = [Path(str(attrs["case_revisions"]))]
    if float(attrs.get("objective", 0.0)) >= FAILED:
        return None, inputs  # predict refuses it, saying why
    sha = attrs.get("model_sha256")
    model = load(recorded_file(attrs["model_path"], sha, "model"))
    inputs["the model's data files"] = model_data_files(model)
    return model, inputs


def _interval_columns(ds) -> dict[str, list[str]]:
    """Per kind of interval the fit holds (profile, bootstrap, posterior), its cells."""
    n = ds.sizes["parameter"]
    columns: dict[str, list[str]] = {}
    if "lower" in ds:
        columns["95% profile"] = [
            f"[{'<' * bool(ds['lower_open'].values[i])}{ds['lower'].values[i]:.3g}, "
            f"{ds['upper'].values[i]:.3g}{'>' * bool(ds['upper_open'].values[i])}]"
            for i in range(n)
        ]
    if "bootstrap_lower" in ds:
        columns["95% bootstrap"] = [
            f"[{ds['bootstrap_lower'].values[i]:.3g}, {ds['bootstrap_upper'].values[i]:.3g}]"
            for i in range(n)
        ]
    if "posterior_draw" in ds:
        from gvcdyn.reports.calibration import posterior_interval  # lazy: only for a posterior

        columns["95% posterior"] = [f"[{lo:.3g}, {hi:.3g}]" for lo, hi in posterior_interval(ds)]
    return columns


def _posterior_verdict(ds) -> str:
    """One line: the sampler's size and whether its draws converged (and if not, why)."""
    a = ds.attrs
    draws = ds["posterior_draw"]
    size = f"{draws.sizes['chain']} walkers x {draws.sizes['draw']} kept draws"
    if int(a.get("posterior_converged", 0)) == 1:
        return f"posterior: {size}, converged (R-hat, effective sample sizes, autocorrelation)"
    why = str(a.get("posterior_convergence_failures", "")) or "no reason recorded"
    return (
        f"posterior: {size}, NOT converged: {why}; its intervals are indicative only "
        "(sample longer: [posterior] steps)"
    )


def _fisher(ds) -> str:
    """The Fisher information in one phrase: its rank, or why it has none."""
    if not ds.attrs.get("fisher_valid", 1):
        return f"Fisher information not valid ({ds.attrs.get('fisher_note', '')})"
    return f"Fisher rank {ds.attrs['fisher_rank']}/{ds.sizes['parameter']}"
