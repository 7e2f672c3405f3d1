"""Running a check file: every condition of every check in one compiled batch.

The runs all checks need (each condition x background x sweep point, after duplicates
are merged) become the rows of ONE parameter matrix, run by one call of the model's
evaluator (``model.evaluator(space, outcomes)``, the analysis seam). The evaluator
reads every variable the checks name at every saved time; each check's expectation is
then evaluated on those numbers, for all draws at once.

Under ``perturb``, the base is drawn ``draws`` times (every constant uniformly within
+-``perturb`` relative around its base value, clipped to its documented range; the
file's ``levers``, structural constants and the simulation controls stay at base) and
each condition's settings are applied on top of each draw: ``draws + 1`` copies of the
matrix (the first is the base itself), still one evaluator call unless the readings
would need more than about 200 MB, in which case the draws go in as few equal calls as
fit. Under ``posterior`` (``params`` a calibration fit with a posterior), the draws are
instead that many of the fit's posterior draws, evenly spaced over all it kept: each sets
the estimated parameters over the base (the estimate; ``settings`` still apply over each
draw), and the result reads like the perturbation's. A check *holds* when every part of
its expectation holds at every time, background and sweep point and all its runs ended
with status ok; its *margin* is the smallest signed distance to failing, in the units of
the compared quantity (NaN: a run failed).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from gvcdyn._version import __version__
from gvcdyn.checks import expr as _expr
from gvcdyn.checks.expr import Series
from gvcdyn.checks.spec import _OPS, Check, CheckFile, check_times, read_checks, resolve
from gvcdyn.errors import GvcdynError, RealityCheckError
from gvcdyn.io.results_io import read_netcdf
from gvcdyn.io.scenario_files import read_scenario
from gvcdyn.io.tomlfile import not_found
from gvcdyn.language import ir
from gvcdyn.model import Model  # for typing.get_type_hints; loaded via checks.spec anyway
from gvcdyn.outcomes import Outcome
from gvcdyn.space import ParameterSpace

__all__ = [
    "CheckRunner",
    "all_hold",
    "base_values",
    "evenly_spaced",
    "perturbed_names",
    "posterior_draws",
    "reality_check",
]

#: most numbers (runs x readings) one evaluator call may return (about 200 MB)
MAX_VALUES_PER_CALL = 25_000_000

ParamsLike = Mapping[str, float] | str | Path | None


def _load_fit(path: Path) -> xr.Dataset:
    """The netCDF file ``path`` (a calibration fit), or a RealityCheckError saying why not."""
    return read_netcdf(path, "parameter file", RealityCheckError)


def base_values(params: ParamsLike, model: Model | None = None) -> tuple[dict[str, float], str]:
    """The base values a check run starts from, and where they came from.

    ``None``: the model's defaults. A mapping: those values. A ``.nc`` file: a calibration
    fit's estimates (variable ``estimate`` over ``parameter``); with ``model``, a fit
    made for another version of it says so in the label ("fit.nc (made for another model
    version)", as a sensitivity study's base does): its estimates are applied by name, so
    they run, but they were fitted to other equations. A ``.toml`` file: its
    ``[parameters]`` table (a scenario file, or pinned reference values).
    """
    if params is None:
        return {}, "model defaults"
    if isinstance(params, Mapping):
        return {str(k): float(v) for k, v in params.items()}, "values given"
    path = Path(params)
    if not path.is_file():
        raise RealityCheckError(not_found("parameter file", path))
    if path.suffix == ".nc":
        ds = _load_fit(path)
        if "estimate" not in ds or "parameter" not in ds.coords:
            raise RealityCheckError(
                f"{path} has no 'estimate' over 'parameter'; give a calibration fit (.nc)"
            )
        names = [str(n) for n in ds["parameter"].values]
        made_for = ds.attrs.get("model_sha256")
        stale = model is not None and bool(made_for) and made_for != model.ir.source_hash
        label = str(path) + " (made for another model version)" * stale
        return dict(zip(names, map(float, ds["estimate"].values), strict=True)), label
    if path.suffix == ".toml":
        return dict(read_scenario(path).parameters), str(path)
    raise RealityCheckError(
        f"{path}: parameters come from a fit (.nc) or a [parameters] table (.toml)"
    )


def all_hold(holds: np.ndarray) -> np.ndarray:
    """Where every check holds: ``(..., check)`` verdicts -> ``(...)`` bool (True with
    no checks). The one place a row of verdicts becomes a pass of all the checks, for the
    reality check's ``all_hold`` and ``share_all``, its table and a calibration's support.

    ``holds`` are :meth:`CheckRunner.verdicts`' (or a result file's ``holds``, any
    integer type): the check's tolerance, strictness, NaN (which fails) and a failed run
    (which fails its check) are already in them, so this adds no rule of its own.
    """
    return np.asarray(holds).astype(bool).all(axis=-1)


def evenly_spaced(n_kept: int, n_wanted: int) -> np.ndarray:
    """Positions of ``n_wanted`` draws spread evenly over ``n_kept`` kept posterior draws
    (flattened chain by chain): ``np.linspace(0, n_kept - 1, n).round()`` with ``n`` the
    smaller of the two, so the first and the last draw are always taken, each draw at
    most once, in increasing order (``int64``; every draw when ``n_wanted >= n_kept``).

    Why evenly spaced, not the first ``n_wanted`` nor a random few: consecutive draws of
    an MCMC chain are autocorrelated, and the flattened order puts each walker's chain
    after the previous one's, so the first draws would be a few correlated steps of one
    walker; spread over the whole kept chain they cover every walker and the whole run,
    as nearly independent as the chain allows. And with no seed to choose, every user of
    a fit takes the same draws for the same count: a reality check of ``--posterior 200``
    judges exactly the draws the fit's ``predictive_estimate`` (and so ``predict``) uses.
    """
    return np.linspace(0, n_kept - 1, min(n_wanted, n_kept)).round().astype(np.int64)


def posterior_draws(params: ParamsLike, n: int) -> tuple[list[str], np.ndarray, np.ndarray, int]:
    """``n`` posterior draws of the calibration fit ``params`` (a ``.nc`` path), evenly
    spaced over all its kept draws: ``(names, values (taken, parameter), index, total)``.

    The fit's ``posterior_draw (chain, draw, parameter)`` is flattened chain by chain, in
    order, and the draws :func:`evenly_spaced` picks are taken (as the fit's
    ``predictive_estimate`` is chosen); with ``n >= total``, every draw. ``index`` is
    each taken draw's position in the flattened order.
    """
    path = None if params is None or isinstance(params, Mapping) else Path(params)
    if path is None or path.suffix != ".nc":
        given = "values given" if isinstance(params, Mapping) else str(params)
        raise RealityCheckError(
            f"posterior draws come from a calibration fit (.nc) with a posterior, not "
            f"{given}: give the fit as params (--params fit.nc)"
        )
    ds = _load_fit(path)
    if "posterior_draw" not in ds and "estimate" not in ds:
        raise RealityCheckError(
            f"{path} is not a calibration fit (no 'estimate'); give a fit that "
            "'gvcdyn calibrate' wrote with a [posterior] table in its config"
        )
    if "posterior_draw" not in ds:
        raise RealityCheckError(
            f"{path} has no posterior draws ('posterior_draw'): add a [posterior] table to "
            "its calibration config and calibrate again, or draw around its estimate "
            "with --perturb (perturb= in Python)"
        )
    array = ds["posterior_draw"].transpose(..., "parameter")
    names = [str(name) for name in array["parameter"].values]
    flat = np.asarray(array.values, dtype=np.float64).reshape(-1, len(names))
    total = len(flat)
    if total == 0:
        raise RealityCheckError(f"{path} holds no posterior draw; calibrate it again")
    index = evenly_spaced(total, n)
    return names, flat[index], index, total


def perturbed_names(model: Model, checks: CheckFile) -> list[str]:
    """The constants a perturbation draws: all but the file's levers, the structural
    ones (orders of SMOOTH N / DELAY N) and those the simulation controls read."""
    controls = model.ir.controls
    read = set().union(
        *(
            ir.symbols_in(e)
            for e in (controls.initial_time, controls.final_time, controls.time_step)
        ),
        ir.symbols_in(controls.saveper),
    )
    return [
        p.name
        for p in model.parameters
        if p.name not in checks.levers
        and p.variable not in model.ir.structural
        and p.symbol not in read
    ]


def reality_check(
    model: Model,
    checks: CheckFile | str | Path,
    *,
    params: ParamsLike = None,
    settings: Mapping[str, float] | None = None,
    perturb: float = 0.0,
    draws: int = 500,
    seed: int | None = None,
    method: str | None = None,  # None: the model's declared method
    time_step: float | None = None,  # None: the model's own TIME STEP
    posterior: int = 0,
) -> xr.Dataset:
    """Run every check of ``checks`` on ``model`` and say which hold, by how much.

    Returns a Dataset over ``check``: ``holds`` and ``margin`` at the base (``params``:
    see :func:`base_values`; ``settings`` override it, as ``--set`` does); with
    ``perturb > 0`` also ``holds_draw`` and ``margin_draw`` over (``draw``, ``check``),
    ``share`` (of draws where each check holds), ``share_all`` (where all hold together)
    and the drawn values ``draw_value(draw, parameter)``. Its attributes ``method`` and
    ``time_step`` record the integration setting the runs used.

    With ``posterior = N > 0`` (not with ``perturb``), ``params`` must be a calibration
    fit (``.nc``) with posterior draws: the draws are N of them (:func:`posterior_draws`;
    all of them when the fit holds fewer), each setting the fit's estimated parameters
    over the base, ``settings`` over each; the same variables as under ``perturb``, with
    ``draw_value`` the posterior values, the coordinate ``posterior_index`` (each draw's
    position among the fit's draws, chains flattened in order) and attributes
    ``posterior`` (N), ``draws`` (taken), ``posterior_total`` and ``posterior_index``.

    A margin is the margin at ``method`` and ``time_step``: a calibration that imposed
    the checks at its own setting (its config's ``method`` and ``time_step``) guarantees
    them there, not at the model's own TIME STEP, so to reproduce a fit's margins pass
    the fit's setting (``gvcdyn reality-check --params fit.nc`` does).
    """
    spec = checks if isinstance(checks, CheckFile) else read_checks(checks, model)
    method = model.integration_method(method)
    if time_step is not None and not (np.isfinite(time_step) and time_step > 0):
        raise RealityCheckError(f"time_step must be a number > 0, got {time_step:g}")
    if perturb < 0 or not np.isfinite(perturb):
        raise RealityCheckError(f"perturb must be a fraction >= 0, got {perturb}")
    if perturb > 0 and draws < 1:
        raise RealityCheckError(f"draws must be at least 1, got {draws}")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0
    ):  # numpy's generators take no negative seed: say so before any run
        raise RealityCheckError(f"seed must be an integer >= 0, got {seed}")
    if posterior < 0:
        raise RealityCheckError(f"posterior must be a number of draws >= 1, got {posterior}")
    if posterior and perturb > 0:
        raise RealityCheckError(
            "posterior and perturb: choose one (posterior draws of a fit, or draws within "
            "+-perturb of the base)"
        )
    drawn = posterior_draws(params, posterior) if posterior else None
    values, source = base_values(params, model)
    if settings:
        values = {**values, **settings}
        given = ", ".join(f"{k}={v:g}" for k, v in settings.items())
        source = f"{source}; set {given}"
    base = model.parameter_matrix(values)[0]
    if drawn is not None:
        varied, bases = _posterior_bases(model, base, drawn[0], drawn[1], settings or {}, params)
    else:
        varied = perturbed_names(model, spec) if perturb > 0 else []
        bases = _draw_bases(model, base, varied, perturb, draws if perturb > 0 else 0, seed)

    runner = CheckRunner(model, spec, method=method, time_step=time_step, varying=varied, base=base)
    margins, holds = runner.verdicts(bases)
    coords = {
        "check": list(spec.names),
        "group": ("check", [c.group for c in spec.checks]),
        "kind": ("check", [c.kind for c in spec.checks]),
    }
    ds = xr.Dataset(
        {
            "holds": ("check", holds[0], {"description": "the check holds at the base"}),
            "margin": (
                "check",
                margins[0],
                {
                    "description": "signed distance to failing at the base, in the units of "
                    "the compared quantity (NaN: a run failed)"
                },
            ),
            "doc": ("check", [c.doc for c in spec.checks]),
        },
        coords=coords,
        attrs={
            "title": "gvcdyn reality check",
            "model": model.name,
            "model_sha256": model.ir.source_hash,
            "checks_file": spec.path,
            "base": source,
            "method": method,
            "time_step": runner.time_step,
            "runs": int(bases.shape[0] * runner.rows),
            "evaluator_calls": runner.calls,
            "gvcdyn_version": __version__,
            "all_hold": int(all_hold(holds[0])),
        },
    )
    if perturb > 0 or drawn is not None:
        if drawn is not None:
            draws = len(drawn[2])
            what = f"{draws} posterior draws of {params}"
        else:
            what = f"{draws} draws (+-{perturb:g})"
        ds["holds_draw"] = (("draw", "check"), holds[1:])
        ds["margin_draw"] = (("draw", "check"), margins[1:])
        ds["share"] = (
            "check",
            holds[1:].mean(axis=0),
            {"description": f"share of {what} in which the check holds"},
        )
        ds["share_all"] = (
            (),
            float(all_hold(holds[1:]).mean()),
            {"description": "share of draws in which every check holds"},
        )
        columns = [model.parameter(n).column for n in varied]
        ds["draw_value"] = (("draw", "parameter"), bases[1:, columns])
        ds = ds.assign_coords(parameter=varied, draw=np.arange(draws))
        if drawn is None:
            ds.attrs.update(perturb=perturb, draws=draws, seed=-1 if seed is None else seed)
            return ds
        _names, _values, index, total = drawn
        ds = ds.assign_coords(posterior_index=("draw", index))
        ds["posterior_index"].attrs["description"] = (
            "the draw's position among the fit's posterior draws (chains flattened in order)"
        )
        ds.attrs.update(
            posterior=posterior,
            draws=draws,
            posterior_fit=str(params),
            posterior_total=total,
            posterior_index=index,
        )
        if posterior > total:
            ds.attrs["posterior_note"] = (
                f"{params} holds {total} posterior draws, fewer than the {posterior} asked: "
                "all of them are used"
            )
    return ds


def _posterior_bases(
    model: Model,
    base: np.ndarray,
    names: list[str],
    values: np.ndarray,
    settings: Mapping[str, float],
    fit: ParamsLike,
) -> tuple[list[str], np.ndarray]:
    """The varied names and ``len(values) + 1`` base rows: the base, then each posterior
    draw's values over it, except where ``settings`` (``--set``) say otherwise."""
    kept = {model.parameter(name).column for name in settings}
    try:
        params = [model.parameter(name) for name in names]
    except GvcdynError as exc:
        raise RealityCheckError(f"{fit}: {exc} (was the fit made for this model?)") from None
    bases = np.tile(base, (len(values) + 1, 1))
    for j, p in enumerate(params):
        if p.column not in kept:
            bases[1:, p.column] = values[:, j]
    return [p.name for p in params], bases


def _draw_bases(
    model: Model, base: np.ndarray, names: list[str], perturb: float, draws: int, seed: int | None
) -> np.ndarray:
    """``draws + 1`` base rows: the base, then draws within +-perturb, clipped to ranges."""
    bases = np.tile(base, (draws + 1, 1))
    if draws == 0 or not names:
        return bases
    rng = np.random.default_rng(seed)
    factors = 1 + rng.uniform(-perturb, perturb, size=(draws, len(names)))
    for j, name in enumerate(names):
        p = model.parameter(name)
        value = base[p.column] * factors[:, j]
        low = -np.inf if p.minimum is None else p.minimum
        high = np.inf if p.maximum is None else p.maximum
        bases[1:, p.column] = np.clip(value, low, high)
    return bases


def _plan(check: Check, rows: dict[tuple, int]) -> dict[str, np.ndarray]:
    """Per condition, the batch row of each (background, sweep point)."""
    plan = {
        name: np.zeros((len(check.backgrounds), len(cond.points)), dtype=np.int64)
        for name, cond in check.conditions.items()
    }
    for cond, b, s, settings in check.settings():
        key = tuple(sorted(settings.items()))
        plan[cond][b, s] = rows.setdefault(key, len(rows))
    return plan


def _cells(model: Model, spec: CheckFile) -> dict[str, int]:
    """Every variable (cell) any check reads, with its index among the readings."""
    names: list[str] = []
    for check in spec.checks:
        texts = [e for _, e in check.let] + list(check.expressions.values())
        for e in texts:
            for _, name in e.reads:
                kind, canonical = resolve(model, name)
                if kind == "variable":
                    names.append(canonical)
        names += [resolve(model, v)[1] for v in check.ranges]
    return {name: i for i, name in enumerate(dict.fromkeys(names))}


class CheckRunner:
    """Every check of a file, ready to judge many base parameter rows.

    The batch plan (one row per distinct condition setting), the readings and the
    evaluator are built once, so a caller that asks again and again (a calibration's
    constraint: every candidate vector of every generation or ensemble move) pays only
    for the runs. ``varying`` names the parameters the bases may change beyond the
    checks' own settings (the perturbed constants, the estimated parameters); the other
    columns of a base row are ignored and stay at ``base`` (default: the model's
    defaults). ``method`` and ``time_step`` are the simulation's, so a check is judged
    under the integration setting of the answers it guards.
    """

    def __init__(
        self,
        model: Model,
        spec: CheckFile,
        *,
        method: str | None = None,  # None: the model's declared method
        time_step: float | None = None,
        varying: list[str] | tuple[str, ...] = (),
        base: np.ndarray | None = None,
    ) -> None:
        self.model, self.spec = model, spec
        keys: dict[tuple, int] = {}
        self.plans = [_plan(check, keys) for check in spec.checks]
        self.settings = list(keys)
        self.rows = len(keys)
        self.base = model.defaults() if base is None else np.asarray(base, dtype=np.float64)
        self.cells = _cells(model, spec)
        grid = model.grid(self.base[None, :], time_step=time_step)
        #: the step the runs take (an adaptive method's first step): given, else the model's
        self.time_step = float(grid.time_step)
        self.times = np.asarray(grid.save_times, dtype=np.float64)
        if time_step is not None:  # the file was read against the model's own saved times
            check_times(spec, model, self.times)
        set_by_checks = [name for key in keys for name, _value in key]
        names = list(dict.fromkeys([*(model.parameter(n).name for n in varying), *set_by_checks]))
        if not names:  # every check runs at the base: vary a free column that stays put
            free = (p for p in model.parameters if p.variable not in model.ir.structural)
            names = [next(free).name]
        self.space = ParameterSpace(
            model,
            names,
            bounds={n: (-1e300, 1e300) for n in names},  # any value: checks set extremes
            base={p.name: float(self.base[p.column]) for p in model.parameters},
            allow_out_of_range=True,
        )
        outcomes = [
            Outcome(cell, "value", at=float(t), name=f"{cell} @{i}")
            for cell in self.cells
            for i, t in enumerate(self.times)
        ]
        self.evaluator = (
            model.evaluator(self.space, outcomes, method=method, time_step=time_step)
            if outcomes
            else None
        )
        self.calls = 0

    def verdicts(self, bases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(margin, holds)``, each ``(n, checks)``, for ``n`` base rows ``(n, params)``.

        The bases are judged in chunks of at most ``MAX_VALUES_PER_CALL`` readings, so
        500 posterior or perturbation draws of a large check file do not hold every
        draw's readings at once (the GVC file's 500 draws peaked at 2.1 GB that way)."""
        bases = np.atleast_2d(np.asarray(bases, dtype=np.float64))
        n_out = len(self.cells) * len(self.times)
        per_call = max(1, MAX_VALUES_PER_CALL // max(1, self.rows * n_out))
        margins = np.empty((len(bases), len(self.spec.checks)))
        holds = np.empty((len(bases), len(self.spec.checks)), dtype=bool)
        for start in range(0, len(bases), per_call):
            chunk = slice(start, start + per_call)
            margins[chunk], holds[chunk] = self._judge(bases[chunk])
        return margins, holds

    def _judge(self, bases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        full = np.repeat(bases[:, None, :], self.rows, axis=1)  # (draw, row, parameter)
        for r, key in enumerate(self.settings):
            for name, value in key:
                full[:, r, self.model.parameter(name).column] = value
        Y, status = self._simulate(full)
        margins = np.empty((len(bases), len(self.spec.checks)))
        holds = np.empty((len(bases), len(self.spec.checks)), dtype=bool)
        for j, (check, plan) in enumerate(zip(self.spec.checks, self.plans, strict=True)):
            margins[:, j], holds[:, j] = _evaluate(
                self.model, check, plan, full, Y, status, self.cells, self.times
            )
        return margins, holds

    def _simulate(self, full: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``Y[draw, row, cell, time]`` and ``status[draw, row]``: one evaluator call
        (``verdicts`` keeps a chunk's readings under ``MAX_VALUES_PER_CALL``)."""
        n_draws, n_rows, _ = full.shape
        shape = (n_draws, n_rows, len(self.cells), len(self.times))
        if self.evaluator is None:  # checks read only constants: run nothing
            return np.full(shape, np.nan), np.zeros((n_draws, n_rows), dtype=np.int64)
        columns = self.space.columns
        y, st = self.evaluator(full[..., columns].reshape(-1, len(columns)))
        self.calls += 1
        Y = y.reshape(shape)
        status = np.asarray(st).reshape(n_draws, n_rows)
        return Y, status


def _evaluate(
    model: Model,
    check: Check,
    plan: Mapping[str, np.ndarray],
    full: np.ndarray,
    Y: np.ndarray,
    status: np.ndarray,
    cells: Mapping[str, int],
    times: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``(margin, holds)`` per draw for one check."""
    n_draws = full.shape[0]

    def read(cond: str, name: str) -> Any:
        rows = plan[cond]
        kind, canonical = resolve(model, name)
        if kind == "parameter":
            return full[:, rows, model.parameter(canonical).column]
        return Series(Y[:, rows, cells[canonical], :], times)

    parts: list[tuple[np.ndarray, bool]] = []
    for t in check.at or (None,):
        scope: dict[str, Any] = {} if t is None else {"t": t}
        for name, e in check.let:
            scope[name] = _expr.evaluate(e, scope, read)
        value = {k: _expr.evaluate(e, scope, read) for k, e in check.expressions.items()}
        parts += _parts(check, value, read)

    tol = check.tolerance
    margin = np.full(n_draws, np.inf)
    holds = np.ones(n_draws, dtype=bool)
    for part, strict in parts:
        arr = np.asarray(part, dtype=np.float64) + tol
        arr = np.broadcast_to(arr, (n_draws, *arr.shape[1:])) if arr.ndim else np.full(n_draws, arr)
        m = np.min(arr.reshape(n_draws, -1), axis=1)  # NaN propagates: a NaN fails
        margin = np.minimum(margin, m)
        with np.errstate(invalid="ignore"):
            holds &= m > 0 if strict else m >= 0
    used = np.concatenate([rows.ravel() for rows in plan.values()])
    failed = np.any(status[:, used] != 0, axis=1)
    return np.where(failed, np.nan, margin), holds & ~failed


def _parts(check: Check, value: Mapping[str, Any], read: Any) -> list[tuple[Any, bool]]:
    """The signed distances to failing of one evaluation, each with whether 0 fails."""
    kind = check.kind
    if kind == "compare":
        diff = _expr._elementwise(np.subtract, value["left"], value["right"])
        return [(diff if check.op in (">", ">=") else -diff, _OPS[check.op])]
    if kind == "bound":
        v = value["value"]
        side = {"min": (1, False), "above": (1, True), "max": (-1, False), "below": (-1, True)}
        return [
            ((v - limit) if side[k][0] > 0 else (limit - v), side[k][1])
            for k, limit in check.bounds
        ]
    if kind == "sign":
        v = value["value"]
        return [(v if check.sign == "positive" else -np.asarray(v), True)]
    if kind == "monotone":
        v = np.asarray(value["value"], dtype=np.float64)
        swept = next(c for c in check.conditions.values() if c.swept)
        v = np.broadcast_to(v, (*v.shape[:-1], len(swept.points)) if v.ndim else len(swept.points))
        diff = np.diff(v, axis=-1)
        return [(diff if check.direction == "increasing" else -diff, check.strict)]
    parts = []
    for var, (low, high) in check.ranges.items():
        for cond in check.conditions:
            x = read(cond, var).values
            with np.errstate(invalid="ignore"):
                parts.append((np.minimum(x - low, high - x), False))
    return parts
