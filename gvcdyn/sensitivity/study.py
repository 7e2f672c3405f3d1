"""A sensitivity study of a model's levers: sample, run, analyse, return a Dataset.

The study combines the three parts of the analysis seam: a ``ParameterSpace`` (the
levers and their ranges, everything else at a base: model defaults, a scenario file or
a calibration fit), ``Outcome``s (each output variable read at each requested time: one
outcome per time makes the analysis time-resolved) and the model's evaluator (the
design runs as compiled batches). Sampling and the Morris analysis are SALib's; the
Sobol' analysis is :func:`gvcdyn.sensitivity.estimator.sobol_indices`, which gives SALib's
numbers for every output column at once.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from gvcdyn.errors import GvcdynError, SensitivityDesignError
from gvcdyn.evaluator import Evaluator
from gvcdyn.execute import Execution, Executor, refuse_unfinished_job
from gvcdyn.io.scenario_files import read_scenario
from gvcdyn.model import Model
from gvcdyn.outcomes import Outcome
from gvcdyn.progress import Progress, silent
from gvcdyn.sensitivity import dataset as _dataset
from gvcdyn.sensitivity.design import Design, build_design
from gvcdyn.sensitivity.estimator import block_size, check_bootstrap, sobol_indices
from gvcdyn.sensitivity.fits import fit_estimates, fit_model_sha256
from gvcdyn.sensitivity.levers import (
    LeverChoice,
    check_documented_ranges,
    choose_levers,
    timing_levers,
)
from gvcdyn.sensitivity.runs import (
    DEFAULT_CHUNK,
    DesignRuns,
    check_design_memory,
    drop_failed_groups,
    run_design,
)
from gvcdyn.sensitivity.sources import (
    EvidenceSource,
    case_source,
    posterior_source,
    source_bounds,
)
from gvcdyn.space import ParameterSpace

# xarray, Evaluator and Model are imported for typing.get_type_hints: the package loads
# them anyway (gvcdyn.sensitivity.dataset imports xarray, gvcdyn.calibrate's likelihood
# the model through gvcdyn.whatif)

__all__ = [
    "Study",
    "analyse",
    "base_of",
    "morris",
    "prepare",
    "refuse_varied_in_base",
    "sobol",
]

AtLike = str | float | Sequence[float]
#: distributions with an infinite end (Morris' levels reach the ends of the unit range)
_UNBOUNDED = ("normal", "lognormal")
BaseLike = Mapping[str, float] | str | Path | None


@dataclass
class Study:
    """What a study varies and reads, with its evaluator; built by :func:`prepare`."""

    model: Model
    space: ParameterSpace
    evaluator: Evaluator
    outputs: tuple[str, ...]
    times: np.ndarray
    base_label: str
    levers_source: str
    timings: dict[str, float] = field(default_factory=dict)
    design: Design | None = None
    choice: LeverChoice | None = None
    timing_drawn: tuple[str, ...] = ()  # timing levers an evidence source sets, row by row

    def __post_init__(self) -> None:
        if self.design is None:  # a study built by hand: every lever uniform, ungrouped
            k = self.space.k
            self.design = build_design(
                self.space.names, self.space.bounds, {}, {}, (), self.space.names, np.zeros(k)
            )

    @property
    def problem(self) -> dict[str, Any]:
        """SALib's problem: the design's inputs (with ``dists``/``groups`` when used)."""
        return self.design.problem(self.space)


def prepare(
    model: Model,
    outputs: Sequence[str],
    *,
    at: AtLike = "final",
    params: Sequence[str] | None = None,
    ranges: str | Path | None = None,
    base: BaseLike = None,
    base_label: str | None = None,
    integration: str | None = None,  # None: a posterior source's fit's, else the model's
) -> Study:
    """The space, the outcomes (each output at each time) and the evaluator of a study.

    The ranges file may add distributions, groups and evidence sources: the study's
    ``design`` then holds SALib's inputs (a source is one selector input), and its space
    holds the levers varied plus every lever a source sets.
    """
    if isinstance(outputs, str):
        outputs = [outputs]
    if not outputs:
        raise SensitivityDesignError("name at least one output variable")
    choice = choose_levers(model, params, ranges)
    sources = _read_sources(model, choice)
    if integration is None:  # a posterior's rows hold at its fit's method, not the model's
        integration = next((src.method for src in sources if src.method), None)
    levers = _levers_beside_sources(choice, sources)
    check_documented_ranges(model, choice, levers)
    levers_source = choice.source
    dropped = len(choice.names) - len(levers)
    if dropped:
        kinds = " and ".join(src.kind for src in sources)
        levers_source += f", less {dropped} lever{'s' * (dropped > 1)} the {kinds} set"
    drawn = [lv for src in sources for lv in src.levers]
    timing_drawn = tuple(sorted(timing_levers(model, drawn))) if drawn else ()
    if timing_drawn:  # a timing lever the evidence sets is not fixed: it moves with the rows
        choice = replace(
            choice, timing_fixed=tuple(n for n in choice.timing_fixed if n not in timing_drawn)
        )
    named = base_label or (str(base) if isinstance(base, str | Path) else "the base values")
    always = [lv for src in sources for lv in src.always_set]
    refuse_varied_in_base(model, [*levers, *always], base, named)
    bounds = dict(choice.bounds)
    bounds.update({n: d.sampled for n, d in choice.distributions.items() if n in levers})
    for src in sources:
        bounds.update(source_bounds(model, src, _base_values(model, base)))
    space_names = [*levers, *(lv for src in sources for lv in src.levers)]
    if not space_names:
        raise SensitivityDesignError("the study varies nothing; name levers or a source")
    space = ParameterSpace(model, space_names, bounds=bounds or None, base=base)
    design = build_design(
        tuple(levers),
        space.bounds[: len(levers)],
        {n: d for n, d in choice.distributions.items() if n in levers},
        choice.groups,
        sources,
        space.names,
        space.base[space.columns],
    )
    grid = model.grid(space.base[None, :], varying=space.columns)  # the evaluator's grid
    times = resolve_times(at, grid.save_times)
    names = [v.strip() if "[" in v else model.variable(v).name for v in outputs]
    twice = next((v for k, v in enumerate(names) if v in names[:k]), None)
    if twice is not None:
        raise SensitivityDesignError(f"output '{twice}' is listed twice (--vars); list it once")
    outcomes = [Outcome(v, "value", at=float(t), name=f"{v} @ {t:g}") for v in names for t in times]
    evaluator = model.evaluator(space, outcomes, method=integration)
    label = base_label or (str(base) if isinstance(base, str | Path) else space.base_source)
    return Study(
        model,
        space,
        evaluator,
        tuple(names),
        times,
        label,
        levers_source,
        design=design,
        choice=choice,
        timing_drawn=timing_drawn,
    )


def _base_values(model: Model, base: BaseLike) -> np.ndarray:
    """The full parameter vector of a base (defaults, a scenario file or values)."""
    if base is None:
        return model.defaults()
    if isinstance(base, str | Path):
        base = read_scenario(base).parameters
    return model.parameter_matrix(dict(base), allow_out_of_range=True)[0]


def _read_sources(model: Model, choice: LeverChoice) -> tuple[EvidenceSource, ...]:
    """The ranges file's evidence sources, read; two that set one lever are refused.
    Errors name the ranges file, which gives the sources (not ``choice.source``, where
    the levers came from: the model's Levers view when the file names none)."""
    where = f"{choice.ranges_file or choice.source}: "
    sources = []
    if choice.cases:
        sources.append(case_source(model, choice.cases, where=where))
    if choice.posterior:
        sources.append(posterior_source(model, choice.posterior, where=where))
    if len(sources) == 2:
        both = [lv for lv in sources[0].levers if lv in sources[1].levers]
        if both:
            raise SensitivityDesignError(
                f"{where}'{both[0]}' is set by both the cases and the posterior; "
                "estimate it or map it, not both"
            )
    return tuple(sources)


def _levers_beside_sources(choice: LeverChoice, sources: tuple[EvidenceSource, ...]) -> list:
    """The levers varied on their own: those of the choice no source sets. A lever named
    explicitly and also set by a source is refused; the default set leaves it out."""
    sourced = {lv: src for src in sources for lv in src.levers}
    clash = [n for n in choice.names if n in sourced]
    if clash and not choice.from_view:
        src = sourced[clash[0]]
        raise SensitivityDesignError(
            f"{choice.source}: '{clash[0]}' is both varied and set by the {src.kind} "
            f"({src.path}); vary it or draw it from the {src.kind}, not both"
        )
    return [n for n in choice.names if n not in sourced]


def refuse_varied_in_base(model: Model, varied: Sequence[str], base: BaseLike, label: str) -> None:
    """Refuse a base (scenario file, fit estimates, values) that sets a varied lever.

    The sampled values replace a varied lever's base value in every run, so such a value
    does nothing while the study is labelled with the base: a scenario whose values are
    all among the varied levers gives the model defaults' indices under its own name.
    Names the base cannot resolve are left to ``ParameterSpace``, which names them.
    """
    if base is None:
        return
    if isinstance(base, str | Path):
        base = read_scenario(base).parameters
    known = {p.name for p in model.parameters}
    fixed = {_canonical_name(model, name) for name in base} & known
    clash = [name for name in varied if name in fixed]
    if clash:
        listed = ", ".join(f"'{name}'" for name in clash)
        raise SensitivityDesignError(
            f"{label} sets {len(clash)} of the levers the study varies ({listed}), whose "
            "sampled values would replace these in every run: vary only the other levers "
            "(--params) or leave these out of the base"
        )


def _canonical_name(model: Model, name: str) -> str:
    try:
        return model.parameter(name).name
    except GvcdynError:
        return name


def base_of(
    model: Model, scenario: str | Path | None = None, fit: str | Path | None = None
) -> tuple[BaseLike, str]:
    """The values every non-varied parameter keeps, and a label for them.

    Model defaults, overridden by a scenario file, overridden by a calibration fit's
    estimates (the fit decides the parameters it estimated; the scenario the rest).
    :func:`prepare` refuses a base that sets a lever the study varies.
    """

    if scenario is None and fit is None:
        return None, "model defaults"
    values: dict[str, float] = {}
    labels = []
    if scenario is not None:
        values.update(_canonical(model, read_scenario(scenario).parameters))
        labels.append(f"scenario {Path(scenario).name}")
    if fit is not None:
        values.update(_canonical(model, fit_estimates(fit)))
        made_for = fit_model_sha256(fit)
        stale = made_for is not None and made_for != model.ir.source_hash
        labels.append(f"fit {Path(fit).name}" + (" (made for another model version)" * stale))
    return values, ", ".join(labels)


def _canonical(model: Any, values: Mapping[str, float]) -> dict[str, float]:
    return {model.parameter(k).name: float(v) for k, v in values.items()}


def resolve_times(at: AtLike, save_times: np.ndarray) -> np.ndarray:
    """``final`` -> the last saved time; ``all`` -> every saved time; else the given times."""
    if isinstance(at, str):
        text = at.strip().lower()
        if text == "final":
            return save_times[-1:].copy()
        if text == "all":
            return save_times.copy()
        try:
            values = [float(part) for part in text.split(",") if part.strip()]
        except ValueError:
            raise SensitivityDesignError(
                f"--at {at!r}: give 'final', 'all' or saved times like 10,20,40"
            ) from None
    elif isinstance(at, int | float):
        values = [float(at)]
    else:
        values = [float(t) for t in at]
    if not values:
        raise SensitivityDesignError("no times to analyse; give 'final', 'all' or times")
    if not all(math.isfinite(v) for v in values):
        raise SensitivityDesignError(
            f"--at {at!r}: give 'final', 'all' or saved times like 10,20,40 (finite numbers)"
        )
    twice = next((v for k, v in enumerate(values) if v in values[:k]), None)
    if twice is not None:
        raise SensitivityDesignError(f"--at lists the time {twice:g} twice; list it once")
    return np.array(values, dtype=np.float64)


def _run_whole_groups(
    study: Study,
    X: np.ndarray,
    group: int,
    what: str,
    job: dict[str, Any],
    seed: int,
    chunk: int,
    progress: Progress,
    execution: Execution | None,
) -> DesignRuns:
    """Run a design (chunked, checkpointed as ``execution`` says) and keep whole groups.

    ``X`` holds the design's inputs; the runs take the space's parameters for them
    (the same array when every input is a uniform lever). The kept ``X`` is the inputs'.
    """
    design = study.design
    if not design.plain:
        job = {**job, "design": _describe_problem(study.problem)}
    Y, status = run_design(
        study.evaluator,
        design.runs(X),
        chunk=chunk,
        progress=progress,
        execution=execution,
        config=job,
        seed=seed,
    )
    return drop_failed_groups(X, Y, status, group, what=what)


def _describe_problem(problem: dict[str, Any]) -> dict[str, Any]:
    """The problem dict as plain lists (part of a checkpoint's fingerprint)."""
    return {k: v for k, v in problem.items() if k != "num_vars"}


def sobol(
    study: Study,
    n: int,
    *,
    second_order: bool = False,
    seed: int | None = None,
    num_resamples: int = 100,
    conf_level: float = 0.95,
    chunk: int = DEFAULT_CHUNK,
    progress: Progress = silent,
    command_line: Sequence[str] | None = None,
    execution: Execution | None = None,
) -> xr.Dataset:
    """Sobol' indices S1, ST (and S2) with intervals, as a Dataset (parameter, output, time).

    ``execution``: where the runs go (in-process by default, or a dask cluster) and
    whether finished chunks are checkpointed next to an output for a resume.
    """
    from SALib.sample import sobol as sobol_sample

    _check_power_of_two(n)
    check_bootstrap(num_resamples, conf_level)
    _check_more_than_one_group(study.design)
    seed = _seed(seed, execution)
    D = study.design.D  # groups (each lever its own when there are none)
    rows, m = n * block_size(D, second_order), len(study.evaluator.names)
    check_design_memory(rows, study.space.k, m, resamples=num_resamples, base=n)
    t0 = _clock()
    X = sobol_sample.sample(study.problem, n, calc_second_order=second_order, seed=seed)
    t1 = _clock()
    job = {"method": "sobol", "N": n, "second_order": second_order}
    kept = _run_whole_groups(
        study,
        X,
        block_size(D, second_order),
        "base sample",
        job,
        seed,
        chunk,
        progress,
        execution,
    )
    t2 = _clock()
    analysis = progress.task("analysis", kept.Y.shape[1])
    result = sobol_indices(
        kept.Y,
        D,
        second_order=second_order,
        num_resamples=num_resamples,
        conf_level=conf_level,
        seed=seed,
        progress=analysis.advance,
    )
    t3 = _clock()
    study.timings.update(_phases(t0, t1, t2, t3))
    settings = {
        "method": "sobol",
        "N": n,
        "N_analysed": result.N,
        "second_order": second_order,
        "num_resamples": num_resamples,
        "conf_level": conf_level,
        "seed": seed,
    }
    return _dataset.sobol_dataset(study, result, kept, settings, command_line)


def morris(
    study: Study,
    n: int,
    *,
    num_levels: int = 4,
    seed: int | None = None,
    num_resamples: int = 100,
    conf_level: float = 0.95,
    chunk: int = DEFAULT_CHUNK,
    progress: Progress = silent,
    command_line: Sequence[str] | None = None,
    execution: Execution | None = None,
) -> xr.Dataset:
    """Morris elementary effects (mu, mu_star, sigma, mu_star_conf): cheap screening.

    ``n`` trajectories of ``D + 1`` runs each; SALib's analysis per output column.
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.sample import morris as morris_sample

    if n < 2:
        raise SensitivityDesignError(f"Morris needs at least 2 trajectories, got {n}")
    check_bootstrap(num_resamples, conf_level)
    sourced = [i.name for i in study.design.inputs if i.source is not None]
    if sourced:
        raise SensitivityDesignError(
            f"Morris moves each input over {num_levels} levels, so the {sourced[0]} would take "
            f"only {num_levels} of its rows; use Sobol' (--method sobol) with evidence sources"
        )
    tails = [i for i in study.design.inputs if i.dist and i.dist.kind in _UNBOUNDED]
    if tails:
        raise SensitivityDesignError(
            f"Morris' levels include the ends of each input's range, where the "
            f"{tails[0].dist.kind} distribution of '{tails[0].name}' is infinite; give it "
            "a truncnorm or use Sobol'"
        )
    seed = _seed(seed, execution)
    D = study.design.D
    check_design_memory(n * (D + 1), study.space.k, len(study.evaluator.names))
    t0 = _clock()
    X = morris_sample.sample(study.problem, n, num_levels=num_levels, seed=seed)
    t1 = _clock()
    job = {"method": "morris", "N": n, "num_levels": num_levels}
    kept = _run_whole_groups(study, X, D + 1, "trajectory", job, seed, chunk, progress, execution)
    t2 = _clock()
    m = kept.Y.shape[1]
    analysis = progress.task("analysis", m)
    stats = {k: np.zeros((D, m)) for k in ("mu", "mu_star", "sigma", "mu_star_conf")}
    for j in range(m):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a constant column: sigma 0/0
            si = morris_analyze.analyze(
                dict(study.problem),
                kept.X,
                np.ascontiguousarray(kept.Y[:, j]),
                num_resamples=num_resamples,
                conf_level=conf_level,
                num_levels=num_levels,
                seed=seed,
            )
        for key, array in stats.items():
            array[:, j] = np.asarray(si[key], dtype=float)
        analysis.advance(1)
    t3 = _clock()
    study.timings.update(_phases(t0, t1, t2, t3))
    settings = {
        "method": "morris",
        "N": n,
        "num_levels": num_levels,
        "num_resamples": num_resamples,
        "conf_level": conf_level,
        "seed": seed,
    }
    return _dataset.morris_dataset(study, stats, kept, settings, command_line)


def _clock() -> tuple[float, float]:
    """Wall and process CPU seconds (CPU counts every thread: on a busy machine it shows
    what the work cost when the wall clock shows what waiting for the cores cost)."""
    return time.perf_counter(), time.process_time()


def analyse(
    model: Model | str | Path,
    levers: Sequence[str] | None = None,
    outputs: Sequence[str] = (),
    *,
    method: str = "sobol",
    n: int = 1024,
    at: AtLike = "final",
    ranges: str | Path | None = None,
    scenario: str | Path | None = None,
    fit: str | Path | None = None,
    second_order: bool = False,
    seed: int | None = None,
    num_resamples: int = 100,
    conf_level: float = 0.95,
    integration: str | None = None,
    progress: Progress = silent,
    command_line: Sequence[str] | None = None,
    execution: Execution | None = None,
    executor_for_runs: Callable[[int], Executor] | None = None,
) -> xr.Dataset:
    """A whole study, what ``gvcdyn sensitivity`` runs (``base_of``, ``prepare``, the
    kernel loaded, then ``sobol`` or ``morris``); ``gvcdyn.sensitivity(...)`` calls it.

    ``model``: a ``.mdl`` file, a shipped model's name or a loaded ``Model``; ``levers``
    the parameters varied (None: the model's Levers view); ``outputs`` the variables
    explained, at the times ``at`` ("final", "all" or times). ``method``: "sobol" (``n``
    a power of two, ``second_order`` for S2) or "morris" (``n`` trajectories).
    ``scenario`` (a file or the model's scenario's name) and ``fit`` (a fit file) give
    the values of everything not varied; ``ranges`` a ranges file.

    ``executor_for_runs``: called with the design's number of runs once the study is
    prepared, it gives the executor the runs go to (instead of ``execution``'s), closed
    when they are in; the command passes ``executor_from_options``, which starts a local
    cluster for a large design. A job left unfinished beside ``execution``'s output is
    refused, and the kernel compiled or loaded (the stage "loading the compiled kernel"),
    before it is called: no worker starts for a study that cannot run, and the workers
    load the kernel from the cache.
    """
    if method not in ("sobol", "morris"):
        raise SensitivityDesignError(f"method {method!r}: choose 'sobol' or 'morris'")
    if method == "morris" and second_order:  # not dropped in silence: Morris has no S2
        raise SensitivityDesignError(
            "--second-order (second_order=True) gives Sobol' pairwise indices S2, which "
            "Morris screening has none of: drop it, or use --method sobol"
        )
    check_bootstrap(num_resamples, conf_level)  # before the model is read and run
    if isinstance(model, str | Path):
        from gvcdyn.bundled.loading import load  # lazy: gvcdyn.bundled reads package data

        model = load(model)  # a path, or a shipped model's name, as gvcdyn.load takes
    if scenario is not None and model.path is not None:
        from gvcdyn.bundled import resolve_scenario  # lazy: as load above

        scenario = resolve_scenario(scenario, model.path)
    base, label = base_of(model, scenario, fit)
    study = prepare(
        model,
        [outputs] if isinstance(outputs, str) else list(outputs),
        at=at,
        params=[levers] if isinstance(levers, str) else levers,
        ranges=ranges,
        base=base,
        base_label=label,
        integration=integration,
    )
    if execution is not None and execution.output is not None:
        refuse_unfinished_job(
            execution.output, resume=execution.resume, resume_command=execution.resume_command
        )
    with progress.stage("loading the compiled kernel"):
        study.evaluator(study.space.scale(np.full((1, study.space.k), 0.5)))
    settings: dict[str, Any] = {
        "seed": seed,
        "num_resamples": num_resamples,
        "conf_level": conf_level,
        "progress": progress,
        "command_line": command_line,
    }
    if method == "sobol":
        settings["second_order"] = second_order
    analysis = sobol if method == "sobol" else morris
    if executor_for_runs is None:
        return analysis(study, n, execution=execution, **settings)
    D = study.design.D  # inputs or groups
    per_sample = block_size(D, second_order) if method == "sobol" else D + 1
    with executor_for_runs(n * per_sample) as executor:
        execution = replace(execution or Execution(), executor=executor)
        return analysis(study, n, execution=execution, **settings)


def _phases(*stamps: tuple[float, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, a, b in zip(("sampling", "runs", "analysis"), stamps, stamps[1:], strict=False):
        out[name] = b[0] - a[0]
        out[f"{name}_cpu"] = b[1] - a[1]
    return out


def _check_power_of_two(n: int) -> None:
    if n < 2 or n & (n - 1):
        low = 2 ** max(1, int(math.log2(max(n, 2))))
        raise SensitivityDesignError(
            f"N = {n}: Sobol' sampling needs a positive power of two (2, 4, 8, ...) for its "
            f"balance properties; use {low} or {low * 2}"
        )


def _check_more_than_one_group(design: Design) -> None:
    """Refuse one group holding every input: SALib's Sobol' sampler then ignores the
    groups (its ``_check_groups``) and draws a block per input, which the analysis read as
    blocks of the one group ("N runs do not form whole groups of 3"); and the index of
    the only group would be 1 by definition."""
    if design.grouped and design.D == 1:
        raise SensitivityDesignError(
            f"group '{design.labels[0]}' holds every input the study varies: its Sobol' "
            "indices would be 1 by definition; split it into groups, vary levers outside "
            "it, or screen it with --method morris"
        )


def _seed(seed: int | None, execution: Execution | None = None) -> int:
    """A seed is always recorded: a fresh one when none is given (never 0, which SALib's
    bootstrap would treat as 'no seed'), except in a resume, which takes the seed its job
    was drawn with (``Execution.saved_seed``)."""
    if seed is None and execution is not None:
        seed = execution.saved_seed()
    if seed is None:
        return int(np.random.SeedSequence().entropy % (2**31 - 1)) + 1
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SensitivityDesignError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)
