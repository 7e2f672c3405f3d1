"""Per-run times of the evaluator and ``Model.run`` at several batch sizes (benchmark helper).

Used by ``bench_core.py`` and ``bench_seam.py``. For each batch size it times

- the evaluator: every non-structural parameter varied (see :func:`varied_bounds`), the
  first 5 stock cells at the final time as outcomes, the path calibration, sensitivity
  and MCMC take;
- ``Model.run``: the same parameter sets as a DataFrame, every variable reported as an
  xarray Dataset, the path of a what-if;

and prints per-run wall time (median over repeated calls), CPU time per run (all
threads, ``time.process_time``) and the ratios to PySD (same process) and to a
hand-written kernel where one exists. The machine's load average is printed with them:
on a shared machine wall times at small batches depend on it.
"""

from __future__ import annotations

import itertools
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

import gvcdyn

BATCHES = (1, 100, 10_000)


@dataclass(frozen=True)
class Timing:
    """Seconds per run: median wall time of a call / runs, and mean CPU time / runs."""

    wall: float
    cpu: float
    calls: int


def timed(work: Callable[[], object], n_runs: int, budget: float = 1.0) -> Timing:
    """Time ``work`` (one call runs ``n_runs``) over about ``budget`` seconds, at least
    3 calls, after one warm-up call."""
    start = time.perf_counter()
    work()
    first = time.perf_counter() - start
    calls = int(min(500, max(3, budget / max(first, 1e-6))))
    walls = []
    cpu_start = time.process_time()
    for _ in range(calls):
        start = time.perf_counter()
        work()
        walls.append(time.perf_counter() - start)
    cpu = (time.process_time() - cpu_start) / calls
    return Timing(statistics.median(walls) / n_runs, cpu / n_runs, calls)


def varied_bounds(
    model: gvcdyn.Model,
) -> tuple[dict[str, tuple[float, float]], list[str]]:
    """Bounds for every non-structural parameter, and the names of those left out.

    A parameter with a documented range ``[min, max]`` (min < max) is varied over it;
    otherwise over +-20% of its default, clipped to whatever bound it documents. A
    parameter whose range is a single value (``[1, 1]``), or whose default is 0 or not
    finite without a range, is left fixed and named in the second list.
    """
    bounds: dict[str, tuple[float, float]] = {}
    skipped: list[str] = []
    for p in model.parameters:
        if p.variable in model.ir.structural:
            continue
        if p.minimum is not None and p.maximum is not None and p.minimum < p.maximum:
            bounds[p.name] = (p.minimum, p.maximum)
            continue
        if p.default == 0 or not np.isfinite(p.default):
            skipped.append(p.name)
            continue
        low, high = sorted((0.8 * p.default, 1.2 * p.default))
        if p.minimum is not None:
            low, high = max(low, p.minimum), max(high, p.minimum)
        if p.maximum is not None:
            low, high = min(low, p.maximum), min(high, p.maximum)
        if low < high:
            bounds[p.name] = (low, high)
        else:
            skipped.append(p.name)
    return bounds, skipped


def first_cells(model: gvcdyn.Model, n: int) -> list[str]:
    """The first ``n`` defined cells of the model's stocks (auxiliaries if it has none),
    as outcomes name them: ``Name`` or ``Name[e1, e2]``."""
    cells: list[str] = []
    for kind in ("stock", "auxiliary"):
        for var in (v for v in model.variables if v.kind == kind):
            elements = itertools.product(*var.coords) if var.dims else [()]
            for element, cell in zip(elements, var.cells, strict=True):
                if cell not in var.undefined:
                    cells.append(f"{var.name}[{', '.join(element)}]" if element else var.name)
        if cells:
            break
    return cells[:n]


@dataclass
class Seam:
    """A model with the study both paths are timed on."""

    model: gvcdyn.Model
    space: gvcdyn.ParameterSpace
    evaluator: gvcdyn.Evaluator
    skipped: list[str]
    method: str | None = None  # None: the model's declared integration method
    time_step: float | None = None  # None: the model's TIME STEP

    @classmethod
    def of(
        cls, model: gvcdyn.Model, method: str | None = None, time_step: float | None = None
    ) -> Seam:
        bounds, skipped = varied_bounds(model)
        space = gvcdyn.ParameterSpace(model, list(bounds), bounds=bounds)
        outcomes = [gvcdyn.Outcome(cell) for cell in first_cells(model, 5)]
        evaluator = model.evaluator(space, outcomes, method=method, time_step=time_step)
        return cls(model, space, evaluator, skipped, method, time_step)

    def run(self, params: object) -> object:
        """``Model.run`` at the seam's integration setting."""
        return self.model.run(params, method=self.method, time_step=self.time_step)

    def design(self, n: int, seed: int = 0) -> np.ndarray:
        return self.space.scale(np.random.default_rng(seed).uniform(size=(n, self.space.k)))

    def time(self, batches: tuple[int, ...] = BATCHES, budget: float = 1.0) -> dict:
        """``{batch: {"evaluator": Timing, "Model.run": Timing}}``."""
        result = {}
        for n in batches:
            X = self.design(n)
            frame = pd.DataFrame(X, columns=list(self.space.names))
            result[n] = {
                "evaluator": timed(lambda X=X: self.evaluator(X), n, budget),
                "Model.run": timed(lambda f=frame: self.run(f), n, budget),
            }
        return result


def hand_kernel(model: gvcdyn.Model) -> Callable[[np.ndarray], object] | None:
    """The hand-written kernel of ``model`` if there is one (``hand_gvc_like.py``, for
    the benchmark model's exact text), else None."""
    import hand_gvc_like

    if model.path is None or model.path.read_bytes() != hand_gvc_like.MODEL.read_bytes():
        return None
    return hand_gvc_like.HandKernel(model)


def time_hand(
    seam: Seam, kernel: Callable[[np.ndarray], object], batches: tuple[int, ...], budget: float
) -> dict[int, Timing]:
    """The hand kernel on the parameter sets the evaluator gets (10 stocks, 41 times)."""
    result = {}
    for n in batches:
        matrix = seam.space.matrix(seam.design(n))
        result[n] = timed(lambda m=matrix: kernel(m), n, budget)
    return result


def accuracy(model: gvcdyn.Model, method: str | None = None, time_step: float | None = None) -> str:
    """The worst error on any stock of ``method`` (the model's declared one if None) at
    the defaults, against RK4 at a sixteenth of the step, each stock scaled by its
    largest absolute reference value: the accuracy the timed setting buys (the full
    study over many settings is ``integration_accuracy.py``)."""
    method = model.integration_method(method)
    grid = model.grid(model.defaults()[None, :], time_step=time_step)
    step, saveper = float(grid.time_step), float(grid.saveper)  # both runs save alike
    stocks = [v.name for v in model.ir.variables if v.kind == "stock"]
    if not stocks:
        return f"accuracy of {method}: the model has no stock"
    try:
        run = model.run(None, method=method, time_step=step, saveper=saveper, variables=stocks)
        reference = model.run(
            None, method="rk4", time_step=step / 16, saveper=saveper, variables=stocks
        )
    except gvcdyn.GvcdynError as exc:
        return f"accuracy of {method}: not measured ({exc})"
    worst, where = 0.0, ""
    for stock in stocks:
        ref = np.asarray(reference[stock].values, dtype=float)
        scale = max(float(np.nanmax(np.abs(ref))), 1e-12)
        error = float(np.nanmax(np.abs(np.asarray(run[stock].values, dtype=float) - ref))) / scale
        if error > worst:
            worst, where = error, stock
    return (
        f"accuracy of {method} (time step {step:g}) at the defaults: worst stock error "
        f"{worst:.3%} ({where or 'none'}) against RK4 at {step / 16:g}"
    )


def load_average() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def print_table(
    timings: dict, pysd_run: float | None, hand: dict[int, Timing] | None = None
) -> None:
    """One row per batch and path: us per run (wall median, CPU), PySD's time per run
    over this one's, and this one's over the hand kernel's at the same batch size."""
    print(
        f"{'batch':>7} {'path':<11} {'wall us/run':>12} {'CPU us/run':>11} "
        f"{'x PySD':>9} {'/hand wall':>11} {'/hand CPU':>10}"
    )
    for n, paths in timings.items():
        rows = dict(paths)
        if hand is not None:
            rows = {"hand kernel": hand[n], **rows}
        for path, t in rows.items():
            speedup = f"{pysd_run / t.wall:,.0f}x" if pysd_run else "-"
            wall = f"{t.wall / hand[n].wall:.2f}x" if hand else "-"
            cpu = f"{t.cpu / hand[n].cpu:.2f}x" if hand else "-"
            print(
                f"{n:>7,} {path:<11} {t.wall * 1e6:>12.2f} {t.cpu * 1e6:>11.2f} "
                f"{speedup:>9} {wall:>11} {cpu:>10}"
            )
