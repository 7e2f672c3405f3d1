"""The calibration config (``calibration/config.toml``): what to fit, to which cases, how.

Paths are relative to the config file. Every key has a default except the mapping, the
parameters to estimate and the outcomes; ``EXAMPLE_CONFIG`` (shown by
``gvcdyn calibrate --help``) is a complete example.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gvcdyn.bundled import resolve_calibration_config
from gvcdyn.errors import CalibrationConfigError
from gvcdyn.io.tomlfile import check_keys, read_toml

__all__ = [
    "EXAMPLE_CONFIG",
    "CalibrationConfig",
    "EstimatedParameter",
    "OutcomeSpec",
    "SparseCovariate",
    "load_config",
    "parse_config",
]

EXAMPLE_CONFIG = """\
# paths are relative to this file
model = "../models/gvc_upgrading.mdl"  # default: the mapping's model
cases = "gvc_cases.csv"
mapping = "case_levers.toml"
method = "euler"                # or "rk4", "rk23", "rk23:1e-6"; default: the declared one
# time_step = 0.0625            # override the model's TIME STEP
# checks = "../models/gvc_upgrading.checks.toml"  # reality checks as constraints: a
#                               # parameter vector that breaks one is outside the support
# revisions = "case_revisions.csv"  # sourced changes to the case table's codes

[estimate]                      # at most about eight; bounds: the model's
"Local Learning Rate" = { bounds = [0.05, 1.5] }
"Innovation Learning Rate" = { prior = { normal = [1.5, 0.5] } }

[[outcome]]                     # ordered levels, lowest first
column = "functional_upg"
levels = ["0", "1", "2"]
quantity = "Functional Upgrading"   # its value at the case's horizon
scale = 0.1                     # fixed: eta = quantity / scale

[[outcome]]
column = "outcome_class"
levels = ["decline", "treadmilling", "incremental", "leap-forward"]
quantity = "Cluster Market Position"

[weights]                       # case weights by a column
column = "confidence"
values = { high = 1.0, medium = 1.0, low = 0.5 }

[fit]
seeds = [1, 2, 3]               # one differential-evolution start each
popsize = 10                    # population = popsize x parameters
maxiter = 40                    # generations per start
tol = 1e-4
polish = "Powell"               # Powell | L-BFGS-B | Nelder-Mead | none
pseudo_count = 0.5              # weak prior: finite, ordered cutpoints

[uncertainty]
profile_points = 11             # grid points per parameter
bootstrap = 100                 # case-bootstrap replicates (0 = none)
bootstrap_starts = 4            # random starts of each replicate's refit, beside the estimate
seed = 7

[crossval]                      # run by `gvcdyn calibrate --crossval`
folds = 5
repeats = 2
loo = true
seed = 11
outcomes = ["outcome_class", "functional_upg"]
# model_start = true            # one more start per fold refit: the model's own values of
#                               # the estimated constants (default false: the centre of the
#                               # bounds and one Latin-hypercube point), for reality checks
#                               # that hold at the model's values but not at the centre
# optional: a sparse ordered logit on a few coded covariates, a baseline beside the
# class frequencies and the context logit (an indicator, or a count over columns)
[[crossval.sparse]]
name = "captive governance"
column = "governance"
values = ["captive"]
[[crossval.sparse]]
name = "sources of learning present"
columns = ["learn_state_agency", "learn_business_assoc", "learn_univ_research", "learn_fdi"]
values = ["1"]

[posterior]                     # optional: posterior draws with emcee (none without it)
steps = 2000                    # ensemble moves per walker
walkers = 32                    # default max(4 x parameters, 16)
burn = 1000                     # moves dropped from each walker's start (default half)
thin = 1
seed = 13
moves = "stretch"               # emcee's moves: "stretch" (default) or "de" (DE 0.8 + snooker 0.2)
"""


@dataclass(frozen=True)
class EstimatedParameter:
    """A model constant to estimate: bounds and an optional normal prior (mean, sd)."""

    name: str
    bounds: tuple[float, float] | None = None
    prior_normal: tuple[float, float] | None = None


@dataclass(frozen=True)
class OutcomeSpec:
    """An ordinal case column and the model quantity it is read from."""

    column: str
    levels: tuple[str, ...]
    quantity: str
    scale: float = 1.0


#: the ``[posterior]`` table's ``moves`` values (see :class:`PosteriorSettings`)
POSTERIOR_MOVES = ("stretch", "de")


@dataclass(frozen=True)
class PosteriorSettings:
    """How long and how wide the ensemble runs.

    ``walkers``: None for ``max(4 k, 16)`` rounded up to even (emcee needs at least 2 k
    and an even number for its two halves). ``burn``: steps dropped from the start of
    each walker, None for half of ``steps``. ``thin``: keep every ``thin``-th step.
    ``moves``: emcee's proposal, one of :data:`POSTERIOR_MOVES`: "stretch" (emcee's
    default stretch move) or "de", the mixture ``[(DEMove(), 0.8), (DESnookerMove(),
    0.2)]`` that emcee's guide recommends for correlated posteriors ("Using different
    moves", https://emcee.readthedocs.io/en/stable/tutorials/moves/): the stretch move
    mixed slowly on the GVC posterior (autocorrelation time 74-86 moves, issue 19).
    """

    steps: int = 2000
    walkers: int | None = None
    burn: int | None = None
    thin: int = 1
    seed: int = 0
    moves: str = "stretch"

    def resolved(self, k: int) -> tuple[int, int, int]:
        """``(walkers, burn, thin)`` for ``k`` parameters, checked."""
        walkers = self.walkers if self.walkers is not None else max(4 * k, 16)
        walkers += walkers % 2
        burn = self.steps // 2 if self.burn is None else self.burn
        if self.steps < 2:
            raise CalibrationConfigError(f"posterior steps must be >= 2, got {self.steps}")
        if walkers < 2 * k:
            raise CalibrationConfigError(
                f"posterior walkers must be at least twice the {k} estimated parameters "
                f"(emcee's stretch move needs it), got {walkers}"
            )
        if not 0 <= burn < self.steps:
            raise CalibrationConfigError(
                f"posterior burn must be in [0, steps) = [0, {self.steps}), got {burn}"
            )
        if self.thin < 1 or (self.steps - burn) // self.thin < 2:
            raise CalibrationConfigError(
                f"posterior thin {self.thin} keeps fewer than 2 of the {self.steps - burn} "
                "steps after burn-in; lower thin or raise steps"
            )
        if self.moves not in POSTERIOR_MOVES:
            raise CalibrationConfigError(
                f"posterior moves must be one of {', '.join(map(repr, POSTERIOR_MOVES))}, "
                f"got {self.moves!r}"
            )
        return walkers, burn, self.thin


@dataclass(frozen=True)
class SparseCovariate:
    """One covariate of the sparse baseline, read from the case table's own columns:
    an indicator (``column``'s value among ``values`` or starting with one of
    ``prefixes``) or a count (how many of ``columns`` hold one of ``values``)."""

    name: str
    columns: tuple[str, ...]
    values: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    count: bool = False


@dataclass(frozen=True)
class CalibrationConfig:
    path: Path | None
    text: str
    model: Path | None
    cases: Path
    mapping: Path
    method: str | None  # None: the model's declared method (Model.integration)
    time_step: float | None
    estimate: tuple[EstimatedParameter, ...]
    outcomes: tuple[OutcomeSpec, ...]
    weight_column: str | None = None
    weight_values: dict[str, float] = field(default_factory=dict)
    seeds: tuple[int, ...] = (1, 2, 3)
    popsize: int = 10
    maxiter: int = 40
    tol: float = 1e-4
    polish: str = "Powell"
    pseudo_count: float = 0.5
    profile_points: int = 11
    bootstrap: int = 100
    bootstrap_starts: int = 4
    uncertainty_seed: int = 7
    cv_folds: int = 5
    cv_repeats: int = 2
    cv_loo: bool = True
    cv_seed: int = 11
    # the fold refits also start from the model's values of the estimated constants
    cv_model_start: bool = False
    cv_outcomes: tuple[str, ...] = ()
    cv_sparse: tuple[SparseCovariate, ...] = ()
    posterior: PosteriorSettings | None = None
    checks: Path | None = None
    revisions: Path | None = None  # sourced changes to the case table (calibrate.revisions)

    def with_seed(self, seed: int) -> CalibrationConfig:
        """The config with its random seeds derived from one user seed (``--seed``).

        Refused unless an integer >= 0, as the config's own seeds are: numpy's generators
        take no negative seed, and a negative one failed only in the first task.
        """
        from dataclasses import replace

        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise CalibrationConfigError(
                f"--seed {seed}: give an integer >= 0 (every seed of the fit is derived from it)"
            )
        return replace(
            self,
            seeds=tuple(seed + 1000 * i for i in range(len(self.seeds))),
            uncertainty_seed=seed + 7,
            cv_seed=seed + 11,
            posterior=None if self.posterior is None else replace(self.posterior, seed=seed + 13),
        )


def load_config(path: str | Path) -> CalibrationConfig:
    doc, text = read_toml(path, what="calibration config", invalid=CalibrationConfigError)
    return parse_config(doc, path=Path(path), text=text)


def as_config(config: CalibrationConfig | Mapping[str, Any] | str | Path) -> CalibrationConfig:
    """A calibration config from what a caller has: one already read, a mapping with the
    config file's keys (its paths relative to the working directory), or a TOML file (or
    a shipped model's name: ``gvcdyn.bundled.resolve_calibration_config``)."""
    if isinstance(config, CalibrationConfig):
        return config
    if isinstance(config, Mapping):
        return parse_config(dict(config))
    return load_config(resolve_calibration_config(config))


def _table(doc: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise CalibrationConfigError(f"{where}: [{key}] must be a table")
    return value


def _check_keys(table: dict[str, Any], known: set[str], where: str) -> None:
    check_keys(table, known, where, CalibrationConfigError)


def _pair(value: Any, where: str) -> tuple[float, float]:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in value
        )
    ):
        raise CalibrationConfigError(f"{where}: give two finite numbers [a, b], got {value!r}")
    return float(value[0]), float(value[1])


def _int(table: dict[str, Any], key: str, default: int, where: str, low: int = 0) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise CalibrationConfigError(f"{where}: {key} must be an integer >= {low}, got {value!r}")
    return value


def _float(table: dict[str, Any], key: str, default: float, where: str) -> float:
    value = table.get(key, default)
    if not _number(value) or not 0 <= value < math.inf:  # tol = inf stopped every search
        raise CalibrationConfigError(f"{where}: {key} must be a finite number >= 0, got {value!r}")
    return float(value)


def _number(value: Any) -> bool:
    """A TOML number (an integer or a float, not a boolean: true is no weight or size)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _bool(table: dict[str, Any], key: str, default: bool, where: str) -> bool:
    """A switch of the config: TOML's true or false only, since Python's truth of a
    string would read loo = "false" as true."""
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise CalibrationConfigError(f"{where}: {key} must be true or false, got {value!r}")
    return value


def _text(value: Any, where: str) -> str:
    """A name in the config (a column, a model quantity): a string, since the text of a
    list ("['Skill Index']") is no name and was looked up as one."""
    if not isinstance(value, str) or not value:
        raise CalibrationConfigError(f'{where} must be a name in quotes, e.g. "x", got {value!r}')
    return value


def _weight_values(weights: dict[str, Any], where: str) -> dict[str, float]:
    """``[weights] values``: a table of level = weight, each a finite number >= 0."""
    values = weights.get("values", {})
    if not isinstance(values, dict):
        raise CalibrationConfigError(
            f"{where}: values must be a table of level = weight, e.g. {{ high = 1.0 }}, "
            f"got {values!r}"
        )
    bad = next((k for k, v in values.items() if not (_number(v) and 0 <= v < math.inf)), None)
    if bad is not None:
        raise CalibrationConfigError(
            f"{where}: values must be numbers >= 0, got {bad} = {values[bad]!r}"
        )
    return {str(k): float(v) for k, v in values.items()}


def parse_config(
    doc: dict[str, Any], *, path: Path | None = None, text: str = ""
) -> CalibrationConfig:
    where = f"calibration config {path}" if path else "calibration config"
    root = path.parent if path else Path.cwd()
    _check_keys(
        doc,
        {
            "model",
            "cases",
            "mapping",
            "method",
            "time_step",
            "estimate",
            "outcome",
            "weights",
            "fit",
            "uncertainty",
            "crossval",
            "posterior",
            "checks",
            "revisions",
        },
        where,
    )
    for key in ("cases", "mapping"):
        if key not in doc:
            raise CalibrationConfigError(f"{where}: '{key}' (a path) is required")

    def resolve(value: Any) -> Path:
        p = Path(str(value))
        return p if p.is_absolute() else (root / p).resolve()

    estimate = []
    for name, spec in _table(doc, "estimate", where).items():
        w = f"{where}, [estimate] '{name}'"
        if not isinstance(spec, dict):
            raise CalibrationConfigError(f"{w}: give a table, e.g. {{ bounds = [0, 1] }}")
        _check_keys(spec, {"bounds", "prior"}, w)
        bounds = _pair(spec["bounds"], f"{w}, bounds") if "bounds" in spec else None
        if bounds and not bounds[0] < bounds[1]:
            raise CalibrationConfigError(f"{w}: bounds need low < high, got {list(bounds)}")
        prior = spec.get("prior", "uniform")
        normal = None
        if isinstance(prior, dict) and set(prior) == {"normal"}:
            normal = _pair(prior["normal"], f"{w}, prior.normal")
            if normal[1] <= 0:
                raise CalibrationConfigError(f"{w}: the prior's sd must be > 0")
        elif prior != "uniform":
            raise CalibrationConfigError(
                f'{w}: prior must be "uniform" or {{ normal = [mean, sd] }}, got {prior!r}'
            )
        estimate.append(EstimatedParameter(str(name), bounds, normal))
    if not estimate:
        raise CalibrationConfigError(f"{where}: [estimate] lists no parameter to estimate")

    outcomes = []
    raw_outcomes = doc.get("outcome", [])
    if not isinstance(raw_outcomes, list) or not raw_outcomes:
        raise CalibrationConfigError(f"{where}: give at least one [[outcome]]")
    for i, spec in enumerate(raw_outcomes):
        w = f"{where}, [[outcome]] #{i + 1}"
        if not isinstance(spec, dict):
            raise CalibrationConfigError(f"{w}: must be a table")
        _check_keys(spec, {"column", "levels", "quantity", "scale"}, w)
        for key in ("column", "levels", "quantity"):
            if key not in spec:
                raise CalibrationConfigError(f"{w}: '{key}' is required")
        levels = spec["levels"]
        if (
            not isinstance(levels, list)
            or len(levels) < 2
            or len(set(map(str, levels))) != len(levels)
        ):
            raise CalibrationConfigError(f"{w}: levels must list two or more distinct values")
        scale = spec.get("scale", 1.0)
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not scale > 0:
            raise CalibrationConfigError(f"{w}: scale must be a number > 0")
        outcomes.append(
            OutcomeSpec(
                _text(spec["column"], f"{w}: column"),
                tuple(str(v) for v in levels),
                _text(spec["quantity"], f"{w}: quantity"),
                float(scale),
            )
        )
    columns = [o.column for o in outcomes]
    if len(set(columns)) != len(columns):
        raise CalibrationConfigError(f"{where}: an outcome column is listed twice")

    weights = _table(doc, "weights", where)
    _check_keys(weights, {"column", "values"}, where + " [weights]")
    weight_values = _weight_values(weights, where + " [weights]")
    if "column" in weights:
        _text(weights["column"], f"{where} [weights] column")
    if "column" in weights and not weight_values:
        raise CalibrationConfigError(f"{where}: [weights] needs values = {{ level = weight }}")

    fit = _table(doc, "fit", where)
    w = where + " [fit]"
    _check_keys(fit, {"seeds", "popsize", "maxiter", "tol", "polish", "pseudo_count"}, w)
    seeds = fit.get("seeds", [1, 2, 3])
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
    ):
        raise CalibrationConfigError(f"{w}: seeds must be a list of integers >= 0")
    twice = next((s for i, s in enumerate(seeds) if s in seeds[:i]), None)
    if twice is not None:  # each start is seeded on its own: the same search twice
        raise CalibrationConfigError(
            f"{w}: seed {twice} is listed twice in seeds; a start is the same search "
            "whenever its seed is, so give distinct seeds (one per start)"
        )
    polish = str(fit.get("polish", "Powell"))
    if polish not in ("Powell", "L-BFGS-B", "Nelder-Mead", "none"):
        raise CalibrationConfigError(f"{w}: polish must be Powell, L-BFGS-B, Nelder-Mead or none")
    unc = _table(doc, "uncertainty", where)
    wu = where + " [uncertainty]"
    _check_keys(unc, {"profile_points", "bootstrap", "bootstrap_starts", "seed"}, wu)
    cv = _table(doc, "crossval", where)
    wc = where + " [crossval]"
    _check_keys(cv, {"folds", "repeats", "loo", "seed", "outcomes", "sparse", "model_start"}, wc)
    model_start = cv.get("model_start", False)
    if not isinstance(model_start, bool):
        raise CalibrationConfigError(f"{wc}: model_start must be true or false")
    cv_outcomes = cv.get("outcomes", columns)
    if not isinstance(cv_outcomes, list | tuple) or not all(
        isinstance(c, str) for c in cv_outcomes
    ):  # a string was read letter by letter: "outcome 'o' is not an [[outcome]] column"
        raise CalibrationConfigError(
            f'{wc}: outcomes must be a list of [[outcome]] columns, e.g. ["{columns[0]}"], '
            f"got {cv_outcomes!r}"
        )
    cv_outcomes = tuple(cv_outcomes)
    unknown = [c for c in cv_outcomes if c not in columns]
    if unknown:
        raise CalibrationConfigError(f"{wc}: outcome '{unknown[0]}' is not an [[outcome]] column")
    posterior = _posterior(doc, where, len(estimate))
    method = None if doc.get("method") is None else str(doc["method"])
    time_step = doc.get("time_step")
    if time_step is not None and (
        isinstance(time_step, bool) or not isinstance(time_step, int | float) or not time_step > 0
    ):
        raise CalibrationConfigError(f"{where}: time_step must be a number > 0")
    return CalibrationConfig(
        path=path,
        text=text,
        model=resolve(doc["model"]) if "model" in doc else None,
        cases=resolve(doc["cases"]),
        mapping=resolve(doc["mapping"]),
        method=method,
        time_step=None if time_step is None else float(time_step),
        estimate=tuple(estimate),
        outcomes=tuple(outcomes),
        weight_column=str(weights["column"]) if "column" in weights else None,
        weight_values=weight_values,
        seeds=tuple(seeds),
        popsize=_int(fit, "popsize", 10, w, 2),
        maxiter=_int(fit, "maxiter", 40, w, 1),
        tol=_float(fit, "tol", 1e-4, w),
        polish=polish,
        pseudo_count=_float(fit, "pseudo_count", 0.5, w),
        profile_points=_int(unc, "profile_points", 11, wu, 0),
        bootstrap=_int(unc, "bootstrap", 100, wu, 0),
        bootstrap_starts=_int(unc, "bootstrap_starts", 4, wu, 0),
        uncertainty_seed=_int(unc, "seed", 7, wu),
        cv_folds=_int(cv, "folds", 5, wc, 2),
        cv_repeats=_int(cv, "repeats", 2, wc, 1),
        cv_loo=_bool(cv, "loo", True, wc),
        cv_seed=_int(cv, "seed", 11, wc),
        cv_model_start=model_start,
        cv_outcomes=cv_outcomes,
        cv_sparse=_sparse(cv.get("sparse", []), wc),
        posterior=posterior,
        checks=resolve(doc["checks"]) if "checks" in doc else None,
        revisions=resolve(doc["revisions"]) if "revisions" in doc else None,
    )


def _sparse(entries: Any, where: str) -> tuple[SparseCovariate, ...]:
    """The ``[[crossval.sparse]]`` covariates, checked (their columns are checked against
    the case table when the cross-validation runs)."""
    if not isinstance(entries, list):
        raise CalibrationConfigError(f"{where}: 'sparse' must be a list of [[crossval.sparse]]")
    out = []
    for i, entry in enumerate(entries):
        w = f"{where}, sparse covariate {i + 1}"
        if not isinstance(entry, dict):
            raise CalibrationConfigError(f"{w}: give a table with name, column(s), values")
        _check_keys(entry, {"name", "column", "columns", "values", "prefixes"}, w)
        if ("column" in entry) == ("columns" in entry):
            raise CalibrationConfigError(
                f"{w}: give 'column' (an indicator) or 'columns' (a count), not both or neither"
            )
        columns = [entry["column"]] if "column" in entry else entry["columns"]
        values, prefixes = entry.get("values", []), entry.get("prefixes", [])
        texts = [columns, values, prefixes]
        if not all(isinstance(t, list) and all(isinstance(v, str) for v in t) for t in texts):
            raise CalibrationConfigError(f"{w}: column(s), values and prefixes must be strings")
        if not values and not prefixes:
            raise CalibrationConfigError(f"{w}: give the 'values' (or 'prefixes') that count")
        out.append(
            SparseCovariate(
                name=str(entry.get("name", columns[0])),
                columns=tuple(columns),
                values=tuple(values),
                prefixes=tuple(prefixes),
                count="columns" in entry,
            )
        )
    return tuple(out)


def _posterior(doc: dict[str, Any], where: str, k: int) -> PosteriorSettings | None:
    """The ``[posterior]`` table (none: no posterior is sampled), checked for ``k``
    estimated parameters."""
    if "posterior" not in doc:
        return None
    table = _table(doc, "posterior", where)
    wp = where + " [posterior]"
    _check_keys(table, {"steps", "walkers", "burn", "thin", "seed", "moves"}, wp)
    settings = PosteriorSettings(
        steps=_int(table, "steps", 2000, wp, 2),
        walkers=_int(table, "walkers", 0, wp, 2) if "walkers" in table else None,
        burn=_int(table, "burn", 0, wp, 0) if "burn" in table else None,
        thin=_int(table, "thin", 1, wp, 1),
        seed=_int(table, "seed", 13, wp),
        moves=table.get("moves", "stretch"),
    )
    try:
        settings.resolved(k)
    except CalibrationConfigError as exc:
        raise CalibrationConfigError(f"{wp}: {exc}") from None
    return settings
