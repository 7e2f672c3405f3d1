"""What-if inputs: scenario files, ``--set`` and ``--sweep``, turned into one batch of runs.

A modeler states a what-if in the model's own lever names: a TOML scenario file
(``description = "..."`` and a ``[parameters]`` table), ``--set NAME=VALUE`` on the
command line, or ``--sweep NAME=START:STOP:N`` for a grid. This module checks every name
and value against the model *before* anything is compiled or run, so a typo or an
out-of-range value costs a second, not a kernel compile, and the error names the file,
the key and the allowed range. It then lays all runs side by side (scenarios x the
cartesian product of sweeps) so that they go through ONE ``Model.run`` call.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gvcdyn.errors import (
    ParameterValueError,
    ScenarioFileError,
    ScenarioFormatError,
    SpecSyntaxError,
    UnknownParameterError,
    structural_parameter_error,
)
from gvcdyn.io.scenario_files import Scenario, read_scenario
from gvcdyn.names import first_repeat

if TYPE_CHECKING:
    from gvcdyn.language.ir import Parameter

__all__ = [
    "RANGE_HINT",
    "Batch",
    "Scenario",
    "ScenarioFileError",
    "ScenarioFormatError",
    "SpecSyntaxError",
    "build_batch",
    "lever_keys",
    "parse_set",
    "parse_sweep",
    "read_scenario",
    "resolve_levers",
    "resolve_parameters",
]


@dataclass(frozen=True)
class Batch:
    """All runs of one what-if request, checked once against the model, ready to run.

    ``params`` maps canonical lever names to one value per run (defaults filled in where
    a scenario leaves a lever alone), ``labels`` names each run for tables, legends and
    the ``scenario`` coordinate, ``bases`` the scenario each run starts from, ``levers``
    lists the levers the user touched (in first-mention order): these become the lever
    coordinates of the result; ``swept`` the levers of ``--sweep`` (in order).

    ``parameters`` are the model's parameters of ``levers`` (one each) and ``defaults``
    the model's parameter row: with them the batch is its own parameter matrix
    (``matrix``) and says which columns vary (``varying``), so nothing downstream looks
    a name up or checks a value again.
    """

    labels: tuple[str, ...]
    descriptions: tuple[str, ...]
    params: dict[str, np.ndarray]
    levers: tuple[str, ...]
    bases: tuple[str, ...] = ()
    swept: tuple[str, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    defaults: np.ndarray | None = None

    @property
    def n_runs(self) -> int:
        return len(self.labels)

    @property
    def columns(self) -> np.ndarray:
        """The parameter-matrix column of each lever, in the order of ``levers``."""
        return np.array([p.column for p in self.parameters], dtype=np.int64)

    def lever_matrix(self) -> np.ndarray:
        """``(runs, levers)``: each run's value of every lever the request touched."""
        columns = [self.params[name] for name in self.levers]
        return np.stack(columns, axis=1) if columns else np.zeros((self.n_runs, 0))

    def matrix(self, X: np.ndarray | None = None) -> np.ndarray:
        """The model's ``(runs, P)`` parameter matrix: its defaults, with the lever values
        ``X`` (default: every run's, ``lever_matrix()``) in the levers' columns."""
        if self.defaults is None:
            raise ParameterValueError("this batch was built without its model's defaults")
        X = self.lever_matrix() if X is None else X
        matrix = np.tile(self.defaults, (len(X), 1))
        matrix[:, self.columns] = X
        return matrix

    def shared_row(self) -> np.ndarray:
        """One parameter row holding every value all runs share (see ``varying``)."""
        return self.matrix(self.lever_matrix()[:1])[0]

    def varying(self) -> np.ndarray:
        """The columns whose values differ between runs (a simulation control may not
        read those): ``Model.grid(batch.shared_row()[None, :], varying=batch.varying())``."""
        moves = [p.column for p in self.parameters if np.ptp(self.params[p.name]) != 0]
        return np.array(moves, dtype=np.int64)


# --------------------------------------------------------------------------- reading


def parse_set(text: str) -> tuple[str, float]:
    """Parse ``NAME=VALUE`` (the lever name may contain spaces; quote it in the shell)."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name or not value.strip():
        raise SpecSyntaxError(f'--set {text!r}: expected NAME=VALUE, e.g. --set "Shock Size=0.5"')
    try:
        number = float(value)
    except ValueError:
        raise SpecSyntaxError(f"--set {text!r}: value {value.strip()!r} is not a number") from None
    if not math.isfinite(number):
        raise SpecSyntaxError(f"--set {text!r}: value must be a finite number")
    return name, number


MAX_SWEEP_POINTS = 100_000  # per swept lever; the whole grid is capped in build_batch
MAX_BATCH_RUNS = 1_000_000


def parse_sweep(text: str) -> tuple[str, np.ndarray]:
    """Parse ``NAME=START:STOP:N`` into N evenly spaced values from START to STOP inclusive."""
    example = 'e.g. --sweep "Shock Size=0:0.8:5"'
    name, sep, spec = text.partition("=")
    name = name.strip()
    parts = spec.split(":")
    if not sep or not name or len(parts) != 3:
        raise SpecSyntaxError(f"--sweep {text!r}: expected NAME=START:STOP:N, {example}")
    try:
        start, stop = float(parts[0]), float(parts[1])
    except ValueError:
        raise SpecSyntaxError(
            f"--sweep {text!r}: START and STOP must be numbers, {example}"
        ) from None
    try:
        count = int(parts[2])
    except ValueError:
        raise SpecSyntaxError(
            f"--sweep {text!r}: N must be a whole number of values, {example}"
        ) from None
    if not 1 <= count <= MAX_SWEEP_POINTS:
        raise SpecSyntaxError(f"--sweep {text!r}: N must be between 1 and {MAX_SWEEP_POINTS:,}")
    if not (math.isfinite(start) and math.isfinite(stop)):
        raise SpecSyntaxError(f"--sweep {text!r}: START and STOP must be finite")
    return name, np.linspace(start, stop, count)


# --------------------------------------------------------------------------- checking

#: Vensim's control variables, which are settings of a run rather than levers, and how to
#: change each one instead.
_SETTINGS = {
    "final time": "change it with --final-time (or final_time= in the library)",
    "time step": "change it with --time-step (or time_step= in the library)",
    "initial time": "it cannot be changed per run; edit INITIAL TIME in the model",
    "saveper": "it cannot be changed per run; choose what is saved with --vars",
}


def _setting_of(key: str, advice: dict[str, str] = _SETTINGS) -> str | None:
    """What to use instead when ``key`` names a simulation setting (FINAL TIME...):
    ``advice``'s entry for it (a command with other options passes its own table)."""
    return advice.get(" ".join(key.lower().replace("_", " ").split()))


def refuse_setting(source: str, key: str, advice: dict[str, str] = _SETTINGS) -> None:
    """Raise ``UnknownParameterError`` when ``key`` (given by ``source``) names a
    simulation setting rather than a lever, saying what to use instead; a lookup would
    otherwise answer 'unknown parameter ...; did you mean' a lever of a similar name."""
    setting = _setting_of(key, advice)
    if setting is not None:
        raise UnknownParameterError(
            f"{source}: {key!r} is a simulation setting, not a lever; {setting}"
        )


def resolve_levers(
    model: Any,
    given: Sequence[tuple[str, str, float | np.ndarray]],
    *,
    allow_out_of_range: bool = False,
) -> list[tuple[Parameter, np.ndarray]]:
    """The one check of a request's lever values: ``(source, key, values)`` each, in order.

    Each key is looked up once (``Model.parameter``; case and spaces/underscores ignored)
    and its values checked once (``check_lever``). ``source`` (a file name, ``--set
    'X=1'``...) starts every message, so the user knows which input to fix. Returns
    ``(parameter, 1-D array of values)`` per entry.
    """
    resolved: list[tuple[Parameter, np.ndarray]] = []
    for source, key, value in given:
        refuse_setting(source, key)
        try:
            param = model.parameter(key)
        except UnknownParameterError as exc:
            raise UnknownParameterError(f"{source}: key {key!r}: {exc}") from None
        column = np.atleast_1d(np.asarray(value, dtype=np.float64))
        check_lever(model, param, column, f"{source}: key {key!r}", allow_out_of_range)
        resolved.append((param, column))
    return resolved


#: what to do about a lever value outside its documented range (a reality-check file,
#: which has no such option, gives its own advice instead)
RANGE_HINT = "use a value inside it or pass --allow-out-of-range"


def check_lever(
    model: Any, param: Parameter, column: np.ndarray, where: str, allow_out_of_range: bool
) -> None:
    """Refuse lever values no run can take: a structural parameter changed (always), NaN
    or a value outside the documented range (unless ``allow_out_of_range``); ``where``
    starts the message."""
    if param.variable in model.ir.structural:
        same = (column == param.default) | (np.isnan(column) & math.isnan(param.default))
        if not same.all():
            raise structural_parameter_error(param.name, where=where)
    if not allow_out_of_range:
        param.check_values(column, where, "the allowed range {range} of '{name}'", RANGE_HINT)


def resolve_parameters(
    model: Any,
    values: Mapping[str, float | np.ndarray],
    source: str,
    *,
    allow_out_of_range: bool = False,
) -> dict[str, np.ndarray]:
    """Map user-spelled lever names to the model's names, checking names and values
    (``resolve_levers`` of one source). Returns ``{canonical name: 1-D array of values}``.
    """
    given = [(source, key, value) for key, value in values.items()]
    resolved = resolve_levers(model, given, allow_out_of_range=allow_out_of_range)
    named = {key: param.name for (_, key, _), (param, _) in zip(given, resolved, strict=True)}
    if repeat := first_repeat((name, key) for key, name in named.items()):
        first, key = repeat  # two spellings of one name: the last would win silently
        raise ParameterValueError(
            f"{source}: parameter '{named[key]}' is given twice (as '{first}' and '{key}'); "
            "give it once"
        )
    return {param.name: column for param, column in resolved}


# --------------------------------------------------------------------------- batching


def _fmt(value: float) -> str:
    return f"{value:.6g}"


#: ``--set`` texts (``NAME=VALUE``) or a mapping of lever name to value
SetsLike = Sequence[str] | Mapping[str, float]
#: ``--sweep`` texts (``NAME=START:STOP:N``) or a mapping of lever name to its values
SweepsLike = Sequence[str] | Mapping[str, Sequence[float] | np.ndarray]


def _given_sets(sets: SetsLike) -> list[tuple[str, str, float]]:
    """``(source, name, value)`` of each set lever; ``source`` starts its messages."""
    if not isinstance(sets, Mapping):
        return [(f"--set {text!r}", *parse_set(text)) for text in sets]
    given = []
    for name, value in sets.items():
        source = f"sets[{name!r}]"
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            raise SpecSyntaxError(f"{source}: give one number, got {value!r}")
        if not math.isfinite(value):
            raise SpecSyntaxError(f"{source}: the value must be a finite number, got {value}")
        given.append((source, str(name), float(value)))
    return given


def _given_sweeps(sweeps: SweepsLike) -> list[tuple[str, str, np.ndarray]]:
    """``(source, name, values)`` of each swept lever; ``source`` starts its messages."""
    if not isinstance(sweeps, Mapping):
        return [(f"--sweep {text!r}", *parse_sweep(text)) for text in sweeps]
    given = []
    for name, values in sweeps.items():
        source = f"sweeps[{name!r}]"
        try:
            grid = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise SpecSyntaxError(f"{source}: give a sequence of numbers, got {values!r}") from None
        if grid.ndim != 1 or not 1 <= len(grid) <= MAX_SWEEP_POINTS:
            raise SpecSyntaxError(
                f"{source}: give a sequence of 1 to {MAX_SWEEP_POINTS:,} numbers, got {values!r}"
            )
        if not np.isfinite(grid).all():
            raise SpecSyntaxError(f"{source}: every value must be a finite number")
        given.append((source, str(name), grid))
    return given


def _canonical(
    given: Sequence[tuple[str, str, Any]],
    resolved: Iterator[tuple[Parameter, np.ndarray]],
    parameters: dict[str, Parameter],
) -> Iterator[tuple[str, str, np.ndarray]]:
    """(source, lever's canonical name, checked values) of each of ``given``, taken in turn
    from ``resolved`` (``resolve_levers`` of them, in the same order); each lever's
    ``Parameter`` is recorded in ``parameters``."""
    for source, _, _ in given:
        param, values = next(resolved)
        parameters.setdefault(param.name, param)
        yield source, param.name, values


def _say_set_replaces(
    source: str,
    lever: str,
    value: float,
    bases: Sequence[Scenario],
    checked: Sequence[Mapping[str, np.ndarray]],
) -> None:
    """Warn when a ``--set`` value replaces another that a scenario gives the same lever:
    the runs keep the scenario's name, so neither the label nor the summary would show
    that the scenario's own value was not used."""
    replaced = [
        f"{scenario.name} (= {float(values[lever][0]):g})"
        for scenario, values in zip(bases, checked, strict=True)
        if lever in values and float(values[lever][0]) != value
    ]
    if replaced:
        whose = "its runs keep its name" if len(replaced) == 1 else "their runs keep their names"
        warnings.warn(
            f"{source} replaces '{lever}' of scenario{'s' if len(replaced) > 1 else ''} "
            f"{', '.join(replaced)}; {whose} and run with {value:g}",
            stacklevel=3,
        )


def build_batch(
    model: Any,
    scenarios: Sequence[Scenario] = (),
    sets: SetsLike = (),
    sweeps: SweepsLike = (),
    *,
    allow_out_of_range: bool = False,
) -> Batch:
    """Lay out every run of a what-if request: scenarios x product of the sweeps.

    ``sets`` and ``sweeps`` are the command line's texts or plain mappings (``{"Shock
    Size": 0.5}``, ``{"Buyer Support": [0, 0.5, 1]}``). Precedence, from weakest to
    strongest: model defaults, the scenario file, ``--set`` (applies to every run),
    ``--sweep``. With no scenario the model's defaults are the single base ("default").
    Everything is validated here, before the kernel is touched.
    """
    bases = list(scenarios) or [Scenario("default", {}, "model defaults", "defaults")]
    set_given = _given_sets(sets)
    sweep_given = _given_sweeps(sweeps)
    # every name and value of the request through the one check, in the order given
    given = [(s.source or s.name, key, value) for s in bases for key, value in s.parameters.items()]
    given += [*set_given, *sweep_given]
    resolved = iter(resolve_levers(model, given, allow_out_of_range=allow_out_of_range))
    parameters: dict[str, Parameter] = {}
    checked_bases: list[dict[str, np.ndarray]] = []
    for scenario in bases:
        checked_bases.append({})
        for param, column in itertools.islice(resolved, len(scenario.parameters)):
            parameters.setdefault(param.name, param)
            checked_bases[-1][param.name] = column
    set_values: dict[str, np.ndarray] = {}
    for source, canonical, column in _canonical(set_given, resolved, parameters):
        if canonical in set_values:
            raise SpecSyntaxError(
                f"{source}: '{canonical}' is set twice (first to "
                f"{set_values[canonical][0]:g}); give each lever once, or --sweep it"
            )
        set_values[canonical] = column
        _say_set_replaces(source, canonical, float(column[0]), bases, checked_bases)
    sweep_axes: dict[str, np.ndarray] = {}
    for source, canonical, values in _canonical(sweep_given, resolved, parameters):
        if canonical in sweep_axes:
            raise SpecSyntaxError(f"{source}: '{canonical}' is swept twice")
        if canonical in set_values:
            raise SpecSyntaxError(
                f"{source}: '{canonical}' is also given with --set; use one of the two"
            )
        sweep_axes[canonical] = values

    levers: list[str] = []
    for source in [*checked_bases, set_values, sweep_axes]:
        levers.extend(k for k in source if k not in levers)

    defaults = {name: parameters[name].default for name in levers}
    labels: list[str] = []
    base_names: list[str] = []
    descriptions: list[str] = []
    unique = _unique_names([s.name for s in bases])
    n_combos = math.prod(len(v) for v in sweep_axes.values())
    n_runs = len(bases) * n_combos
    if n_runs > MAX_BATCH_RUNS:
        raise SpecSyntaxError(
            f"the request makes {n_runs:,} runs (scenarios x sweep points), more than "
            f"{MAX_BATCH_RUNS:,}; use fewer sweep points or split it"
        )
    # the lever values as columns, built whole (a dict per run took ~400 bytes a run)
    grids = np.meshgrid(*sweep_axes.values(), indexing="ij") if sweep_axes else []
    swept_columns = dict(zip(sweep_axes, (g.ravel() for g in grids), strict=True))
    params = {name: np.empty(n_runs, dtype=np.float64) for name in levers}
    for b, base in enumerate(checked_bases):
        block = slice(b * n_combos, (b + 1) * n_combos)
        for name, column in params.items():
            # weakest to strongest: defaults, the scenario, --set, --sweep
            if name in swept_columns:
                column[block] = swept_columns[name]
            elif name in set_values:
                column[block] = float(set_values[name][0])
            elif name in base:
                column[block] = float(base[name][0])
            else:
                column[block] = defaults[name]
    for scenario, base_name in zip(bases, unique, strict=True):
        for combo in itertools.product(*sweep_axes.values()):
            if scenarios:
                parts = [base_name]
            else:  # no scenario: the run is named by what the request changed
                parts = [f"{k}={_fmt(v[0])}" for k, v in set_values.items()] or (
                    [] if combo else [base_name]
                )
            parts += [f"{k}={_fmt(v)}" for k, v in zip(sweep_axes, combo, strict=True)]
            labels.append(", ".join(parts))
            base_names.append(base_name)
            descriptions.append(scenario.description)
    return Batch(
        tuple(labels),
        tuple(descriptions),
        params,
        tuple(levers),
        tuple(base_names),
        tuple(sweep_axes),
        tuple(parameters[name] for name in levers),
        model.defaults(),
    )


def _unique_names(names: Sequence[str]) -> list[str]:
    """Scenario names as given, with ``-2``, ``-3``... added to repeats (same stem twice)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return out


def scenario_files(folder: str | Path) -> list[Path]:
    """The ``*.toml`` files of a folder in a stable (sorted) order."""
    return sorted(Path(folder).glob("*.toml"))


def lever_keys(
    scenarios: Sequence[Scenario], sets: Sequence[str], sweeps: Sequence[str]
) -> list[tuple[str, str]]:
    """``(source, lever name)`` of every lever a request names, labelled as
    ``build_batch`` labels them (so an early refusal reads as the full check's); names
    of simulation settings are left to the full check, which says which option to use."""
    keys = [(s.source or s.name, name) for s in scenarios for name in s.parameters]
    keys += [(f"--set {text!r}", parse_set(text)[0]) for text in sets]
    keys += [(f"--sweep {text!r}", parse_sweep(text)[0]) for text in sweeps]
    return [(source, key) for source, key in keys if _setting_of(key) is None]
