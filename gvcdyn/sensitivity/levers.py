"""Which parameters a sensitivity study varies, and over what ranges.

The default is the model's own answer: the constants placed in its "Levers" view (the
sketch section of the ``.mdl`` file), each over its documented ``[min, max]``, less its
timing levers (below). A small TOML file can name other parameters, narrow ranges
(within the documented ones), give distributions, group levers and draw levers from
evidence::

    parameters = ["Shock Size", "State Participation"]   # optional: which to vary
    cases = "../calibration/config.toml"   # optional: levers of one real case per run
    posterior = "../results/fit.nc"        # optional: estimates from the fit's posterior
    [ranges]                                               # optional: uniform overrides
    "Shock Size" = [0.0, 0.8]
    [distributions]                                        # optional: other distributions
    "State Participation" = { dist = "truncnorm", low = 0, high = 1, mean = 0.3, sd = 0.1 }
    [groups]                                               # optional: indices per group
    "Sources of learning" = ["University Research Strength", "FDI Learning"]

Without ``parameters``, the levers varied are those named in ``[ranges]``,
``[distributions]`` and ``[groups]``, else the Levers view's. Paths are relative to the
ranges file; ``cases`` may also name a shipped calibration config (``gvc_upgrading``).

Timing levers: a constant in the model's time units that an equation compares with
``Time`` (``IF THEN ELSE(Time >= Shock Year, ...)``) or passes as the start or end of a
``STEP``, ``PULSE``, ``PULSE TRAIN`` or ``RAMP``. Whether a trigger has happened by the
reading time dominates any variance it enters, so such levers are left out of the
default set; named explicitly they are varied, and the results say so.

The model is being revised while studies run, so nothing here hard-codes lever names.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gvcdyn.errors import ModelFileNotFoundError, SensitivityDesignError, UnknownParameterError
from gvcdyn.io.tomlfile import check_keys, read_toml
from gvcdyn.language.ir import Call, Op, Sym
from gvcdyn.sensitivity.distributions import Distribution, check_within, parse_distribution

__all__ = ["LeverChoice", "choose_levers", "read_ranges", "timing_levers", "view_names"]

_SKETCH_MARK = "\\\\\\---/// Sketch information"
_VARIABLE_RECORD = "10"


@dataclass(frozen=True)
class LeverChoice:
    """Names to vary (in order), bounds that override the model's, and where they came from.

    ``distributions``: non-uniform (or explicitly uniform) levers; ``groups``: group name ->
    member levers; ``cases``/``posterior``: evidence sources (paths or a config's name);
    ``timing_fixed``: timing levers of the default set left out; ``timing_varied``: timing
    levers named explicitly and varied.
    """

    names: tuple[str, ...]
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    source: str = ""
    distributions: dict[str, Distribution] = field(default_factory=dict)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    cases: str | None = None
    posterior: str | None = None
    timing_fixed: tuple[str, ...] = ()
    timing_varied: tuple[str, ...] = ()
    from_view: bool = False  # the default set: levers a source sets are left out, not refused
    ranges_file: str | None = None  # the ranges file read, which names the evidence sources


def view_names(path: str | Path, view: str = "Levers") -> list[str]:
    """Names of the variables drawn in one view of a Vensim sketch, in drawing order.

    Views start with a ``*Name`` line after a sketch marker; variables are ``10,...``
    records whose third field is the name (quoted when it holds commas). The match on
    the view's name ignores case. Shadow copies appear once.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileNotFoundError(f"model file not found: {path}")
    names: list[str] = []
    inside_sketch = False
    current: str | None = None
    found = False
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith(_SKETCH_MARK):
                inside_sketch = True
                current = None
                continue
            if not inside_sketch:
                continue
            if line.startswith("///---\\\\\\"):
                break
            if line.startswith("*"):
                current = line[1:].strip()
                found = found or current.lower() == view.lower()
                continue
            if current is None or current.lower() != view.lower():
                continue
            if not line.startswith(_VARIABLE_RECORD + ","):
                continue
            fields = next(csv.reader([line.rstrip("\n")]))
            if len(fields) > 2:
                name = " ".join(fields[2].replace("\\\n", " ").split())
                if name and name not in names:
                    names.append(name)
    if not found:
        raise SensitivityDesignError(
            f"{path}: no view named '{view}' in the model's sketch; name the parameters "
            "to vary with --params or a --ranges file"
        )
    return names


def read_ranges(path: str | Path) -> LeverChoice:
    """Read a ranges file: ``parameters``, ``[ranges]``, ``[distributions]``, ``[groups]``,
    ``cases`` and ``posterior`` (all optional; see the module docstring)."""
    path = Path(path)
    data, _ = read_toml(
        path, what="ranges file", invalid=SensitivityDesignError, missing=ModelFileNotFoundError
    )
    check_keys(
        data,
        {"parameters", "ranges", "distributions", "groups", "cases", "posterior", "description"},
        str(path),
        SensitivityDesignError,
        hint="use 'parameters = [...]', [ranges], [distributions], [groups], cases, posterior",
    )
    names = data.get("parameters", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise SensitivityDesignError(f"{path}: 'parameters' must be a list of parameter names")
    table = data.get("ranges", {})
    if not isinstance(table, dict):
        raise SensitivityDesignError(f"{path}: [ranges] must be a table of name = [low, high]")
    bounds = {name: _pair(path, name, value) for name, value in table.items()}
    dists_table = data.get("distributions", {})
    if not isinstance(dists_table, dict):
        raise SensitivityDesignError(
            f"{path}: [distributions] must be a table of name = {{ dist = ..., ... }}"
        )
    dists = {name: parse_distribution(str(path), name, e) for name, e in dists_table.items()}
    twice = sorted(set(bounds) & set(dists))
    if twice:
        raise SensitivityDesignError(
            f"{path}: '{twice[0]}' has both a range and a distribution; give one"
        )
    groups = _groups(path, data.get("groups", {}))
    sources = {key: _source_path(path, key, data.get(key)) for key in ("cases", "posterior")}
    return LeverChoice(
        tuple(names),
        bounds,
        str(path),
        distributions=dists,
        groups=groups,
        cases=sources["cases"],
        posterior=sources["posterior"],
    )


def _groups(path: Path, table: Any) -> dict[str, tuple[str, ...]]:
    ok = isinstance(table, dict) and all(
        isinstance(v, list) and v and all(isinstance(n, str) for n in v) for v in table.values()
    )
    if not ok:
        bad = (
            next((k for k, v in table.items() if not (isinstance(v, list) and v)), None)
            if isinstance(table, dict)
            else None
        )
        named = f" (group '{bad}')" if bad is not None else ""
        if bad in ("parameters", "cases", "posterior", "description"):
            named += f"; '{bad}' is read as a group: put it before the first [table]"
        raise SensitivityDesignError(
            f"{path}: [groups] must be a table of group name = [lever, ...] with at least "
            f"one lever each{named}"
        )
    seen: dict[str, str] = {}
    for group, members in table.items():
        for member in members:
            if seen.get(member) == group:
                raise SensitivityDesignError(
                    f"{path}: group '{group}' lists lever '{member}' twice; list it once"
                )
            if member in seen:
                raise SensitivityDesignError(
                    f"{path}: lever '{member}' is in groups '{seen[member]}' and '{group}'; "
                    "a lever belongs to one group"
                )
            seen[member] = group
    return {group: tuple(members) for group, members in table.items()}


def _source_path(path: Path, key: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SensitivityDesignError(f"{path}: '{key}' must be a file path, got {value!r}")
    beside = path.parent / value
    if beside.exists() or key == "posterior":
        return str(beside)
    return value  # a shipped calibration config's name, resolved when read


def _pair(path: Path, name: str, value: Any) -> tuple[float, float]:
    numbers = (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )
    if not numbers:
        raise SensitivityDesignError(
            f"{path}: range of '{name}' must be [low, high] (two numbers), got {value!r}"
        )
    low, high = float(value[0]), float(value[1])
    if not low < high:
        raise SensitivityDesignError(
            f"{path}: range of '{name}' must have low < high, got [{low:g}, {high:g}]"
        )
    return low, high


def choose_levers(
    model: Any,
    params: Sequence[str] | None = None,
    ranges: str | Path | None = None,
    *,
    view: str = "Levers",
) -> LeverChoice:
    """The parameters to vary: ``params``, else the ranges file's, else the model's view.

    Names drawn in the view that are not constants of the model (an auxiliary shown
    there for context) are left out, and so are its timing levers and the levers an
    evidence source of the ranges file sets; a view with no constant is an error.
    Explicitly named levers are all varied; one also set by a source is refused.
    The evidence sources themselves are read by :func:`gvcdyn.sensitivity.sources`.
    """
    from_file = read_ranges(ranges) if ranges is not None else LeverChoice(())
    members = [m for group in from_file.groups.values() for m in group]
    keyed = list(dict.fromkeys([*from_file.bounds, *from_file.distributions, *members]))
    default = False
    if params:
        names, source = tuple(params), "--params"
    elif from_file.names:
        names, source = from_file.names, from_file.source
    elif keyed:
        names, source = tuple(keyed), from_file.source
    else:
        names, source = _view_constants(model, view), f"the '{view}' view of {_file(model)}"
        default = True
    try:  # unknown names fail here, by name; one a ranges file gives names the file too
        canonical = [model.parameter(n).name for n in names]
    except UnknownParameterError as exc:
        raise (exc if params else exc.at(file=from_file.source or None)) from None
    timing = timing_levers(model, canonical)
    fixed: tuple[str, ...] = ()
    if default and timing:
        fixed = tuple(n for n in canonical if n in timing)
        canonical = [n for n in canonical if n not in timing]
        source += f", less its timing lever{'s' * (len(fixed) > 1)} {', '.join(fixed)}"
    try:  # names of the ranges file's tables: a misspelled one names the file
        bounds = {model.parameter(k).name: v for k, v in from_file.bounds.items()}
        dists = {model.parameter(k).name: v for k, v in from_file.distributions.items()}
        groups = {
            g: tuple(model.parameter(m).name for m in ms) for g, ms in from_file.groups.items()
        }
    except UnknownParameterError as exc:
        raise exc.at(file=from_file.source or None) from None
    for kind, given in (("a range", bounds), ("a distribution", dists)):
        extra = sorted(set(given) - set(canonical))
        if extra:
            raise SensitivityDesignError(
                f"{from_file.source}: {kind} is given for '{extra[0]}', which is not varied; "
                "add it to the parameters or remove it"
            )
    for group, ms in groups.items():
        outside = [m for m in ms if m not in canonical]
        if outside:
            raise SensitivityDesignError(
                f"{from_file.source}: group '{group}' holds '{outside[0]}', which is not "
                "varied; add it to the parameters or take it out of the group"
            )
        if group in canonical and group not in ms:
            raise SensitivityDesignError(
                f"{from_file.source}: group '{group}' has the name of a lever outside it; "
                "rename the group"
            )
    for name, dist in dists.items():
        param = model.parameter(name)
        check_within(from_file.source, name, dist, param.minimum, param.maximum)
    for name, pair in bounds.items():
        _check_range_in_documented(model.parameter(name), pair, from_file.source)
    return LeverChoice(
        tuple(canonical),
        bounds,
        source,
        distributions=dists,
        groups=groups,
        cases=from_file.cases,
        posterior=from_file.posterior,
        timing_fixed=fixed,
        timing_varied=tuple(n for n in canonical if n in timing),
        from_view=default,
        ranges_file=from_file.source or None,
    )


def _check_range_in_documented(param: Any, pair: tuple[float, float], where: str) -> None:
    """Refuse a ``[ranges]`` entry that leaves the lever's documented range, naming the
    file: the parameter space would refuse it too, with a remedy
    (``allow_out_of_range=True``) that a ranges file cannot take."""
    if not param.outside_range(np.asarray(pair, dtype=float)).any():
        return
    raise SensitivityDesignError(
        f"{where}: range [{pair[0]:g}, {pair[1]:g}] of '{param.name}' leaves its documented "
        f"range {param.range_text()}; narrow it to that range, or widen the range in the "
        "model's .mdl if the wider values are meaningful"
    )


def check_documented_ranges(model: Any, choice: LeverChoice, varied: Sequence[str]) -> None:
    """Refuse a lever of ``varied`` (the choice's levers an evidence source does not set)
    that the choice varies over its documented range when it has none (a constant
    documented ``[?, ?]`` or not at all), saying how a ranges file gives one. Checked
    after the sources take their levers: a Levers-view lever a source sets is not varied,
    so it needs no range."""
    for name in varied:
        if name in choice.bounds or name in choice.distributions:
            continue
        param = model.parameter(name)
        low, high = param.minimum, param.maximum
        if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
            raise SensitivityDesignError(
                f"{choice.source}: '{param.name}' has no finite documented range "
                f"({param.range_text()}) to vary it over; give one in a --ranges file: "
                f'[ranges] "{param.name}" = [low, high]'
            )


def _file(model: Any) -> str:
    return Path(model.path).name if model.path is not None else model.name


def _view_constants(model: Any, view: str) -> tuple[str, ...]:
    if model.path is None:
        raise SensitivityDesignError(
            "the model has no file to read its Levers view from; name the parameters"
        )
    drawn = view_names(model.path, view)
    constants = {p.name.lower() for p in model.parameters}
    names = tuple(n for n in drawn if n.lower() in constants)
    if not names:
        raise SensitivityDesignError(
            f"the '{view}' view of {model.path} shows no model constant; name the "
            "parameters to vary with --params or a --ranges file"
        )
    return names


#: comparison operators of the IR; functions whose arguments at these places are times
_COMPARISONS = {"<", "<=", ">", ">=", "=", "<>"}
_TIME_ARGS = {"step": (1,), "pulse": (0,), "ramp": (1, 2), "pulse_train": (0, 3)}


def timing_levers(model: Any, names: Sequence[str]) -> set[str]:
    """The ``names`` that are timing levers: constants in the model's time units that an
    equation compares with ``Time`` or passes as a start or end time of ``STEP``,
    ``PULSE``, ``PULSE TRAIN`` or ``RAMP`` (see the module docstring)."""

    ir = model.ir
    unit = str(ir.controls.time_units).strip().lower()
    by_symbol = {}
    for name in names:
        param = model.parameter(name)
        if str(param.units).strip().lower() in (unit, unit + "s", unit.rstrip("s")):
            by_symbol[param.symbol] = param.name
    if not by_symbol:
        return set()
    found: set[str] = set()

    def symbols(expr: Any) -> set[str]:
        out: set[str] = set()
        stack = [expr]
        while stack:
            e = stack.pop()
            if isinstance(e, Sym):
                out.add(e.name)
            stack.extend(getattr(e, "args", ()) or ())
        return out

    def visit(expr: Any) -> None:
        stack = [expr]
        while stack:
            e = stack.pop()
            if isinstance(e, Op) and e.op in _COMPARISONS:
                inside = symbols(e)
                if "time" in inside:
                    found.update(by_symbol[s] for s in inside if s in by_symbol)
            elif isinstance(e, Call) and e.function in _TIME_ARGS:
                for i in _TIME_ARGS[e.function]:
                    if i < len(e.args):
                        found.update(by_symbol[s] for s in symbols(e.args[i]) if s in by_symbol)
            stack.extend(getattr(e, "args", ()) or ())

    equations = [*ir.static_equations, *ir.dynamic_equations, *ir.output_equations]
    equations += list(getattr(ir, "init_equations", ()) or ())
    for equation in equations:
        visit(equation.expr)
    return found
