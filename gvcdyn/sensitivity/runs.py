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
from gvcdyn.execute import Execution
from gvcdyn.limits import check_memory
from gvcdyn.progress import Progress, silent

__all__ = ["DesignRuns", "check_design_memory", "drop_failed_groups", "run_design"]

#: Runs per evaluator call: about a second of the GVC model on two cores.
DEFAULT_CHUNK = 8192
#: Outputs of a design are held in memory for the analysis; refuse designs beyond this
#: (None: the machine's limit, ``gvcdyn.limits.memory_limit()``).
MAX_OUTPUT_BYTES: int | None = None
#: What to ask for instead of a design too big for memory.
SMALLER = "read fewer times (--at 10,20,40) or outputs, or use a smaller N"

Evaluate = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def run_design(
    evaluate: Evaluate,
    X: np.ndarray,
    *,
    chunk: int = DEFAULT_CHUNK,
    progress: Progress = silent,
    execution: Execution | None = None,
    config: dict | None = None,
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``Y (n, m)`` and ``status (n,)`` of ``evaluate`` over the rows of ``X``, in chunks.

    ``execution`` says where the chunks run (in this process by default, or on a dask
    cluster) and whether finished chunks are checkpointed for ``--resume``; ``config``
    and ``seed`` identify the study in the checkpoint, with ``X`` and what
    ``evaluate.identity()`` says decides its numbers (model, data, method, base...).
    ``progress`` counts the runs (a task named "runs").
    """
    n = X.shape[0]
    m = len(getattr(evaluate, "names", ())) or 1
    check_memory(
        n * m * 8,
        f"{n:,} runs x {m:,} outputs",
        hint=SMALLER,
        error=SensitivityDesignError,
        limit=MAX_OUTPUT_BYTES,
    )
    result = (execution or Execution()).map(
        evaluate,
        X,
        config={"outcomes": list(getattr(evaluate, "names", ())), **(config or {})},
        seed=seed,
        chunk_size=chunk,
        progress=progress,
    )
    return result.Y, result.status


def check_design_memory(
    rows: int, levers: int, outputs: int, *, resamples: int = 0, base: int = 0
) -> None:
    """Refuse, before it is sampled, a design of ``rows`` runs whose memory would exceed
    the limit: the design (``rows x levers``) and its outputs (``rows x outputs``) are
    each held twice (as run and as kept for the analysis); a Sobol' analysis adds the
    bootstrap's ``base x resamples`` counts, which take about three times their size
    while they are drawn."""
    extra = f" and {resamples:,} bootstrap resamples of {base:,} base samples" if resamples else ""
    check_memory(
        2 * rows * (levers + outputs) * 8 + 3 * base * resamples * 8,
        f"a design of {rows:,} runs x {levers:,} levers with {outputs:,} outputs{extra}",
        hint=SMALLER + (" or fewer --resamples" if resamples else ""),
        error=SensitivityDesignError,
    )


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
