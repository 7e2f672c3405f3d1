"""When a calibration step finds nothing: refuse the failure sentinel, say why.

The objective gives ``FAILED`` (``problem.FAILED``, 1e10) to a candidate outside the
support: one that breaks a reality check of the config's ``checks``, or whose runs fail
(a NaN or infinity in the model). A step whose best value is ``FAILED`` (or more: a normal
prior's term is added to a failed candidate's) has found no parameter set at all, and its
"optimum" is an arbitrary point of a flat landscape; reported as a fit, it would print
"objective 10000000000.0000" and a parameter table. Every step that returns a fitted
point (the fit, the profiles and bootstrap refits, the cross-validation folds, the
posterior's starting points) asks :func:`is_failed` and raises :func:`no_fit`'s error
instead.

The error says why. The search's own candidates are not kept (with a flat objective
they tell nothing), so the diagnosis judges the candidates the step ended on and
``DIAGNOSIS_POINTS`` Latin-hypercube points over the bounds (fixed seed: the same message
every time), in one batch of the checks and, when some hold every check, one of the
cases. Three answers:

- no candidate holds every check: the checks that held at none of them (with their best
  margin), and the checks failing at the candidate that came closest (fewest checks
  failing, then the smallest violations, each relative to that check's largest
  margin over the candidates): the ones to relax or drop;
- some hold every check but every one's runs fail: the cases whose runs failed at the
  candidate with the fewest;
- some hold every check and run: the search missed them (``missed`` says what to do for
  the step), with the checks failing at the step's best candidate.
"""

from __future__ import annotations

import numpy as np

from gvcdyn.calibrate.problem import FAILED, CalibrationProblem
from gvcdyn.calibrate.search import latin_hypercube
from gvcdyn.checks.run import all_hold
from gvcdyn.errors import CalibrationInfeasibleError

__all__ = ["DIAGNOSIS_POINTS", "is_failed", "no_fit"]

#: Latin-hypercube points over the bounds the diagnosis judges besides the step's own
DIAGNOSIS_POINTS = 128
#: their seed (fixed: a failed step explains itself the same way every time)
DIAGNOSIS_SEED = 20260
#: checks or cases named in a message, at most
SHOWN = 5


def is_failed(objective: float | np.ndarray) -> bool:
    """Whether an objective value (or any of several) is the failure sentinel: no
    parameter set in the support, or failed runs (``FAILED``, plus a prior's term)."""
    return bool(np.any(np.asarray(objective, dtype=float) >= FAILED))


def no_fit(
    problem: CalibrationProblem,
    tried: np.ndarray,
    *,
    step: str,
    weights: np.ndarray | None = None,
    missed: str = "more starts or generations ([fit] seeds, popsize, maxiter), or bounds "
    "narrowed around such a point",
    stage: str = "fit",
) -> CalibrationInfeasibleError:
    """The error for ``step`` (its words, e.g. "the differential evolution (2 starts)"),
    which ended on the candidates ``tried (n, k)``, all failed; see the module docstring.

    ``weights (C,)``: the step's case weights (default the problem's): a case with weight
    0 does not count. ``missed``: what to do when points that hold every check and run
    exist but the step did not reach them. ``stage``: the error's ``stage``.
    """
    error = _diagnosis(
        problem, np.atleast_2d(np.asarray(tried, dtype=float)), step, weights, missed
    )
    error.stage = stage
    return error


def _diagnosis(
    problem: CalibrationProblem,
    tried: np.ndarray,
    step: str,
    weights: np.ndarray | None,
    missed: str,
) -> CalibrationInfeasibleError:
    """``no_fit``'s error, its diagnosis (see the module docstring)."""
    unit = latin_hypercube(np.random.default_rng(DIAGNOSIS_SEED), DIAGNOSIS_POINTS, problem.k)
    lhs = problem.from_unit(unit)
    candidates = np.vstack([tried, lhs])
    judged = (
        f"{len(candidates)} candidates judged for this message (the {len(tried)} the step "
        f"ended on and {DIAGNOSIS_POINTS} Latin-hypercube points over the bounds)"
    )
    checks = problem.checks
    margins = holds = None
    if checks is not None:
        margins, holds = problem.check_verdicts(candidates)
        inside = all_hold(holds)
        if not inside.any():
            return _checks_error(problem, candidates, margins, holds, step, judged)
    else:
        inside = np.ones(len(candidates), dtype=bool)
    values = problem.objective(candidates[inside], weights, checks=False)
    usable = values < FAILED
    if not usable.any():
        return _runs_error(problem, candidates[inside], step, weights, checks is not None)
    # points of the support whose runs succeed exist: the step did not reach them
    where = "hold every reality check and run" if checks is not None else "run"
    text = (
        f"{step} found no parameter set inside the bounds whose runs all succeed"
        + (" and where every reality check holds" if checks is not None else "")
        + f", though {int(usable.sum())} of {DIAGNOSIS_POINTS + len(tried)} points judged "
        f"for this message {where}"
    )
    failing: tuple[tuple[str, float], ...] = ()
    if margins is not None and holds is not None:
        own = _closest(margins[: len(tried)], holds[: len(tried)])
        failing = _failing(problem, margins[own], holds[own], margins)
        if failing:
            text += f"; failing where the step ended: {_listed(failing)}"
    error = CalibrationInfeasibleError(text, hint=missed)
    best = np.flatnonzero(inside)[np.flatnonzero(usable)[np.argmin(values[usable])]]
    error.candidate = _named(problem, candidates[best])
    error.failing = failing
    return error


def _checks_error(
    problem: CalibrationProblem,
    candidates: np.ndarray,
    margins: np.ndarray,
    holds: np.ndarray,
    step: str,
    judged: str,
) -> CalibrationInfeasibleError:
    """No candidate holds every check: which never hold, which fail at the closest."""
    names = problem.checks.spec.names
    path = problem.config.checks
    best = _closest(margins, holds)
    failing = _failing(problem, margins[best], holds[best], margins)
    never = tuple(
        (names[j], _best_margin(margins[:, j])) for j in np.flatnonzero(~holds.any(axis=0))
    )
    parts = [
        f"{step} found no parameter set inside the bounds where every reality check of "
        f"{path.name if path else 'the checks file'} holds ({len(names)} checks), nor did "
        f"any of the {judged}"
    ]
    if never:
        parts.append(
            "held at none of them: "
            + _first_shown([f"'{n}' (best margin {_margin(m)})" for n, m in never])
        )
    parts.append(
        f"at the closest candidate {len(failing)} of {len(names)} checks fail: " + _listed(failing)
    )
    error = CalibrationInfeasibleError(
        "; ".join(parts),
        file=path,
        hint="relax or drop those checks, widen the [estimate] bounds, or calibrate "
        "without reality checks (remove `checks = ...` from the config)",
    )
    error.failing, error.never_held = failing, never
    error.candidate = _named(problem, candidates[best])
    return error


def _runs_error(
    problem: CalibrationProblem,
    candidates: np.ndarray,
    step: str,
    weights: np.ndarray | None,
    checked: bool,
) -> CalibrationInfeasibleError:
    """Every candidate (that holds the checks) fails its runs: which cases fail."""
    _quantities, status = problem.quantities(candidates)
    w = problem.weights if weights is None else np.asarray(weights, dtype=float)
    failed = (status != 0) & (np.broadcast_to(w, status.shape) > 0)
    best = int(np.argmin(failed.sum(axis=1)))
    ids = tuple(str(problem.cases.ids[i]) for i in np.flatnonzero(failed[best]))
    among = "of them that hold every reality check " if checked else ""
    if ids:
        why = (
            f"at the candidate {among}with the fewest failures, {len(ids)} of "
            f"{int(np.sum(w > 0))} cases' runs fail (a NaN or infinity in the model): "
            + _first_shown([f"'{i}'" for i in ids])
        )
    else:
        why = "the runs end but the likelihood is not finite (a NaN or infinite quantity)"
    error = CalibrationInfeasibleError(
        f"{step} found no parameter set inside the bounds whose runs all succeed, nor did "
        f"any of the {len(candidates)} candidates {among}judged for this message; {why}",
        hint="look at the model's behaviour at those cases' lever values (gvcdyn run), "
        "or narrow the [estimate] bounds",
    )
    error.failed_cases = ids
    error.candidate = _named(problem, candidates[best])
    return error


def _closest(margins: np.ndarray, holds: np.ndarray) -> int:
    """The candidate nearest to holding every check: fewest failing checks, then the
    smallest sum of violations, each relative to its check's largest |margin| over the
    candidates (a NaN margin, a failed run, counts as a whole one)."""
    violation = _violations(margins, holds, _scale(margins))
    return int(np.lexsort((violation.sum(axis=1), (~holds).sum(axis=1)))[0])


def _scale(margins: np.ndarray) -> np.ndarray:
    """``(checks,)`` each check's largest finite |margin| over the candidates (0: none)."""
    finite = np.where(np.isfinite(margins), np.abs(margins), 0.0)
    return finite.max(axis=0) if len(finite) else np.zeros(margins.shape[-1])


def _violations(margins: np.ndarray, holds: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """How far each failing check is from holding, relative to ``scale`` (0 where it
    holds; 1 for a NaN margin, a failed run)."""
    safe = np.where(scale > 0, scale, 1.0)
    with np.errstate(invalid="ignore"):
        relative = np.clip(-margins / safe, 0.0, None)
    relative = np.where(np.isnan(margins) | (margins == -np.inf), 1.0, relative)
    return np.where(holds, 0.0, relative)


def _failing(
    problem: CalibrationProblem, margin: np.ndarray, holds: np.ndarray, margins: np.ndarray
) -> tuple[tuple[str, float], ...]:
    """``(check, margin)`` of the checks failing at one candidate (``margin``, ``holds``),
    largest violation first, relative to the candidates' ``margins``."""
    names = problem.checks.spec.names
    violation = _violations(margin, holds, _scale(margins))
    order = [j for j in np.argsort(-violation, kind="stable") if not holds[j]]
    return tuple((names[j], float(margin[j])) for j in order)


def _listed(failing: tuple[tuple[str, float], ...]) -> str:
    """The failing checks with their margins, as a message names them."""
    return _first_shown([f"'{n}' (margin {_margin(m)})" for n, m in failing])


def _first_shown(items: list[str]) -> str:
    """``items`` joined by commas, the first ``SHOWN`` of them and a count of the rest:
    every list this module's messages give (checks, cases) is cut the same way, so a
    message stays readable however many checks or cases fail."""
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return ", ".join(items[:SHOWN]) + more


def _best_margin(column: np.ndarray) -> float:
    finite = column[~np.isnan(column)]
    return float(finite.max()) if len(finite) else float("nan")


def _margin(value: float) -> str:
    return "NaN: a run failed" if np.isnan(value) else f"{value:.3g}"


def _named(problem: CalibrationProblem, theta: np.ndarray) -> dict[str, float]:
    return {n: float(v) for n, v in zip(problem.names, theta, strict=True)}
