"""Picklable functions and small models for the executor tests.

They live in a module (not in a test file) so that dask workers, which unpickle them by
reference, can import them: worker subprocesses get this folder on ``PYTHONPATH``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from mdl_helpers import write_mdl

TESTS = Path(__file__).resolve().parent

DECAY = """
k = 0.5
	~	1/Month [0.01, 2]
	~	Decay rate ({tag}).
	|
inflow = 1
	~	Widgets/Month [0, 5]
	~	Constant inflow.
	|
x = INTEG(inflow - k * x, 1)
	~	Widgets
	~		|
y = x * x - k
	~	Widgets*Widgets
	~		|
"""


def write_decay(folder: Path, tag: str, final_time: float = 20.0) -> Path:
    """A two-parameter stock model whose text (hence kernel) is unique to ``tag``."""
    return write_mdl(folder, DECAY.format(tag=tag), final_time=final_time, time_step=0.125)


def decay_evaluator(path: Path):
    """The analysis seam's evaluator over (k, inflow) of ``write_decay``'s model."""
    import gvcdyn

    model = gvcdyn.load(path)
    space = gvcdyn.ParameterSpace(model, ["k", "inflow"])
    outcomes = [
        gvcdyn.Outcome("x"),
        gvcdyn.Outcome("y", "max"),
        gvcdyn.Outcome("x", "value", at=5.0),
    ]
    return model.evaluator(space, outcomes)


def design(n: int, seed: int = 0) -> np.ndarray:
    """``n`` parameter sets of (k, inflow) inside their ranges, from a seeded generator."""
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(0.01, 2, n), rng.uniform(0, 5, n)])


class Polynomial:
    """A cheap deterministic stand-in for an evaluator: three outcomes and a status."""

    names = ("sum", "product", "sine")

    def __call__(self, X: np.ndarray, times: np.ndarray | None = None):
        shift = 0.0 if times is None else times
        Y = np.column_stack([X.sum(axis=1) + shift, X[:, 0] * X[:, -1], np.sin(X[:, 0])])
        status = (Y[:, 0] > 1.5).astype(np.int64)
        return Y, status


class Slow:
    """Wraps a function and sleeps before each chunk, so that a job lasts long enough to
    be killed in the middle."""

    def __init__(self, f, seconds: float) -> None:
        self.f = f
        self.seconds = seconds

    def __call__(self, X: np.ndarray, times: np.ndarray | None = None):
        time.sleep(self.seconds)
        return self.f(X) if times is None else self.f(X, times=times)


class InterruptAfter:
    """Raises KeyboardInterrupt (as Ctrl-C would) on call number ``n`` (1-based)."""

    def __init__(self, f, n: int) -> None:
        self.f = f
        self.n = n
        self.calls = 0

    def __call__(self, X: np.ndarray, times: np.ndarray | None = None):
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt
        return self.f(X) if times is None else self.f(X, times=times)


class CountingCalls:
    """Counts the runs it was called with (in-process only)."""

    def __init__(self, f) -> None:
        self.f = f
        self.runs = 0

    def __call__(self, X: np.ndarray, times: np.ndarray | None = None):
        self.runs += len(X)
        return self.f(X) if times is None else self.f(X, times=times)


UNPICKLED = 0  # in each worker process: how many times a CountsUnpickling was unpickled


class CountsUnpickling:
    """Answers each chunk with how many times this worker process unpickled the function
    (a job's function carries a model: it must be unpickled once per worker, not per chunk)."""

    def __init__(self) -> None:
        self.state = "non-empty"  # pickle skips __setstate__ for an empty state

    def __setstate__(self, state: dict) -> None:
        global UNPICKLED
        UNPICKLED += 1
        self.__dict__.update(state)

    def __call__(self, X: np.ndarray):
        return np.full((len(X), 1), float(UNPICKLED)), np.zeros(len(X), dtype=np.int64)
