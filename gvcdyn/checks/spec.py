"""Reading a reality-check file: every name, key, kind and time checked before any run.

A check file is TOML: named lever sets under ``[settings]``, and ``[[check]]`` tables
that each state conditions (lever settings, a scenario file, a sweep of one lever) and
an expectation on what the model does under them. The format, with examples, is in
``docs/reality-checks.md``. A mistake (an unknown key, lever, variable, condition or
expectation kind, a missing or unsaved time) is refused here with one line that names
the file and the check, before the model is run; names are looked up with the model's
own resolution, so a typo gets the closest names.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gvcdyn.checks import expr as _expr
from gvcdyn.checks.expr import Expression, Series
from gvcdyn.errors import GvcdynError, ParameterValueError, RealityCheckError
from gvcdyn.io.tomlfile import check_keys, read_toml
from gvcdyn.whatif.scenarios import RANGE_HINT, read_scenario, resolve_parameters

if TYPE_CHECKING:
    from gvcdyn.model import Model

__all__ = [
    "KINDS",
    "Check",
    "CheckFile",
    "Condition",
    "check_times",
    "parse_checks",
    "read_checks",
]

#: expectation kinds and the keys each takes (besides the common ones)
KINDS: dict[str, tuple[str, ...]] = {
    "compare": ("left", "op", "right"),
    "bound": ("value", "min", "max", "above", "below"),
    "sign": ("value", "sign"),
    "monotone": ("value", "direction", "strict"),
    "in_range": ("ranges",),
}
_CONDITION_KEYS = ("use", "set", "scenario", "sweep", "extremes")
_COMMON_KEYS = (
    "name",
    "group",
    "doc",
    "expect",
    "conditions",
    "backgrounds",
    "at",
    "outcome",
    "let",
    "tolerance",
)
_TOP_KEYS = ("description", "levers", "settings", "check")
_OPS = {">": True, "<": True, ">=": False, "<=": False}  # op -> strict
_SIGNS = ("positive", "negative")
_DIRECTIONS = ("increasing", "decreasing")
INLINE = "run"  # the name of a check's condition written at its top level


@dataclass(frozen=True)
class Condition:
    """One named condition of a check: fixed settings and its sweep points.

    ``points`` holds one settings mapping per sweep point (one empty mapping when the
    condition does not sweep); ``swept`` names the swept lever (or ``"extremes"``).
    """

    name: str
    settings: Mapping[str, float]
    points: tuple[Mapping[str, float], ...] = ({},)
    swept: str | None = None


@dataclass(frozen=True)
class Check:
    """One check: conditions, backgrounds, an expectation and its parameters."""

    name: str
    kind: str
    conditions: Mapping[str, Condition]
    group: str = ""
    doc: str = ""
    backgrounds: tuple[Mapping[str, float], ...] = ({},)
    at: tuple[float, ...] | None = None
    let: tuple[tuple[str, Expression], ...] = ()
    expressions: Mapping[str, Expression] = field(default_factory=dict)
    op: str = ""
    bounds: tuple[tuple[str, float], ...] = ()  # (min|max|above|below, value)
    sign: str = ""
    direction: str = ""
    strict: bool = True
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    tolerance: float = 0.0

    def settings(self) -> list[tuple[str, int, int, dict[str, float]]]:
        """Every run the check needs: ``(condition, background, point, settings)``;
        later settings win: background < condition < sweep point."""
        out = []
        for b, background in enumerate(self.backgrounds):
            for name, cond in self.conditions.items():
                for s, point in enumerate(cond.points):
                    out.append((name, b, s, {**background, **cond.settings, **point}))
        return out


@dataclass(frozen=True)
class CheckFile:
    """A parsed check file: its checks and the levers a perturbation leaves alone."""

    path: str
    checks: tuple[Check, ...]
    levers: tuple[str, ...] = ()
    description: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.checks)


def read_checks(path: str | Path, model: Model) -> CheckFile:
    """Read and check a reality-check file against ``model``."""
    data, _ = read_toml(path, what="reality-check file", invalid=RealityCheckError)
    return parse_checks(data, model, source=str(path), folder=Path(path).parent)


def parse_checks(
    data: Mapping[str, Any], model: Model, *, source: str = "<checks>", folder: Path | None = None
) -> CheckFile:
    """Check a parsed check file (a TOML document as a dict) against ``model``."""
    check_keys(dict(data), _TOP_KEYS, source, RealityCheckError)
    description = data.get("description", "")
    if not isinstance(description, str):
        raise RealityCheckError(f"{source}: 'description' must be a string")
    levers = tuple(_names(model, data.get("levers", []), f"{source}: levers"))
    raw_sets = data.get("settings", {})
    if not isinstance(raw_sets, dict):
        raise RealityCheckError(f"{source}: [settings] must be a table of named lever sets")
    sets = {
        name: _values(model, table, f"{source}: settings '{name}'")
        for name, table in raw_sets.items()
    }
    raw_checks = data.get("check", [])
    if not isinstance(raw_checks, list) or not raw_checks:
        raise RealityCheckError(f"{source}: no checks; add [[check]] tables")
    context = _Context(model, source, folder or Path("."), sets, levers, _save_times(model))
    checks: list[Check] = []
    seen: set[str] = set()
    for i, table in enumerate(raw_checks):
        if not isinstance(table, dict):
            raise RealityCheckError(f"{source}: check {i + 1} must be a table")
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            raise RealityCheckError(f'{source}: check {i + 1} has no name (name = "...")')
        if name in seen:
            raise RealityCheckError(f"{source}: two checks are named '{name}'; rename one")
        seen.add(name)
        where = f"{source}: check '{name}'"
        try:
            checks.append(_parse_check(table, context, where))
        except RealityCheckError:
            raise
        except GvcdynError as exc:  # a name or value the model refuses, in one line
            text = str(exc)
            raise RealityCheckError(
                text if text.startswith(where) else f"{where}: {text}"
            ) from None
    return CheckFile(source, tuple(checks), levers, description)


@dataclass(frozen=True)
class _Context:
    model: Model
    source: str
    folder: Path
    sets: Mapping[str, Mapping[str, float]]
    levers: tuple[str, ...]
    times: np.ndarray


def _save_times(model: Model) -> np.ndarray:
    return np.asarray(model.grid(model.defaults()[None, :]).save_times, dtype=np.float64)


def _names(model: Model, names: object, where: str) -> list[str]:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise RealityCheckError(f"{where}: expected a list of lever names")
    out = []
    for n in names:
        try:
            out.append(model.parameter(n).name)
        except GvcdynError as exc:
            raise RealityCheckError(f"{where}: {exc}") from None
    return out


def _values(model: Model, table: object, where: str) -> dict[str, float]:
    if not isinstance(table, dict):
        raise RealityCheckError(f"{where}: expected a table of lever = value")
    for key, value in table.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RealityCheckError(f"{where}: {key!r} must be a number, got {value!r}")
    try:
        resolved = resolve_parameters(model, table, where)
    except ParameterValueError as exc:  # a check file has no --allow-out-of-range
        advice = "use a value inside it" if exc.hint == RANGE_HINT else None
        raise RealityCheckError(exc.describe(hint=advice)) from None
    return {k: float(v[0]) for k, v in resolved.items()}


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RealityCheckError(f"{where}: expected a finite number, got {value!r}")
    return float(value)


def _check_satisfiable(bounds: dict[str, float], where: str) -> None:
    """Refuse bounds no value meets (``min = 5, max = 1``; ``above = 1, below = 1``): the
    check would fail at every run, its margin read as the model's failing."""
    lows = [(bounds[k], k) for k in ("min", "above") if k in bounds]
    highs = [(bounds[k], k) for k in ("max", "below") if k in bounds]
    for low, low_key in lows:
        for high, high_key in highs:
            strict = low_key == "above" or high_key == "below"
            if low > high or (strict and low == high):
                raise RealityCheckError(
                    f"{where}: {low_key} = {low:g} and {high_key} = {high:g} leave no value "
                    "that holds the bound; check the two"
                )


def _parse_check(table: dict[str, Any], ctx: _Context, where: str) -> Check:
    kind = table.get("expect")
    if kind is None:
        raise RealityCheckError(f"{where}: no expectation (expect = one of {', '.join(KINDS)})")
    if kind not in KINDS:
        raise RealityCheckError(
            f"{where}: unknown expectation kind {kind!r} (known: {', '.join(KINDS)})"
        )
    inline = "conditions" not in table
    allowed = {*_COMMON_KEYS, *KINDS[kind], *(_CONDITION_KEYS if inline else ())}
    extra = sorted(set(table) - allowed)
    if extra:
        other = next((k for k, keys in KINDS.items() if extra[0] in keys), None)
        why = (
            f"it belongs to expect = '{other}'"
            if other
            else "condition keys go in the condition when a check has [conditions]"
            if extra[0] in _CONDITION_KEYS
            else f"known: {', '.join(sorted(allowed))}"
        )
        raise RealityCheckError(f"{where}: unknown key '{extra[0]}' for expect = '{kind}' ({why})")
    if inline:
        conditions = {INLINE: _condition(INLINE, table, ctx, where)}
    else:
        raw = table["conditions"]
        if not isinstance(raw, dict) or not raw:
            raise RealityCheckError(f"{where}: conditions must be a table of named conditions")
        conditions = {}
        for name, cond in raw.items():
            if not name.isidentifier() or name in _expr.FUNCTIONS or name == "t":
                raise RealityCheckError(
                    f"{where}: condition name {name!r} must be a plain identifier (letters, "
                    "digits, _), not 't' or a function name"
                )
            if not isinstance(cond, dict):
                raise RealityCheckError(f"{where}: condition '{name}' must be a table")
            check_keys(cond, _CONDITION_KEYS, f"{where}: condition '{name}'", RealityCheckError)
            conditions[name] = _condition(name, cond, ctx, f"{where}: condition '{name}'")
    swept = [c.name for c in conditions.values() if c.swept]
    if len(swept) > 1:
        raise RealityCheckError(f"{where}: conditions {swept} all sweep; one sweep per check")
    backgrounds = _backgrounds(table.get("backgrounds"), ctx, where)
    at = _times(table, where)
    fields: dict[str, Any] = {
        "name": table["name"],
        "kind": kind,
        "conditions": conditions,
        "backgrounds": backgrounds,
        "at": at,
        "group": _text(table, "group", where),
        "doc": _text(table, "doc", where),
        "tolerance": _number(table.get("tolerance", 0.0), f"{where}: tolerance"),
    }
    if fields["tolerance"] < 0:
        raise RealityCheckError(f"{where}: tolerance must be >= 0")
    outcome = table.get("outcome")
    if outcome is not None and not isinstance(outcome, str):
        raise RealityCheckError(f"{where}: outcome must be a variable name")
    if outcome is not None and at is None:
        raise RealityCheckError(f"{where}: missing time: outcome '{outcome}' needs at = TIME(S)")
    lets = table.get("let", {})
    if not isinstance(lets, dict):
        raise RealityCheckError(f'{where}: let must be a table of name = "expression"')
    for name in lets:
        if not name.isidentifier() or name in conditions or name == "t" or name in _expr.FUNCTIONS:
            raise RealityCheckError(
                f"{where}: let name {name!r} must be an identifier unlike a condition, "
                "'t' or a function"
            )
    fields["let"] = tuple(
        (name, _expr.parse(text, f"{where}: let.{name}")) for name, text in lets.items()
    )
    expressions = _expectation(kind, table, conditions, outcome, where, fields)
    fields["expressions"] = expressions
    check = Check(**fields)
    _validate(check, ctx, where)
    return check


def _text(table: dict[str, Any], key: str, where: str) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise RealityCheckError(f"{where}: {key} must be a string")
    return value


def _condition(name: str, table: dict[str, Any], ctx: _Context, where: str) -> Condition:
    settings: dict[str, float] = {}
    scenario = table.get("scenario")
    if scenario is not None:
        if not isinstance(scenario, str):
            raise RealityCheckError(f"{where}: scenario must be a file name")
        path = Path(scenario)
        path = path if path.is_absolute() else ctx.folder / path
        try:
            sc = read_scenario(path)
        except GvcdynError as exc:
            raise RealityCheckError(f"{where}: {exc}") from None
        settings.update(_values(ctx.model, dict(sc.parameters), f"{where}: scenario {scenario}"))
    use = table.get("use", [])
    use = [use] if isinstance(use, str) else use
    if not isinstance(use, list) or not all(isinstance(u, str) for u in use):
        raise RealityCheckError(f"{where}: use must be a list of [settings] names")
    for u in use:
        if u not in ctx.sets:
            known = ", ".join(ctx.sets) or "none defined"
            raise RealityCheckError(f"{where}: unknown settings '{u}' (in [settings]: {known})")
        settings.update(ctx.sets[u])
    settings.update(_values(ctx.model, table.get("set", {}), f"{where}: set"))
    sweep, extremes = table.get("sweep"), table.get("extremes")
    if sweep is not None and extremes is not None:
        raise RealityCheckError(f"{where}: give sweep or extremes, not both")
    if sweep is not None:
        return _sweep(name, settings, sweep, ctx, where)
    if extremes is not None:
        return _extremes(name, settings, extremes, ctx, where)
    return Condition(name, settings)


def _sweep(name: str, settings: dict, sweep: object, ctx: _Context, where: str) -> Condition:
    if not isinstance(sweep, dict):
        raise RealityCheckError(f'{where}: sweep = {{ lever = "Name", values = [...] }}')
    check_keys(sweep, ("lever", "values"), f"{where}: sweep", RealityCheckError)
    lever, values = sweep.get("lever"), sweep.get("values")
    if not isinstance(lever, str) or not isinstance(values, list) or len(values) < 2:
        raise RealityCheckError(
            f'{where}: sweep needs lever = "Name" and values = [at least two numbers]'
        )
    points = [_values(ctx.model, {lever: v}, f"{where}: sweep") for v in values]
    canonical = next(iter(points[0]))
    return Condition(name, settings, tuple(points), canonical)


def _extremes(name: str, settings: dict, extremes: object, ctx: _Context, where: str) -> Condition:
    """Each lever at its minimum and its maximum, all at minima, all at maxima, and the
    two alternating corners (2 L + 4 runs): the levers' extreme combinations."""
    if extremes is True:
        if not ctx.levers:
            raise RealityCheckError(f"{where}: extremes = true needs a top-level levers list")
        names = list(ctx.levers)
    else:
        names = _names(ctx.model, extremes, f"{where}: extremes")
    ranges = []
    for n in names:
        p = ctx.model.parameter(n)
        if p.minimum is None or p.maximum is None:
            raise RealityCheckError(f"{where}: extremes: '{n}' has no finite documented range")
        ranges.append((p.minimum, p.maximum))
    points: list[dict[str, float]] = []
    for n, (lo, hi) in zip(names, ranges, strict=True):
        points += [{n: lo}, {n: hi}]
    points.append({n: r[0] for n, r in zip(names, ranges, strict=True)})
    points.append({n: r[1] for n, r in zip(names, ranges, strict=True)})
    points.append({n: r[i % 2] for i, (n, r) in enumerate(zip(names, ranges, strict=True))})
    points.append({n: r[(i + 1) % 2] for i, (n, r) in enumerate(zip(names, ranges, strict=True))})
    return Condition(name, settings, tuple(points), "extremes")


def _backgrounds(raw: object, ctx: _Context, where: str) -> tuple[Mapping[str, float], ...]:
    if raw is None:
        return ({},)
    if not isinstance(raw, list) or not raw:
        raise RealityCheckError(f"{where}: backgrounds must be a list of lists of settings names")
    out = []
    for entry in raw:
        entry = [entry] if isinstance(entry, str) else entry
        if not isinstance(entry, list):
            raise RealityCheckError(f"{where}: backgrounds: {entry!r} is not a list of names")
        merged: dict[str, float] = {}
        for u in entry:
            if u not in ctx.sets:
                known = ", ".join(ctx.sets) or "none defined"
                raise RealityCheckError(
                    f"{where}: backgrounds: unknown settings '{u}' (in [settings]: {known})"
                )
            merged.update(ctx.sets[u])
        out.append(merged)
    return tuple(out)


def _times(table: dict[str, Any], where: str) -> tuple[float, ...] | None:
    if "at" not in table:
        return None
    raw = table["at"]
    values = raw if isinstance(raw, list) else [raw]
    if not values:
        raise RealityCheckError(f"{where}: at = [] lists no time")
    return tuple(_number(v, f"{where}: at") for v in values)


def _expectation(
    kind: str,
    table: dict[str, Any],
    conditions: Mapping[str, Condition],
    outcome: str | None,
    where: str,
    fields: dict[str, Any],
) -> dict[str, Expression]:
    def reading(key: str) -> Expression:
        """``key``'s expression; with ``outcome``, a condition name reads it at ``t``."""
        text = table.get(key)
        if text is None and outcome is not None and key == "value":
            if len(conditions) != 1:
                raise RealityCheckError(
                    f"{where}: 'value' is missing (with several conditions, say which "
                    "one the outcome is read from)"
                )
            text = next(iter(conditions))
        if text is None:
            raise RealityCheckError(f"{where}: expect = '{kind}' needs '{key}'")
        if outcome is not None and isinstance(text, str) and text.strip() in conditions:
            text = f"{text.strip()}[{outcome!r}] @ t"
        return _expr.parse(text, f"{where}: {key}")

    if kind == "compare":
        op = table.get("op")
        if op not in _OPS:
            raise RealityCheckError(f"{where}: op must be one of {', '.join(_OPS)}, got {op!r}")
        fields["op"] = op
        return {"left": reading("left"), "right": reading("right")}
    if kind == "bound":
        bounds = tuple(
            (k, _number(table[k], f"{where}: {k}"))
            for k in ("min", "max", "above", "below")
            if k in table
        )
        if not bounds:
            raise RealityCheckError(f"{where}: a bound needs min, max, above or below")
        _check_satisfiable(dict(bounds), where)
        fields["bounds"] = bounds
        return {"value": reading("value")}
    if kind == "sign":
        sign = table.get("sign")
        if sign not in _SIGNS:
            raise RealityCheckError(f"{where}: sign must be 'positive' or 'negative', got {sign!r}")
        fields["sign"] = sign
        return {"value": reading("value")}
    if kind == "monotone":
        direction = table.get("direction")
        if direction not in _DIRECTIONS:
            raise RealityCheckError(
                f"{where}: direction must be 'increasing' or 'decreasing', got {direction!r}"
            )
        if not any(c.swept for c in conditions.values()):
            raise RealityCheckError(f"{where}: expect = 'monotone' needs a sweep of one lever")
        strict = table.get("strict", True)
        if not isinstance(strict, bool):
            raise RealityCheckError(f"{where}: strict must be true or false")
        fields["direction"], fields["strict"] = direction, strict
        return {"value": reading("value")}
    # in_range
    ranges = table.get("ranges")
    if not isinstance(ranges, dict) or not ranges:
        raise RealityCheckError(f'{where}: in_range needs ranges = {{ "Variable" = [lo, hi] }}')
    parsed = {}
    for var, pair in ranges.items():
        if not isinstance(pair, list) or len(pair) != 2:
            raise RealityCheckError(f"{where}: ranges: {var!r} needs [lo, hi]")
        if any(isinstance(v, bool) or not isinstance(v, int | float) or v != v for v in pair):
            raise RealityCheckError(
                f"{where}: ranges: {var!r} needs two numbers (inf allowed, not nan)"
            )
        lo, hi = float(pair[0]), float(pair[1])
        if lo > hi:
            raise RealityCheckError(
                f"{where}: ranges: {var!r} = [{lo:g}, {hi:g}] has lo > hi, which no value "
                "can stay in; give [lo, hi]"
            )
        parsed[var] = (lo, hi)
    fields["ranges"] = parsed
    return {}


def check_times(spec: CheckFile, model: Model, times: np.ndarray) -> None:
    """Refuse, before any run, a check whose times are not among ``times``: the saved
    times of the runs when they differ from those the file was read against (another
    ``time_step`` moves them), naming the file and the check as reading it does. Without
    this the first check evaluated after the runs failed, naming neither."""
    ctx = _Context(model, spec.path, Path("."), {}, spec.levers, np.asarray(times))
    for check in spec.checks:
        _validate(check, ctx, f"{spec.path}: check '{check.name}'")


def _validate(check: Check, ctx: _Context, where: str) -> None:
    """Resolve every reading with the model and evaluate every expression once on dummy
    data, so a bad name, function use or time is refused now, not after the runs."""
    shape = (1, 1, 1)
    zeros = Series(np.zeros((*shape, len(ctx.times))), ctx.times)

    def read(cond: str, name: str) -> Any:
        if cond not in check.conditions:
            known = ", ".join(check.conditions)
            raise RealityCheckError(f"unknown condition '{cond}' (this check's: {known})")
        return zeros if resolve(ctx.model, name)[0] == "variable" else np.zeros(shape)

    for var in check.ranges:
        if resolve(ctx.model, var)[0] != "variable":
            raise RealityCheckError(f"{where}: ranges: '{var}' is a constant, not a variable")
    try:
        for t in check.at or (None,):
            scope: dict[str, Any] = {} if t is None else {"t": t}
            for name, e in check.let:
                scope[name] = _expr.evaluate(e, scope, read)
            for key, e in check.expressions.items():
                value = _expr.evaluate(e, scope, read)
                if isinstance(value, Series):
                    raise RealityCheckError(
                        f"{key} = {e.text!r} is a time series; read it at a time (@ t) or "
                        "reduce it (mean, max, min ...)"
                    )
    except GvcdynError as exc:
        if check.at is None and "unknown name 't'" in str(exc):
            raise RealityCheckError(
                f"{where}: missing time: an expression uses t; add at = ..."
            ) from None
        raise RealityCheckError(f"{where}: {exc}") from None


#: each model's resolved names: a runner resolves its checks' names at every verdict (a
#: calibration judges thousands of candidates), and a variable's name first fails as a
#: parameter, whose error searches the closest names (difflib): about 0.35 s of the 0.37 s
#: the 63 GVC checks took per call at one candidate vector
_RESOLVED: weakref.WeakKeyDictionary[Model, dict[str, tuple[str, str]]] = (
    weakref.WeakKeyDictionary()
)


def resolve(model: Model, name: str) -> tuple[str, str]:
    """``("parameter", canonical)`` or ``("variable", cell text)``; unknown names raise the
    model's own error (with the closest names). Known names are remembered per model."""
    known = _RESOLVED.setdefault(model, {})
    found = known.get(name)
    if found is None:
        found = known[name] = _resolve(model, name)
    return found


def _resolve(model: Model, name: str) -> tuple[str, str]:
    base, bracket, rest = name.partition("[")
    if not bracket:
        try:
            return "parameter", model.parameter(name).name
        except GvcdynError:
            pass
    var = model.variable(base.strip())
    return "variable", f"{var.name}[{rest}" if bracket else var.name
