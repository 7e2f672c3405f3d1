"""Outcomes: a model variable plus how a run is reduced to one number.

An ``Outcome`` reads one scalar cell of a variable over a window that starts at the
initial time and ends ``at`` the final time, a fixed time, or a per-run time (cases in
a case library each have their own period length). Reductions work on the kernel's raw
``values[run, saved time, column]`` arrays, vectorised over runs, never on xarray.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gvcdyn.errors import OutcomeError

REDUCTIONS = ("value", "change", "max", "min", "mean", "peak_time")
AT_FINAL = "final"
AT_RUN = "run"


@dataclass(frozen=True)
class Outcome:
    """``variable`` reduced over the saved times from the start up to ``at``.

    - ``reduction``: ``value`` (at ``at``), ``change`` (value at ``at`` minus value at the
      initial time), ``max``, ``min``, ``mean`` (over the saved times in the window) or
      ``peak_time`` (the first saved time of the maximum).
    - ``at``: ``"final"`` (the last saved time), a time (must be a saved time), or
      ``"run"``: per-run times given when the evaluator is called.
    - ``variable``: a scalar variable, or one cell of a subscripted one (``"Stock[a, b]"``).
    - ``name``: the outcome's label (default: derived from the others).
    """

    variable: str
    reduction: str = "value"
    at: float | str = AT_FINAL
    name: str | None = None

    def __post_init__(self) -> None:
        if self.reduction not in REDUCTIONS:
            raise OutcomeError(
                f"outcome '{self.variable}': unknown reduction '{self.reduction}'; "
                f"choose one of {', '.join(REDUCTIONS)}"
            )
        at = self.at
        if isinstance(at, str):
            if at not in (AT_FINAL, AT_RUN):
                raise OutcomeError(
                    f"outcome '{self.variable}': at={at!r} must be 'final', 'run' or a time"
                )
        elif isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at):
            raise OutcomeError(
                f"outcome '{self.variable}': at={at!r} must be 'final', 'run' or a finite time"
            )
        else:
            object.__setattr__(self, "at", float(at))

    @property
    def label(self) -> str:
        """The outcome's name in results: ``name`` or e.g. ``Market Share change@20``."""
        if self.name:
            return self.name
        if self.reduction == "value" and self.at == AT_FINAL:
            return self.variable
        at = self.at if isinstance(self.at, str) else f"{self.at:g}"
        return f"{self.variable} {self.reduction}@{at}"


def end_rows(
    outcome: Outcome, save_times: np.ndarray, n_runs: int, times: np.ndarray | None
) -> np.ndarray:
    """Per run, the row of the last saved time in the outcome's window."""
    if outcome.at == AT_FINAL:
        return np.full(n_runs, len(save_times) - 1, dtype=np.int64)
    if outcome.at == AT_RUN:
        if times is None:
            raise OutcomeError(
                f"outcome '{outcome.label}' is read at per-run times: call the evaluator "
                "with times=<one time per run>"
            )
        return _rows_of(np.asarray(times, dtype=np.float64), save_times, outcome.label)
    row = _rows_of(np.array([outcome.at]), save_times, outcome.label)[0]
    return np.full(n_runs, row, dtype=np.int64)


def nearest_saved(
    times: np.ndarray, save_times: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """For each of ``times``: the row of ``save_times`` nearest it, whether it is off the
    saved times (farther than 1e-6 of their spacing: not a saved time, to rounding), and
    that spacing. The one test of "a saved time" for reading outcomes and for refusing
    a case whose period ends between saved times (``calibrate.problem``)."""
    rows = np.clip(np.searchsorted(save_times, times), 1, len(save_times) - 1)
    nearer_left = np.abs(save_times[rows - 1] - times) <= np.abs(save_times[rows] - times)
    rows = np.where(nearer_left, rows - 1, rows) if len(save_times) > 1 else rows * 0
    spacing = float(np.min(np.diff(save_times))) if len(save_times) > 1 else 1.0
    off = np.abs(save_times[rows] - times) > 1e-6 * max(spacing, 1e-12)
    return rows, off, spacing


def _rows_of(times: np.ndarray, save_times: np.ndarray, label: str) -> np.ndarray:
    """Rows of ``save_times`` equal to ``times`` (to rounding), or a clear error."""
    if not np.all(np.isfinite(times)):
        raise OutcomeError(f"outcome '{label}': read times must be finite numbers")
    rows, off, spacing = nearest_saved(times, save_times)
    if off.any():
        bad = times[np.argmax(off)]
        raise OutcomeError(
            f"outcome '{label}': time {bad:g} is not a saved time (saved: "
            f"{save_times[0]:g} to {save_times[-1]:g} every {spacing:g}); read it at a saved "
            "time, or save more often (SAVEPER)"
        )
    return rows.astype(np.int64)


def reduce(
    outcome: Outcome, series: np.ndarray, rows: np.ndarray, save_times: np.ndarray
) -> np.ndarray:
    """One number per run from ``series[run, saved time]`` over rows ``0..rows[run]``.

    NaN in the window propagates (a failed run reads NaN, never a plausible number).
    """
    runs = np.arange(series.shape[0])
    kind = outcome.reduction
    if kind == "value":
        return series[runs, rows]
    if kind == "change":
        return series[runs, rows] - series[:, 0]
    inside = np.arange(series.shape[1])[None, :] <= rows[:, None]
    if kind == "mean":
        return np.where(inside, series, 0.0).sum(axis=1) / (rows + 1)
    if kind == "min":
        return np.where(inside, series, np.inf).min(axis=1)
    masked = np.where(inside, series, -np.inf)
    peak = masked.max(axis=1)
    if kind == "max":
        return peak
    return np.where(np.isnan(peak), np.nan, save_times[np.argmax(masked, axis=1)])


def labels(outcomes: Sequence[Outcome]) -> tuple[str, ...]:
    """Outcome labels, refusing duplicates (results are keyed by them)."""
    names = tuple(o.label for o in outcomes)
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise OutcomeError(f"two outcomes are both labelled '{twice[0]}'; give one a name=")
    return names
