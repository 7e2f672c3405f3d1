"""Model runs of a sensitivity design: the evaluator called on chunks, failures set aside.

The whole design is one compiled batch in principle; it is called in chunks so that a
progress bar moves and Ctrl-C is seen between chunks (Python handles signals only when
the compiled kernel returns). A run that fails (non-zero status or a non-finite
outcome) cannot simply be dropped from a Sobol' or Morris design, whose estimators read
rows in fixed groups, so the whole group it belongs to is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gvcdyn.errors import SensitivityDesignError
from gvcdyn.sensitivity.progress import ProgressFactory, silent

__all__ = ["DesignRuns", "drop_failed_groups", "run_design"]

#: Runs per evaluator call: about a second of the GVC model on two cores.
DEFAULT_CHUNK = 8192
#: Outputs of a design are held in memory for the analysis; refuse designs beyond this.
MAX_OUTPUT_BYTES = 4 * 2**30

Evaluate = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def run_design(
    evaluate: Evaluate,
    X: np.ndarray,
    *,
    chunk: int = DEFAULT_CHUNK,
    progress: ProgressFactory = silent,
) -> tuple[np.ndarray, np.ndarray]:
    """``Y (n, m)`` and ``status (n,)`` of ``evaluate`` over the rows of ``X``, in chunks."""
    n = X.shape[0]
    m = len(getattr(evaluate, "names", ())) or 1
    if n * m * 8 > MAX_OUTPUT_BYTES:
        raise SensitivityDesignError(
            f"{n:,} runs x {m:,} outputs would need {n * m * 8 / 2**30:.1f} GiB of outputs "
            f"(limit {MAX_OUTPUT_BYTES / 2**30:.0f} GiB); read fewer times (--at 10,20,40) "
            "or outputs, or use a smaller N"
        )
    advance = progress("runs", n)
    Y_parts: list[np.ndarray] = []
    status_parts: list[np.ndarray] = []
    for start in range(0, n, chunk):
        Y, status = evaluate(X[start : start + chunk])
        Y_parts.append(np.asarray(Y, dtype=np.float64).reshape(len(status), -1))
        status_parts.append(np.asarray(status, dtype=np.int64))
        advance(len(status))
    return np.concatenate(Y_parts), np.concatenate(status_parts)


@dataclass(frozen=True)
class DesignRuns:
    """The runs kept for analysis, whole groups only, and what was set aside."""

    X: np.ndarray
    Y: np.ndarray
    n_runs: int
    n_failed_runs: int
    n_dropped_groups: int
    n_groups: int


def drop_failed_groups(
    X: np.ndarray, Y: np.ndarray, status: np.ndarray, group: int, *, what: str
) -> DesignRuns:
    """Keep the groups of ``group`` consecutive rows in which every run succeeded.

    ``what`` names a group in the error raised when none is left ("base sample",
    "trajectory").
    """
    n = Y.shape[0]
    if n % group:
        raise SensitivityDesignError(f"{n} runs do not form whole groups of {group}")
    failed = (status != 0) | ~np.all(np.isfinite(Y), axis=1)
    bad_groups = failed.reshape(-1, group).any(axis=1)
    keep = np.repeat(~bad_groups, group)
    n_groups = n // group
    if bad_groups.all():
        raise SensitivityDesignError(
            f"every {what} has a failed run ({int(failed.sum())} of {n} runs failed); "
            "narrow the ranges or check the model with 'gvcdyn run'"
        )
    return DesignRuns(X[keep], Y[keep], n, int(failed.sum()), int(bad_groups.sum()), n_groups)
