"""A hand-written numba kernel of ``benchmarks/models/gvc_like.mdl``: the speed anchor.

The equations of the benchmark model written out by hand, as one would without a code
generator: Euler in Vensim's order (every auxiliary from the stocks at ``time``, then
the stocks move by ``dt`` times their rates), float64, ``prange`` over runs, the 10
stocks saved at the 41 saved times. It is what the generated kernel is measured against
(``bench_core.py``, ``bench_seam.py``); :func:`check` shows it computes the same model.
``HandKernel(model, threaded=True)`` runs the same runs on gvcdyn's own scheduler
(``gvcdyn.backend.kernel.Threaded``: row slices of a serial loop on Python threads)
instead of ``prange``, so that a gap between the two kernels can be told apart from a
gap between the two ways of spreading runs over threads (``bench_seam.py`` prints both).

    python benchmarks/hand_gvc_like.py      # agreement with gvcdyn, and its speed
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numba
import numpy as np
from numba import njit, prange

if TYPE_CHECKING:
    import gvcdyn

MODEL = Path(__file__).resolve().parent / "models" / "gvc_like.mdl"

# the model's constants, in the order the kernel reads them
CONSTANTS = (
    "process learning rate",
    "product learning rate",
    "innovation learning rate",
    "obsolescence rate",
    "search effectiveness",
    "search adjustment time",
    "policy start time",
    "policy duration",
    "policy strength",
    "institution building rate",
    "institutional erosion rate",
    "buyer control adjustment time",
    "capacity growth rate",
    "capacity retirement rate",
    "base unit cost",
    "price adjustment time",
    "price elasticity",
    "reference demand",
    "entrant learning rate",
    "market share adjustment time",
    "competitiveness weight",
)
STOCKS = (
    "Process Capability",
    "Product Capability",
    "Innovation Capability",
    "Search Effort",
    "Institutional Capacity",
    "Buyer Control",
    "Global Capacity",
    "World Price",
    "Entrant Capability",
    "Market Share",
)
T0, FINAL_TIME, DT, SAVEPER = 0.0, 40.0, 0.0625, 1.0
N_STEPS = 640
SAVE_EVERY = 16
N_SAVED = N_STEPS // SAVE_EVERY + 1
LOOKUP_X = np.array([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
LOOKUP_Y = np.array([1.0, 0.95, 0.85, 0.65, 0.4, 0.2])
_FLAGS = {"cache": True, "error_model": "numpy", "nogil": True}


@njit(inline="always", **_FLAGS)
def _lookup(x: float) -> float:
    if x <= LOOKUP_X[0]:
        return LOOKUP_Y[0]
    if x >= LOOKUP_X[-1]:
        return LOOKUP_Y[-1]
    i = 1
    while LOOKUP_X[i] < x:
        i += 1
    x0, x1 = LOOKUP_X[i - 1], LOOKUP_X[i]
    y0, y1 = LOOKUP_Y[i - 1], LOOKUP_Y[i]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


@njit(**_FLAGS)
def _one(c: np.ndarray, out: np.ndarray) -> None:
    plr, prlr, ilr, obs, seff = c[0], c[1], c[2], c[3], c[4]
    sadj, pstart, pdur, pstr, ibr = c[5], c[6], c[7], c[8], c[9]
    ier, bcadj, cgr, crr, cost = c[10], c[11], c[12], c[13], c[14]
    padj, elast, refd, elr, msadj, cw = c[15], c[16], c[17], c[18], c[19], c[20]
    pc, prc, inc, se, ic, bc, gc, wp, ec, ms = 0.2, 0.1, 0.05, 0.1, 0.3, 0.8, 100.0, 1.0, 0.1, 0.05
    t = T0
    for step in range(N_STEPS + 1):
        if step % SAVE_EVERY == 0:
            row = out[step // SAVE_EVERY]
            row[0], row[1], row[2], row[3], row[4] = pc, prc, inc, se, ic
            row[5], row[6], row[7], row[8], row[9] = bc, gc, wp, ec, ms
        if step == N_STEPS:
            break
        average = (pc + prc + inc) / 3
        gap = max(0.0, max(0.5, ec) - average)
        pulse = 1.0 if pstart - 1e-6 <= t < pstart + pdur else 0.0
        support = pstr * pulse
        desired_search = min(1.0, max(0.0, gap * 1.5 + support))
        bargaining = (prc + 2 * inc) / 3 * (1 + ms)
        if bargaining > 0.4:
            indicated_control = max(0.1, 1 - bargaining)
        else:
            indicated_control = min(1.0, 0.9 - 0.2 * bargaining)
        control_effect = _lookup(bc)
        demand = refd * (wp / 1) ** (-elast) * math.exp(0.02 * t)
        supply_ratio = demand / gc
        learning_by_doing = min(1.0, ms * demand / 10)
        change = 1 + (0.5 if t + DT / 2 > 15 else 0.0)
        search_effect = 1 - math.exp(-seff * se)
        institutions = ic / (ic + 0.3)
        profitability = min(2.0, max(0.0, wp / cost))
        indicated_price = wp * min(2.0, max(0.5, supply_ratio**0.5))
        cost_advantage = min(1.5, max(0.5, wp / (cost * (1 - 0.3 * pc))))
        attractiveness = math.exp(cw * (average - 0.5)) * cost_advantage
        competitors = 10 * math.exp(cw * (ec - 0.5))
        d_pc = plr * control_effect * learning_by_doing * (1 - pc) - pc * obs * change
        d_prc = prlr * pc * search_effect * control_effect * (1 - prc) - prc * obs * change
        d_inc = ilr * prc * institutions * search_effect * (1 - inc) - inc * obs
        d_se = (desired_search - se) / sadj
        d_ic = ibr * (support + inc) * (1 - ic) - ier * ic
        d_bc = (indicated_control - bc) / bcadj
        d_gc = cgr * gc * profitability - crr * gc
        d_wp = (indicated_price - wp) / padj
        d_ec = elr * (1 - ec) * bc
        d_ms = (attractiveness / (attractiveness + competitors) - ms) / msadj
        pc, prc, inc = pc + DT * d_pc, prc + DT * d_prc, inc + DT * d_inc
        se, ic, bc = se + DT * d_se, ic + DT * d_ic, bc + DT * d_bc
        gc, wp, ec, ms = gc + DT * d_gc, wp + DT * d_wp, ec + DT * d_ec, ms + DT * d_ms
        t = t + DT


@njit(parallel=True, **_FLAGS)
def _batch(C: np.ndarray, OUT: np.ndarray) -> None:
    for r in prange(C.shape[0]):
        _one(C[r], OUT[r])


@njit(**_FLAGS)
def _batch_serial(C: np.ndarray, OUT: np.ndarray, STATUS: np.ndarray) -> None:
    """The runs one after the other, in the call shape ``Threaded`` slices (``STATUS``
    unused: the hand kernel has no status)."""
    for r in range(C.shape[0]):
        _one(C[r], OUT[r])


class HandKernel:
    """``kernel(matrix)``: a gvcdyn parameter matrix of the model in, ``(run, time, stock)``
    out. Runs on at most as many threads as runs, as gvcdyn's kernels do; ``threaded``:
    on gvcdyn's ``Threaded`` instead of numba's ``prange`` (module docstring)."""

    def __init__(self, model: gvcdyn.Model, threaded: bool = False) -> None:
        self.columns = np.array([model.parameter(n).column for n in CONSTANTS], dtype=np.int64)
        self.threaded = threaded

    def __call__(self, matrix: np.ndarray) -> np.ndarray:
        C = np.ascontiguousarray(matrix[:, self.columns])
        out = np.empty((C.shape[0], N_SAVED, len(STOCKS)))
        if self.threaded:
            from gvcdyn.backend.kernel import Threaded  # lazy: as gvcdyn in main()

            Threaded(_batch_serial)(C, out, np.zeros(C.shape[0], dtype=np.int64))
            return out
        threads = numba.get_num_threads()
        numba.set_num_threads(max(1, min(threads, C.shape[0])))
        try:
            _batch(C, out)
        finally:
            numba.set_num_threads(threads)
        return out


def check(model: gvcdyn.Model, n: int = 200) -> float:
    """Largest relative difference to gvcdyn over ``n`` runs with constants varied +-20%."""
    rng = np.random.default_rng(5)
    matrix = np.tile(model.defaults(), (n, 1))
    matrix *= rng.uniform(0.8, 1.2, matrix.shape)
    columns = np.array([model.cell_index(model.variable(s).cells[0]) for s in STOCKS])
    ours = model.simulate(matrix, columns=columns).values
    hand = HandKernel(model)(matrix)
    return float(np.max(np.abs(hand - ours) / np.maximum(np.abs(ours), 1e-300)))


def main() -> None:
    import gvcdyn

    model = gvcdyn.load(MODEL)
    print(f"largest relative difference to gvcdyn: {check(model):.1e}")
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    matrix = np.tile(model.defaults(), (n, 1))
    kernel = HandKernel(model)
    kernel(matrix)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        kernel(matrix)
        best = min(best, time.perf_counter() - start)
    print(f"hand kernel: {best / n * 1e6:.2f} us per run at batch {n:,} ({n / best:,.0f} runs/s)")


if __name__ == "__main__":
    main()
