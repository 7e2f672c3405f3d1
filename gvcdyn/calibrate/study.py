"""``calibrate(config)``: fit, uncertainty and identifiability as one self-describing Dataset.

The steps are the library's (``fit``, ``profiles``, ``identifiability``, ``bootstrap``,
optionally ``crossvalidate``); this module only runs them in order and records what
came out with its provenance (config text, mapping text, the case file's and the
model's SHA-256, seeds, number of model runs, convergence messages), so a fit file
can be re-read, reported and used for prediction without the config at hand.

Every step but the identifiability screen is made of independent fits: the
differential-evolution starts and their polish, the profiles (one per parameter), the
bootstrap replicates and the cross-validation folds. They run as tasks through
``execution`` (in this process, or on a dask cluster), and with an output each finished
one is checkpointed beside it (``fit.nc.fit-starts.job/``, ``fit.nc.fit-polish.job/``,
``fit.nc.profiles.job/``, ``fit.nc.bootstrap.job/``, ``fit.nc.cv-all.job/``...; the
caller removes them with ``tasks.remove_checkpoints`` once the fit is written), so
``resume`` continues an interrupted calibration without redoing any finished fit: only
the tasks that were in flight, and the few single model batches between the steps (the
estimate's cutpoints and quantities, the identifiability screen), are computed again.
Each checkpoint's fingerprint holds the model's and the case file's SHA-256, the config,
the step's seeds and its starting point, so a resume with any of them changed is
refused. A resumed calibration is bitwise the uninterrupted one, ``n_runs`` included
(a task's runs are saved with it).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import shlex
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import xarray as xr

from gvcdyn._version import __version__
from gvcdyn.calibrate.cases import file_sha256
from gvcdyn.calibrate.config import CalibrationConfig
from gvcdyn.calibrate.feasibility import is_failed, no_fit
from gvcdyn.calibrate.fit import FitResult, fit
from gvcdyn.calibrate.likelihood import level_probabilities
from gvcdyn.calibrate.posterior import fit_attributes, fit_variables, sample_posterior
from gvcdyn.calibrate.problem import CalibrationProblem
from gvcdyn.calibrate.tasks import interrupted_message, settle_checkpoints
from gvcdyn.calibrate.uncertainty import bootstrap, identifiability, profiles
from gvcdyn.errors import CalibrationInfeasibleError, JobInterrupted
from gvcdyn.execute import Execution, release_checkpoints
from gvcdyn.progress import Progress, silent

__all__ = ["calibrate", "fit_dataset"]


def calibrate(
    config: CalibrationConfig,
    *,
    seed: int | None = None,
    crossval: bool = False,
    progress: Progress = silent,
    model=None,
    command_line: list[str] | None = None,
    execution: Execution | None = None,
) -> xr.Dataset:
    """Run the whole calibration described by ``config``; returns the fit as a Dataset.

    ``execution`` runs the starts, profiles, bootstrap replicates and cross-validation
    folds (see the module docstring). ``progress`` hears of each step as a stage, and of
    its work as tasks: every generation of each differential-evolution start (see
    ``fit``), the profiles, replicates, posterior moves and folds as they finish.

    Raises ``CalibrationInfeasibleError`` when a step finds no parameter set inside the
    support (no candidate holds every reality check of ``config.checks``, or every
    candidate's runs fail): the fit, before the uncertainty, posterior and
    cross-validation steps, or a cross-validation fold's refit. Its message names the
    checks (or cases) that fail and by how much; there is no Dataset to return. With an
    ``execution`` output, the checkpoints beside it are ended with it
    (``tasks.settle_checkpoints``): removed when the fit found nothing (a rerun starts
    over, nothing is left to resume), the finished steps kept when the posterior or the
    cross-validation did (the fit can be written without that step); the error's
    ``kept`` and ``removed`` name them and its message says how to go on.

    Ctrl-C keeps every finished task beside the output: in a step's tasks it raises that
    step's ``JobInterrupted``; anywhere else (between steps, in the posterior) a
    ``JobInterrupted`` naming the kept folders and how to resume (``resume=True``, or
    ``execution.resume_command``). Both are ``KeyboardInterrupt``.
    """
    if seed is not None:
        config = config.with_seed(seed)
    try:
        return _steps(config, crossval, progress, model, command_line, execution)
    except CalibrationInfeasibleError as error:
        if execution is not None and execution.output is not None:
            settle_checkpoints(error, execution.output)
        raise
    except KeyboardInterrupt as stop:
        # Ctrl-C in a step's tasks is a JobInterrupted naming its folder; elsewhere (between
        # steps, in the posterior) say what is kept and how to resume, as the CLI does
        if isinstance(stop, JobInterrupted) or execution is None or execution.output is None:
            raise
        release_checkpoints(execution.output)  # a resume in this process takes them
        message = interrupted_message(execution.output, execution.resume_command)
        raise JobInterrupted(message) from None


def _steps(
    config: CalibrationConfig,
    crossval: bool,
    progress: Progress,
    model,
    command_line: list[str] | None,
    execution: Execution | None,
) -> xr.Dataset:
    """``calibrate``'s steps, in order (see there)."""
    timing: dict[str, list[float]] = {}  # step -> [wall s, CPU s of this process]

    @contextlib.contextmanager
    def step(name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        with progress.stage(name):
            yield
        timing[name] = [
            round(time.perf_counter() - wall, 2),
            round(time.process_time() - cpu, 2),
        ]

    with step("loading the model and the cases"):
        problem = CalibrationProblem.from_config(config, model=model)
        if crossval:  # its config errors before the fit, not after
            from gvcdyn.calibrate.crossval import check_folds, model_start  # lazy: scipy.stats

            check_folds(problem)
            if config.cv_model_start:
                model_start(problem)
    with step("fitting (differential evolution, multi-start)"):
        result = fit(problem, progress=progress, execution=execution)
    theta, objective = result.theta, result.objective
    prof = []
    if config.profile_points > 0:
        with step("profile likelihoods"):
            prof, better_theta, better = profiles(
                problem,
                theta,
                objective,
                config.profile_points,
                execution=execution,
                progress=progress,
            )
            if better < objective - 1e-6:
                result.extra["profile_improved"] = objective - better
                result.message += (
                    f"; a profile found a better optimum (by {objective - better:.3g}),"
                    " used as the estimate"
                )
                theta, objective = better_theta, better
                result.theta, result.objective = theta, objective
                s, status = problem.quantities(theta[None, :])
                result.cutpoints = [c[0] for c in problem.nll_from_quantities(s, status)[1]]
    with step("identifiability (Fisher information, collinearity)"):
        ident = identifiability(problem, theta)
    boot = None
    if config.bootstrap > 0:
        with step(f"case bootstrap ({config.bootstrap} replicates)"):
            boot = bootstrap(
                problem,
                theta,
                config.bootstrap,
                config.uncertainty_seed,
                starts=config.bootstrap_starts,
                execution=execution,
                progress=progress,
            )
    posterior = None
    if config.posterior is not None:
        steps = config.posterior.steps
        with step(f"posterior (emcee, {steps} ensemble moves)"):
            moves = progress.task("posterior moves", steps)
            posterior = sample_posterior(
                problem,
                config.posterior,
                progress=lambda done, total: moves.update(done),
                execution=execution,  # checkpointed beside the other stages; --resume resumes it
            )
    cv = None
    if crossval:
        from gvcdyn.calibrate.crossval import crossvalidate  # lazy: scipy.stats, ~1 s

        with step("cross-validation"):
            cv = crossvalidate(problem, execution=execution, progress=progress)
    result.n_runs = problem.counter.runs
    result.extra["timing"] = timing
    return fit_dataset(
        problem, result, prof, ident, boot, cv, posterior=posterior, command_line=command_line
    )


def fit_dataset(
    problem: CalibrationProblem,
    result: FitResult,
    prof,
    ident,
    boot,
    cv=None,
    *,
    posterior=None,
    command_line: list[str] | None = None,
) -> xr.Dataset:
    """The fit and its uncertainty as an ``xarray.Dataset`` (see ``calibration/README.md``).

    ``posterior`` (ArviZ ``InferenceData`` from ``sample_posterior``) adds the draws as
    ``posterior_draw (chain, draw, parameter)`` and ``posterior_lp``, with the sampler's
    settings and convergence verdict as ``posterior_*`` attributes;
    ``gvcdyn.calibrate.posterior.inference_data`` turns them back into ArviZ's format.
    """
    if is_failed(result.objective):  # the failure sentinel is no fit: never written as one
        raise no_fit(
            problem, result.theta, step=f"the fit given (objective {result.objective:.4g})"
        )
    cfg = problem.config
    names = list(problem.names)
    outcomes = [o.column for o in problem.outcomes]
    n_cut = max(len(o.levels) for o in problem.outcomes) - 1
    cut = np.full((len(outcomes), n_cut), np.nan)
    for k, c in enumerate(result.cutpoints):
        cut[k, : len(c)] = c
    s, _status = problem.quantities(result.theta[None, :])
    probs = np.full((len(problem.cases), len(outcomes), n_cut + 1), np.nan)
    for k, spec in enumerate(problem.outcomes):
        probs[:, k, : len(spec.levels)] = level_probabilities(
            s[0, :, k] / problem.scales[k], result.cutpoints[k]
        )
    data = {
        "estimate": (
            ("parameter",),
            result.theta,
            {"description": "maximum-likelihood estimate (posterior mode with priors)"},
        ),
        "bound_low": (("parameter",), problem.bounds[:, 0], {"description": "search bound"}),
        "bound_high": (("parameter",), problem.bounds[:, 1], {"description": "search bound"}),
        "cutpoint": (
            ("outcome", "cut"),
            cut,
            {"description": "ordered-logit cutpoints at the estimate (eta scale)"},
        ),
        "start_estimate": (
            ("start", "parameter"),
            np.array([s_.theta for s_ in result.starts]),
            {"description": "optimum of each differential-evolution start"},
        ),
        "start_objective": (
            ("start",),
            np.array([s_.objective for s_ in result.starts]),
            {"description": "objective at each start's optimum"},
        ),
        "start_seed": (
            ("start",),
            np.array([s_.seed for s_ in result.starts], dtype=np.int64),
            {"description": "random seed of each start"},
        ),
        "start_generations": (
            ("start",),
            np.array([s_.generations for s_ in result.starts], dtype=np.int64),
            {},
        ),
        "quantity": (
            ("case", "outcome"),
            s[0],
            {"description": "model quantity at each case's horizon, at the estimate"},
        ),
        "observed": (
            ("case", "outcome"),
            problem.levels,
            {"description": "observed level index (-1 = blank)"},
        ),
        "probability": (
            ("case", "outcome", "level"),
            probs,
            {"description": "P(level) per case at the estimate"},
        ),
        "weight": (("case",), problem.weights, {"description": "case weight in the likelihood"}),
        "horizon": (
            ("case",),
            problem.cases.horizon,
            {"description": "period length (years): where each case is read"},
        ),
        "lever_value": (
            ("case", "lever"),
            problem.case_levers,
            {"description": "lever values set by the case mapping"},
        ),
        "hessian": (
            ("parameter", "parameter_b"),
            ident.hessian,
            {"description": "Hessian of the objective in unit-scaled parameters"},
        ),
        "fisher_eigenvalue": (("eigen",), ident.eigenvalues, {}),
        "sensitivity_cosine": (
            ("parameter", "parameter_b"),
            ident.sensitivity_cosine,
            {"description": "cosine of two parameters' sensitivity vectors"},
        ),
    }
    if prof:
        n_pts = max(len(p.grid) for p in prof)
        grid = np.full((len(names), n_pts), np.nan)
        delta = np.full((len(names), n_pts), np.nan)
        for i, p in enumerate(prof):
            grid[i, : len(p.grid)] = p.grid
            delta[i, : len(p.delta)] = p.delta
        data.update(
            {
                "profile_value": (("parameter", "profile_point"), grid, {}),
                "profile_delta": (
                    ("parameter", "profile_point"),
                    delta,
                    {
                        "description": "profile objective minus its minimum (inf: with the "
                        "parameter pinned there the refit found no parameter set where every "
                        "reality check holds and the runs succeed)"
                    },
                ),
                "lower": (
                    ("parameter",),
                    np.array([p.low for p in prof]),
                    {"description": "95% profile-likelihood interval (delta = 1.92)"},
                ),
                "upper": (("parameter",), np.array([p.high for p in prof]), {}),
                "lower_open": (
                    ("parameter",),
                    np.array([int(p.low_open) for p in prof]),
                    {"description": "1: the profile never crosses 1.92 on this side"},
                ),
                "upper_open": (("parameter",), np.array([int(p.high_open) for p in prof]), {}),
                "identifiability": (
                    ("parameter",),
                    np.array([p.status for p in prof], dtype=str),
                    {},
                ),
            }
        )
    if boot is not None:
        boot_cut = np.full((len(boot.theta), len(outcomes), n_cut), np.nan)
        for k, c in enumerate(boot.cutpoints):
            boot_cut[:, k, : c.shape[1]] = c
        data.update(
            {
                "bootstrap_cutpoint": (("replicate", "outcome", "cut"), boot_cut, {}),
                "bootstrap_estimate": (("replicate", "parameter"), boot.theta, {}),
                "bootstrap_objective": (("replicate",), boot.objective, {}),
                "bootstrap_lower": (
                    ("parameter",),
                    boot.low,
                    {"description": "2.5% percentile of the case bootstrap"},
                ),
                "bootstrap_upper": (("parameter",), boot.high, {}),
            }
        )
    if cv is not None:
        data.update(cv.to_data_vars())
    if posterior is not None:
        data.update(fit_variables(posterior, problem))
    checks = None
    if problem.checks is not None:
        margin, holds = problem.check_verdicts(result.theta)
        checks = list(problem.checks.spec.names)
        data.update(
            {
                "check_margin": (
                    ("check",),
                    margin[0],
                    {
                        "description": "signed distance to failing of each reality check at "
                        "the estimate (NaN: a run failed); the checks constrain the fit"
                    },
                ),
                "check_holds": (("check",), holds[0].astype(np.int8), {}),
            }
        )
    coords = {
        "parameter": names,
        "parameter_b": names,
        "outcome": outcomes,
        "case": list(problem.cases.ids),
        "lever": list(problem.cases.levers),
        "level": np.arange(n_cut + 1),
        "cut": np.arange(n_cut),
    }
    if cv is not None:
        coords.update(cv.coords())
    if checks is not None:
        coords["check"] = checks
    mapping_text = problem.mapping.text
    attrs = {
        "title": "gvcdyn calibration to case outcomes",
        "objective": result.objective,
        "n_runs": int(result.n_runs),
        "success": int(result.success),
        "message": result.message,
        "polish": result.polish_message,
        "seeds": json.dumps(list(cfg.seeds)),
        "bootstrap_seed": cfg.uncertainty_seed,
        "cv_seed": cfg.cv_seed,
        "fisher_rank": ident.rank,
        "fisher_valid": int(ident.valid),
        "fisher_note": ident.note
        or "an information matrix: interior optimum, no negative curvature",
        "collinearity_index": ident.collinearity_index,
        "near_duplicates": json.dumps(ident.near_duplicates),
        "outcome_levels": json.dumps({o.column: list(o.levels) for o in problem.outcomes}),
        "outcome_quantity": json.dumps({o.column: o.quantity for o in problem.outcomes}),
        "outcome_scale": json.dumps({o.column: o.scale for o in problem.outcomes}),
        "excluded_cases": json.dumps(
            [[x.case_id, x.column, x.message] for x in problem.cases.excluded]
        ),
        "config_text": cfg.text,
        "config_path": str(cfg.path.resolve()) if cfg.path else "",
        "mapping_text": mapping_text,
        "mapping_path": str(cfg.mapping),
        "model_path": str(problem.model.path.resolve()) if problem.model.path else "",
        "model_sha256": problem.model.ir.source_hash,
        "case_file": str(cfg.cases),
        "case_file_sha256": file_sha256(cfg.cases),
        "case_revisions": str(cfg.revisions) if cfg.revisions else "",
        "case_revisions_sha256": file_sha256(cfg.revisions) if cfg.revisions else "",
        # the fitted revisions themselves, so the fit's table can be rebuilt without the file
        "case_revisions_text": (
            Path(cfg.revisions).read_text(encoding="utf-8") if cfg.revisions else ""
        ),
        "method": problem.evaluator.method,  # the config's, or the model's declared
        "pseudo_count": cfg.pseudo_count,
        "gvcdyn_version": __version__,
        "command_line": shlex.join(
            command_line if command_line is not None else [Path(sys.argv[0]).name, *sys.argv[1:]]
        ),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "timing": json.dumps(result.extra.get("timing", {})),
        "load_average": json.dumps([round(x, 2) for x in os.getloadavg()]),
    }
    if posterior is not None:
        attrs.update(fit_attributes(posterior))
    if cv is not None and cfg.cv_model_start:
        # the folds also refit from the model's values ([crossval] model_start = true);
        # written only then, so a fit without the option keeps its attributes
        attrs["cv_model_start"] = 1
    if problem.checks is not None:
        attrs["checks_file"] = str(cfg.checks)
        attrs["checks_sha256"] = file_sha256(cfg.checks)
    return xr.Dataset(data, coords=coords, attrs=attrs)
