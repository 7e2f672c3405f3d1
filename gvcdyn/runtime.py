"""Compiled helper functions called from generated kernels.

Each reproduces the semantics of PySD's runtime (``pysd/py_backend/functions.py``),
which reproduces Vensim's; the tolerances are theirs. All are scalar, branch-light
and inlined by LLVM into the kernel. Never called per step from Python.

The last section serves split kernels (``gvcdyn.backend.codegen``): intrinsics that emit the
machine operations of ``a if c else b``, ``np.minimum`` and friends without numba's
per-call-site typing, callers of parts and helpers through their addresses, and
``SplitBatch``, the batch function a split kernel's module exports.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from llvmlite import ir
from numba import carray, cfunc, njit, types
from numba.core import sigutils
from numba.extending import intrinsic
from numba.np import npyfuncs

SMALL_VENSIM = 1e-6  # PySD's tolerance for time comparisons and safe division

_jit = njit(cache=True, inline="always", error_model="numpy", nogil=True)
# Loops over tuples are not inlined at numba-IR level: a model can call them hundreds of
# times, and inlining each call site multiplies compile time (LLVM still inlines small ones).
_jit_call = njit(cache=True, error_model="numpy", nogil=True)


@_jit
def _bracket(x: float, xs: np.ndarray) -> tuple[int, int]:
    """The neighbours ``lo + 1 == hi`` with ``xs[lo] <= x <= xs[hi]`` (bisection), for
    ``xs[0] <= x <= xs[-1]`` in increasing ``xs``; shared by lookups and data variables."""
    lo = 0
    hi = xs.shape[0] - 1
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if xs[mid] <= x:
            lo = mid
        else:
            hi = mid
    return lo, hi


@_jit
def lookup(x: float, xs: np.ndarray, ys: np.ndarray) -> float:
    """Linear interpolation in a table, holding the end values outside its x range.

    A plain scan/bisection: numba's ``np.interp`` costs ~110 ns per scalar call.
    """
    n = xs.shape[0]
    if x != x:
        return x
    if x <= xs[0]:
        return ys[0]
    if x >= xs[n - 1]:
        return ys[n - 1]
    lo, hi = _bracket(x, xs)
    x0 = xs[lo]
    x1 = xs[hi]
    if x1 == x0:
        return ys[hi]
    return ys[lo] + (ys[hi] - ys[lo]) * (x - x0) / (x1 - x0)


# How a data variable's table is read between its points (rt.data_value's ``mode``)
DATA_MODE_CODES = {"interpolate": 0, "hold_backward": 1, "look_forward": 2, "raw": 3}


@_jit
def data_value(time: float, xs: np.ndarray, ys: np.ndarray, mode: int) -> float:
    """A data variable at ``time``, as PySD's ``Data``: the value at a data time, else by
    ``mode``: 1 hold backward (previous value), 2 look forward (next value), 3 raw (NaN);
    outside the data's times the end value is held (raw: NaN). Mode 0 (interpolate) is
    ``lookup``."""
    n = xs.shape[0]
    if time != time:
        return time
    if time < xs[0] or time > xs[n - 1]:
        if mode == 3:
            return np.nan
        return ys[0] if time < xs[0] else ys[n - 1]
    lo, hi = _bracket(time, xs)
    if xs[hi] == time:
        return ys[hi]
    if xs[lo] == time:
        return ys[lo]
    if mode == 1:
        return ys[lo]
    if mode == 2:
        return ys[hi]
    return np.nan


@_jit
def step(height: float, step_time: float, time: float, dt: float) -> float:
    """STEP: ``height`` once ``time`` is within half a time step of ``step_time``."""
    return height if time + dt / 2.0 > step_time else 0.0


@_jit
def ramp(slope: float, start: float, end: float, time: float) -> float:
    """RAMP with an end time: rises from ``start`` and holds after ``end``."""
    if time + SMALL_VENSIM > start:
        return slope * (min(end, time) - start)
    return 0.0


@_jit
def ramp_open(slope: float, start: float, time: float) -> float:
    """RAMP without an end time."""
    if time + SMALL_VENSIM > start:
        return slope * (time - start)
    return 0.0


@_jit
def pulse(start: float, width: float, time: float) -> float:
    """PULSE: 1 for ``start <= time < start + width`` (with PySD's tolerance at start)."""
    return 1.0 if start - SMALL_VENSIM <= time < start + width else 0.0


@_jit
def pulse_train(start: float, interval: float, width: float, end: float, time: float) -> float:
    """PULSE TRAIN, arguments in PySD's order (start, interval, width, end). An interval
    of 0 is one pulse, ``end`` ignored, as PySD's ``pulse`` (``x % 0`` would be NaN)."""
    if interval == 0.0:
        return pulse(start, width, time)
    if start <= time < end and (time - start + SMALL_VENSIM) % interval < width:
        return 1.0
    return 0.0


@_jit
def xidz(a: float, b: float, x: float) -> float:
    """XIDZ: ``a/b``, or ``x`` when ``|b|`` is below 1e-6."""
    return x if abs(b) < SMALL_VENSIM else a / b


@_jit
def zidz(a: float, b: float) -> float:
    """ZIDZ: ``a/b``, or 0 when ``|b|`` is below 1e-6."""
    return 0.0 if abs(b) < SMALL_VENSIM else a / b


@_jit
def quantum(a: float, q: float) -> float:
    """QUANTUM: ``a`` truncated to a multiple of ``q`` (``a`` itself when ``q < 1e-6``)."""
    return a if q < SMALL_VENSIM else q * np.trunc(a / q)


@_jit
def modulo(x: float, m: float) -> float:
    """MODULO as PySD: ``x - QUANTUM(x, m)``: sign of ``x``; 0 for any ``m < 1e-6``."""
    return x - quantum(x, m)


@_jit
def delay_order(order: float, delay_time: float, dt: float) -> float:
    """DELAY order as PySD fixes it at initialization: lowered while ``order*dt > delay``."""
    while order > 0.0 and order * dt > delay_time:
        order -= 1.0
    return order


@_jit_call
def gate(flag: bool, value: float) -> float:
    """``value`` if ``flag`` else 0.0, as a call (no branch blocks in the kernel's IR)."""
    return value if flag else 0.0


@_jit_call
def select_stage(order: float, stages: tuple) -> float:
    """The last active stage of a delay chain whose order was lowered at initialization."""
    return stages[max(int(order), 1) - 1]


@_jit_call
def vector_select(action: float, missing: float, selection: tuple, expression: tuple) -> float:
    """VECTOR SELECT as PySD: combine the elements whose selection is non-zero.

    Actions: 0-4 ``selection*expression`` summed, multiplied, min, max, mean; 5 product of
    ``expression**selection``; 6-10 plain expression sum, product, min, max, mean.
    ``missing`` if no selection is non-zero; NaN for an action outside 0-10.
    """
    code = int(action) if action == action else -1
    if code < 0 or code > 10 or code != action:
        return np.nan
    count = 0
    total = 0.0
    product = 1.0
    low = np.inf
    high = -np.inf
    for k in range(len(selection)):
        s = selection[k]
        if s == 0.0:
            continue
        e = expression[k]
        if code <= 4:
            value = s * e
        elif code == 5:
            value = e**s
        else:
            value = e
        count += 1
        total += value
        product *= value
        low = min(low, value)
        high = max(high, value)
    if count == 0:
        return missing
    if code in (0, 6):
        return total
    if code in (1, 5, 7):
        return product
    if code in (2, 8):
        return low
    if code in (3, 9):
        return high
    return total / count


@_jit_call
def _sort_order(direction: float, values: tuple) -> np.ndarray:
    """Offsets of ``values`` in sorted order: ascending for ``direction > 0``, else the
    ascending order reversed (PySD: ``np.flip(argsort)``). Ties keep their order of
    position (a stable sort): numpy's default sort, which PySD uses, is not stable on
    every CPU, and Vensim documents no rule for ties."""
    n = len(values)
    array = np.empty(n)
    for k in range(n):
        array[k] = values[k]
    order = np.argsort(array, kind="mergesort")
    if direction <= 0.0:
        order = order[::-1]
    return order


@_jit_call
def vector_sort_order(position: float, direction: float, values: tuple) -> float:
    """VECTOR SORT ORDER at ``position``: the 0-based offset of the element sorted there."""
    return float(_sort_order(direction, values)[int(position)])


@_jit_call
def vector_rank(position: float, direction: float, values: tuple) -> float:
    """VECTOR RANK at ``position``: the 1-based place of that element in the sorted order."""
    order = _sort_order(direction, values)
    for place in range(len(order)):
        if order[place] == int(position):
            return float(place + 1)
    return np.nan


@_jit_call
def vector_reorder(offset: float, values: tuple) -> float:
    """VECTOR REORDER: the element at 0-based ``offset`` (NaN outside the vector)."""
    if not (0.0 <= offset < len(values)):
        return np.nan
    return values[int(offset)]


@_jit_call
def allocate_by_priority(
    position: float, width: float, supply: float, requests: tuple, priorities: tuple
) -> float:
    """ALLOCATE BY PRIORITY: what target ``position`` gets, as PySD's
    ``_allocate_by_priority_1d`` (``pysd/py_backend/allocation.py``).

    The supply goes first to the highest priorities; a target starts receiving once the
    one above has got ``min(priority gap / width, 1)`` of its request, and active
    targets share in proportion to their requests. NaN where PySD raises an error (a
    negative request or supply, a width <= 0), or if the allocation does not settle.
    """
    n = len(requests)
    request = np.empty(n)
    priority = np.empty(n)
    for k in range(n):
        request[k] = requests[k]
        priority[k] = priorities[k]
    if not (width > 0.0) or not (supply >= 0.0) or np.any(request < 0.0):
        return np.nan
    target = int(position)
    if supply >= np.sum(request):
        return request[target]
    if supply == 0.0 or request[target] == 0.0:
        return 0.0
    keep = np.nonzero(request != 0.0)[0]
    sort = np.argsort(-priority[keep], kind="mergesort")
    order = keep[sort]
    m = order.shape[0]
    req = request[order]
    pri = priority[order]
    out = np.zeros(m)
    distances = np.full(m, np.nan)
    for i in range(m - 1):
        distances[i] = min((pri[i] - pri[i + 1]) / width, 1.0) * req[i]
    active = np.zeros(m, dtype=np.bool_)
    active[0] = True
    started = 0
    for _ in range(4 * m + 4):  # each pass starts or fills a target, or ends
        if not supply > 0.0:
            break
        total = 0.0
        for i in range(m):
            if active[i]:
                total += req[i]
        if total == 0.0:
            return np.nan
        slopes = np.zeros(m)
        dx_top = np.inf
        for i in range(m):
            if active[i]:
                slopes[i] = req[i] / total
                dx_top = min(dx_top, (req[i] - out[i]) / slopes[i])
        dx_start = (distances[started] - out[started]) / slopes[started]
        dx = min(dx_top, supply)
        if dx_start == dx_start:
            dx = min(dx, dx_start)
        out += slopes * dx
        if abs(dx - dx_start) <= 1e-16 + 1e-10 * abs(dx_start):  # PySD's np.isclose
            started += 1
            active[started] = True
        if dx == dx_top:
            for i in range(m):
                if out[i] == req[i]:
                    active[i] = False
        supply -= dx
    if supply > 0.0:
        return np.nan
    for i in range(m):
        if order[i] == target:
            return out[i]
    return 0.0


# half-widths (in pwidth) of the range where a normal / exponential profile still moves
# in floating point, as PySD's ``Priorities.normal`` / ``Priorities.exponential``
_NORMAL_REACH = 8.2923611
_EXPONENTIAL_REACH = 36.7368005696


@_jit_call
def _profile_demand(ptype: float, q0: float, x: float, ppriority: float, pwidth: float) -> float:
    """What a target with request ``q0`` takes at priority level ``x`` (non-increasing in
    ``x``): PySD's ``Priorities`` curves for ptype 1 rectangular, 2 triangular, 3 normal,
    4 exponential, with its formulas. Not ``inline="always"``: split kernels would
    otherwise carry a twin of it whether or not the model allocates."""
    if q0 == 0.0:
        return 0.0
    if ptype == 1.0:
        if x <= ppriority - pwidth * 0.5:
            return q0
        if x < ppriority + pwidth * 0.5:
            return q0 * (1 - (x - ppriority + pwidth * 0.5) / pwidth)
        return 0.0
    if ptype == 2.0:
        if x <= ppriority - pwidth * 0.5:
            return q0
        if x < ppriority:
            return q0 * (1 - 2 * (x - ppriority + pwidth * 0.5) ** 2 / pwidth**2)
        if x < ppriority + pwidth * 0.5:
            return 2 * q0 * (ppriority + pwidth * 0.5 - x) ** 2 / pwidth**2
        return 0.0
    if ptype == 3.0:
        return q0 * 0.5 * (2 - math.erfc((ppriority - x) / (math.sqrt(2.0) * pwidth)))
    if x < ppriority:
        return q0 * (1 - 0.5 * np.exp((x - ppriority) / pwidth))
    return q0 * 0.5 * np.exp((ppriority - x) / pwidth)


@_jit_call
def _profile_total(
    x: float, request: np.ndarray, ptype: np.ndarray, priority: np.ndarray, width: np.ndarray
) -> float:
    total = 0.0
    for i in range(request.shape[0]):
        total += _profile_demand(ptype[i], request[i], x, priority[i], width[i])
    return total


@_jit_call
def _priority_level(
    avail: float,
    lo: float,
    hi: float,
    request: np.ndarray,
    ptype: np.ndarray,
    priority: np.ndarray,
    width: np.ndarray,
) -> float:
    """The level in [lo, hi] where the takes add up to ``avail`` (they do not increase
    with the level): the Illinois variant of regula falsi, with a bisection step whenever
    two steps have not halved the bracket, until the bracket's ends are adjacent floats
    or the sum hits ``avail`` exactly; then the end whose sum is nearer ``avail``.
    """
    f_lo = _profile_total(lo, request, ptype, priority, width) - avail
    f_hi = _profile_total(hi, request, ptype, priority, width) - avail
    if not f_lo > 0.0:
        return lo
    if not f_hi < 0.0:
        return hi
    side = 0
    checked_span = hi - lo
    for step in range(6400):  # at least halves the bracket every three steps
        if step % 3 == 2 and hi - lo > 0.5 * checked_span:
            x = 0.5 * (lo + hi)
        else:
            x = hi - f_hi * (hi - lo) / (f_hi - f_lo)
        if step % 3 == 2:
            checked_span = hi - lo
        if not (lo < x < hi):
            x = 0.5 * (lo + hi)
            if not (lo < x < hi):
                break
        fx = _profile_total(x, request, ptype, priority, width) - avail
        if fx == 0.0:
            return x
        if fx > 0.0:
            lo, f_lo = x, fx
            if side == 1:
                f_hi *= 0.5
            side = 1
        else:
            hi, f_hi = x, fx
            if side == -1:
                f_lo *= 0.5
            side = -1
    return lo if abs(f_lo) < abs(f_hi) else hi


@_jit_call
def allocate_available(
    position: float,
    avail: float,
    requests: tuple,
    ptypes: tuple,
    ppriorities: tuple,
    pwidths: tuple,
) -> float:
    """ALLOCATE AVAILABLE: what target ``position`` gets, as PySD's
    ``_allocate_available_1d`` (``pysd/py_backend/allocation.py``).

    Every target takes ``q0 * profile(x)`` at a common priority level ``x``; the level is
    the one where the takes add up to ``avail``. PySD finds it with ``least_squares`` in
    the interval where the sum is strictly monotone; here a bracketing solver
    (``_priority_level``) on the same interval (the union of the targets' moving ranges)
    runs to adjacent floats, so no per-step Python. A sum that is flat at ``avail`` gives
    the same takes wherever ``x`` lies on the flat part. NaN where PySD raises: a
    negative (or NaN) request or supply, and, when the supply is short, a pwidth <= 0 or
    a ptype other than 1-4 for a target with a request (PySD implements neither 0, fixed
    quantity, nor 5, constant elasticity).
    """
    n = len(requests)
    request = np.empty(n)
    ptype = np.empty(n)
    priority = np.empty(n)
    width = np.empty(n)
    for k in range(n):
        request[k] = requests[k]
        ptype[k] = ptypes[k]
        priority[k] = ppriorities[k]
        width[k] = pwidths[k]
    if not (avail >= 0.0) or not np.all(request >= 0.0):
        return np.nan
    target = int(position)
    if avail >= np.sum(request):
        return request[target]
    if avail == 0.0:
        return 0.0
    if not np.all(width > 0.0):
        return np.nan
    lo = np.inf
    hi = -np.inf
    for i in range(n):
        if request[i] == 0.0:
            continue
        if ptype[i] == 1.0 or ptype[i] == 2.0:
            reach = 0.5 * width[i]
        elif ptype[i] == 3.0:
            reach = _NORMAL_REACH * width[i]
        elif ptype[i] == 4.0:
            reach = _EXPONENTIAL_REACH * width[i]
        else:
            return np.nan
        lo = min(lo, priority[i] - reach)
        hi = max(hi, priority[i] + reach)
    if not (lo < hi):  # infinite or NaN priorities
        return np.nan
    level = _priority_level(avail, lo, hi, request, ptype, priority, width)
    return _profile_demand(ptype[target], request[target], level, priority[target], width[target])


@_jit_call
def inverse_entry(row: int, column: int, cells: tuple) -> float:
    """Entry (row, column) of the inverse of a square matrix given row-major as a tuple."""
    n = int(np.sqrt(len(cells)) + 0.5)
    matrix = np.empty((n, n))
    for k in range(n * n):
        matrix[k // n, k % n] = cells[k]
    return np.linalg.inv(matrix)[row, column]


@_jit_call
def fill_unreached(out: np.ndarray, first_row: int) -> None:
    """NaN in every row of ``out`` from ``first_row`` on: the saved times a run stopped
    before (a non-finite stock, or a dynamic FINAL TIME), so the caller need not fill it."""
    for row in range(first_row, out.shape[0]):
        for j in range(out.shape[1]):
            out[row, j] = np.nan


@_jit
def all_finite(total: float) -> bool:
    """True if ``total`` is finite; callers sum ``x * 0.0`` terms, which cannot overflow."""
    return total - total == 0.0


# ------------------------------------------------------------ random numbers
# Vensim's RANDOM functions (PySD's argument order). Every call takes exactly one uniform
# draw from numba's generator, whatever its arguments, and transforms it by the inverse
# of the (truncated) distribution function: the stream stays aligned when parameters
# change (common random numbers), and no draw loops until it falls in the window. The
# generator is numba's, one Mersenne Twister per thread (numpy's legacy algorithm); the
# kernel seeds it at the start of every run (``seed_noise``), so a run's draws depend on
# its NOISE SEED only, not on the thread that runs it or on the other runs of its batch.
# Not inlined: an inlined helper gets a twin in every split kernel (codegen).

_TWO_32 = 4294967296.0
_SQRT_2 = math.sqrt(2.0)
_SQRT_2PI = math.sqrt(2.0 * math.pi)


@_jit_call
def seed_noise(seed: float) -> None:
    """Seed this thread's generator with NOISE SEED, truncated to an integer and taken
    modulo 2**32 (numpy's seeds are 32-bit); a seed that is not finite counts as 0."""
    value = 0.0
    if seed == seed and abs(seed) < 1e18:
        value = np.trunc(seed) % _TWO_32  # Python's modulo: never negative
    np.random.seed(np.uint32(value))


@_jit_call
def random_0_1() -> float:
    """RANDOM 0 1: uniform on [0, 1)."""
    return np.random.random()


@_jit_call
def random_uniform(low: float, high: float) -> float:
    """RANDOM UNIFORM(min, max, stream): uniform on [min, max), numpy's formula (as PySD)."""
    return low + (high - low) * np.random.random()


@_jit_call
def _normal_cdf(x: float) -> float:
    """The standard normal distribution function (accurate far into the lower tail)."""
    return 0.5 * math.erfc(-x / _SQRT_2)


@_jit_call
def _normal_quantile(p: float) -> float:
    """The inverse of ``_normal_cdf``: P. J. Acklam's rational approximation (relative
    error below 1.2e-9), refined by one Halley step to about machine precision."""
    if not p > 0.0:
        return -np.inf
    if not p < 1.0:
        return np.inf
    upper = p > 0.97575  # the upper tail by symmetry, from the lower tail at 1 - p
    if upper:
        p = 1.0 - p
    if p < 0.02425:
        q = math.sqrt(-2.0 * math.log(p))
        x = (
            ((((-7.784894002430293e-03 * q - 3.223964580411365e-01) * q - 2.400758277161838e00)
              * q - 2.549732539343734e00) * q + 4.374664141464968e00) * q + 2.938163982698783e00
        ) / ((((7.784695709041462e-03 * q + 3.224671290700398e-01) * q + 2.445134137142996e00)
              * q + 3.754408661907416e00) * q + 1.0)  # fmt: skip
    else:
        q = p - 0.5
        r = q * q
        x = (
            (((((-3.969683028665376e01 * r + 2.209460984245205e02) * r - 2.759285104469687e02)
               * r + 1.383577518672690e02) * r - 3.066479806614716e01) * r + 2.506628277459239e00)
            * q
        ) / (((((-5.447609879822406e01 * r + 1.615858368580409e02) * r - 1.556989798598866e02)
               * r + 6.680131188771972e01) * r - 1.328068155288572e01) * r + 1.0)  # fmt: skip
    error = _normal_cdf(x) - p
    step = error * _SQRT_2PI * math.exp(0.5 * x * x)
    refined = x - step / (1.0 + 0.5 * x * step)
    if not all_finite(refined):  # exp overflowed: keep the approximation
        refined = x
    return -refined if upper else refined


@_jit_call
def random_normal(low: float, high: float, mean: float, sd: float) -> float:
    """RANDOM NORMAL(min, max, mean, sd, stream): normal, truncated to [min, max] (as PySD's
    ``truncnorm``), by the inverse distribution function. NaN where there is no such
    distribution: min >= max, sd < 0, a NaN argument, or a window so far in a tail
    (about 37 sd) that its probability is 0 in double precision. sd = 0 gives the mean
    (NaN if the mean is outside the window)."""
    u = np.random.random()  # first: one draw per call, whatever the arguments
    if not (low < high) or not (sd >= 0.0) or mean != mean:
        return np.nan
    if sd == 0.0:
        return mean if low <= mean <= high else np.nan
    a = (low - mean) / sd
    b = (high - mean) / sd
    mirrored = a > 0.0  # a window above the mean: use its mirror image, where the
    if mirrored:  # distribution function keeps its precision
        a, b = -b, -a
    pa = _normal_cdf(a)
    pb = _normal_cdf(b)
    if not pb > pa:
        return np.nan
    z = min(max(_normal_quantile(pa + u * (pb - pa)), a), b)
    if mirrored:
        z = -z
    return min(max(mean + sd * z, low), high)


@_jit_call
def random_exponential(low: float, high: float, shift: float, stretch: float) -> float:
    """RANDOM EXPONENTIAL(min, max, shift, stretch, stream): ``shift + stretch * E``, E
    exponential with mean 1, truncated to [min, max] (as PySD's ``truncexpon``: below, the
    distribution starts at max(min, shift), which memorylessness allows), by the inverse
    distribution function. NaN for stretch <= 0, max <= max(min, shift) or a NaN argument."""
    u = np.random.random()  # first: one draw per call, whatever the arguments
    if low != low or shift != shift:
        return np.nan
    start = max(low, shift)
    if not (stretch > 0.0) or not (high > start):
        return np.nan
    width = (high - start) / stretch  # may be inf: no upper truncation
    e = -math.log1p(u * math.expm1(-width))
    return min(start + stretch * e, high)


# ---------------------------------------------------- split kernels (gvcdyn.backend.codegen)
# The parts of a split kernel are compiled one by one, and what numba spends per part is
# Python time per IR node: an inline branch (``a if c else b``) costs about 8 ms of compile
# time, an array access about 30 LLVM instructions plus reference counting, a call of
# ``np.minimum`` about 5 ms. These intrinsics emit the same machine operations directly.


@intrinsic
def values_pointer(typingctx, array):
    """The address of a 1-D C-contiguous array's data, as a typed pointer.

    The parts read and write the model's values through it (an access is two LLVM
    instructions); the caller keeps the array alive for as long as the pointer is used.
    """
    if not (isinstance(array, types.Array) and array.layout == "C" and array.ndim == 1):
        return None

    def codegen(context, builder, signature, args):
        return context.make_array(signature.args[0])(context, builder, args[0]).data

    return types.CPointer(array.dtype)(array), codegen


@intrinsic
def gather(typingctx, values, slots):
    """``values[s]`` for each ``s`` of ``slots`` (a tuple of literal ints), as a tuple."""
    if not (isinstance(values, types.CPointer) and isinstance(slots, types.BaseTuple)):
        return None
    if not all(isinstance(s, types.IntegerLiteral) for s in slots):
        return None  # numba tries again with the literal types
    indices = [s.literal_value for s in slots]
    result = types.UniTuple(values.dtype, len(indices))

    def codegen(context, builder, signature, args):
        out = context.get_constant_undef(result)
        for i, index in enumerate(indices):
            pointer = builder.gep(args[0], [ir.Constant(ir.IntType(64), index)])
            out = builder.insert_value(out, builder.load(pointer), i)
        return out

    return result(values, slots), codegen


@intrinsic
def scatter(typingctx, values, start, items):
    """``values[start + i] = items[i]`` for each of the tuple ``items``."""
    if not (isinstance(values, types.CPointer) and isinstance(items, types.BaseTuple)):
        return None
    if not isinstance(start, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        first = builder.gep(args[0], [args[1]])
        for i, given in enumerate(items):
            item = context.cast(builder, builder.extract_value(args[2], i), given, values.dtype)
            builder.store(item, builder.gep(first, [ir.Constant(ir.IntType(64), i)]))
        return context.get_dummy_value()

    return types.void(values, types.intp, items), codegen


@intrinsic
def _offset(typingctx, pointer, k):
    """``pointer + k`` (in elements)."""
    if not (isinstance(pointer, types.CPointer) and isinstance(k, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        return builder.gep(args[0], [args[1]])

    return pointer(pointer, types.intp), codegen


@intrinsic
def choose(typingctx, flag, a, b):
    """``a if flag else b`` as one select instruction: both are evaluated, so the code
    generator uses it only where evaluating the branch not taken cannot fail."""
    if not isinstance(flag, types.Boolean):
        return None

    def codegen(context, builder, signature, args):
        return builder.select(args[0], args[1], args[2])

    return types.float64(types.boolean, types.float64, types.float64), codegen


@intrinsic
def both(typingctx, a, b):
    """``a and b`` of two booleans, without a branch (both are evaluated)."""

    def codegen(context, builder, signature, args):
        return builder.and_(args[0], args[1])

    return types.boolean(types.boolean, types.boolean), codegen


@intrinsic
def either(typingctx, a, b):
    """``a or b`` of two booleans, without a branch (both are evaluated)."""

    def codegen(context, builder, signature, args):
        return builder.or_(args[0], args[1])

    return types.boolean(types.boolean, types.boolean), codegen


@intrinsic
def minimum(typingctx, a, b):
    """``np.minimum`` of two floats, by numba's own implementation of it (NaN passes on)."""

    def codegen(context, builder, signature, args):
        return npyfuncs.np_real_minimum_impl(context, builder, signature, args)

    return types.float64(types.float64, types.float64), codegen


@intrinsic
def maximum(typingctx, a, b):
    """``np.maximum`` of two floats, by numba's own implementation of it (NaN passes on)."""

    def codegen(context, builder, signature, args):
        return npyfuncs.np_real_maximum_impl(context, builder, signature, args)

    return types.float64(types.float64, types.float64), codegen


#: The lookup table at ``start`` in a split kernel's values: a pointer to its header
#: (point count, data mode), then its xs, then its ys. A typed pointer rather than the
#: start itself, so that ``table_lookup`` is compiled once, not once per literal start;
#: the pointer arithmetic is ``_offset``'s.
table = _offset
#: ``pointer + k``: where a kernel's stage function finds the run's constants and puts
#: its auxiliaries, slots of the run's buffer (gvcdyn.backend.stages).
offset = _offset


@_jit_call
def table_lookup(x: float, at) -> float:
    """``lookup`` of the table ``at`` (see ``table``): the same code, so the same results."""
    n = int(at[0])
    xs = carray(_offset(at, 2), n)
    ys = carray(_offset(at, 2 + n), n)
    return lookup(x, xs, ys)


@_jit_call
def table_data(time: float, at) -> float:
    """``data_value`` of the table ``at`` (see ``table``), in the table's data mode."""
    n = int(at[0])
    xs = carray(_offset(at, 2), n)
    ys = carray(_offset(at, 2 + n), n)
    return data_value(time, xs, ys, int(at[1]))


# A split kernel's driver calls most parts by address, as C functions, instead of linking
# them in: numba re-optimises and re-generates the machine code of every function linked
# into a caller, at each level (driver, batch; a parallel loop too, before), which cost as much as
# compiling the parts themselves. The parts call the scalar helpers by address too: a
# call of a compiled function costs about 6 ms of compile time at each call site (typing
# it, linking it in), one through an address about 2 ms. ``addresses`` (an int64 array)
# holds the helpers' addresses first, in C_HELPERS' order, then the parts'.
PART_SIGNATURE = (
    "void(CPointer(float64), CPointer(int64), float64, float64, float64, float64, float64)"
)
# helpers that never raise (a C function cannot pass an exception on): C signatures
C_HELPERS = {
    "table_lookup": "float64(float64, CPointer(float64))",
    "table_data": "float64(float64, CPointer(float64))",
    "step": "float64(float64, float64, float64, float64)",
    "ramp": "float64(float64, float64, float64, float64)",
    "ramp_open": "float64(float64, float64, float64)",
    "pulse": "float64(float64, float64, float64)",
    "pulse_train": "float64(float64, float64, float64, float64, float64)",
    "xidz": "float64(float64, float64, float64)",
    "zidz": "float64(float64, float64)",
    "quantum": "float64(float64, float64)",
    "modulo": "float64(float64, float64)",
    "delay_order": "float64(float64, float64, float64)",
}


@intrinsic
def call_part(typingctx, address, values, addresses, time, dt, t0, saveper, final_time):
    """Call the compiled part at ``address`` (a C function of ``PART_SIGNATURE``)."""
    double = types.CPointer(types.float64)
    signature = types.void(types.int64, double, types.CPointer(types.int64), *(types.float64,) * 5)

    def codegen(context, builder, signature, args):
        arguments = [context.get_value_type(t) for t in signature.args[1:]]
        function = ir.FunctionType(ir.VoidType(), arguments)
        builder.call(builder.inttoptr(args[0], function.as_pointer()), args[1:])
        return context.get_dummy_value()

    return signature, codegen


def _helper_caller(name: str) -> Any:
    """``caller(addresses, (args...))``: call helper ``name`` through its address, which
    ``addresses`` (a pointer to the kernel's address array) holds at its C_HELPERS index."""
    index = list(C_HELPERS).index(name)
    parameters, result = sigutils.normalize_signature(C_HELPERS[name])

    @intrinsic
    def caller(typingctx, addresses, arguments):
        if not isinstance(arguments, types.BaseTuple) or len(arguments) != len(parameters):
            return None

        def codegen(context, builder, signature, args):
            lowered = [context.get_value_type(t) for t in parameters]
            function = ir.FunctionType(context.get_value_type(result), lowered)
            slot = builder.gep(args[0], [ir.Constant(ir.IntType(64), index)])
            pointer = builder.inttoptr(builder.load(slot), function.as_pointer())
            values = [
                context.cast(builder, builder.extract_value(args[1], i), given, wanted)
                for i, (given, wanted) in enumerate(zip(arguments, parameters, strict=True))
            ]
            return builder.call(pointer, values)

        return result(addresses, arguments), codegen

    return caller


C_CALLERS = {name: _helper_caller(name) for name in C_HELPERS}


class SplitBatch:
    """``batch_<method>`` of a split kernel, as the generated module exports it.

    Compiles (or loads from numba's disk cache) the helpers and parts its driver calls by
    address, once, and passes their addresses as the batch function's last argument;
    everything else (``stats``, ``signatures``, ...) is the numba dispatcher's.
    """

    def __init__(
        self,
        dispatcher: Any,
        parts: tuple[Callable, ...],
        helpers: dict[str, Callable],
        compiled: dict[Callable, Any],
    ) -> None:
        self.dispatcher = dispatcher
        self.parts = parts
        self.helpers = helpers  # C_HELPERS name -> the kernel's Python wrapper of it
        self._compiled = compiled  # shared by both methods' batches; keeps the code alive
        self._addresses: np.ndarray | None = None

    def _address(self, function: Callable, signature: str) -> int:
        if function not in self._compiled:
            compile_c = cfunc(signature, cache=True, error_model="numpy")
            self._compiled[function] = compile_c(function)
        return self._compiled[function].address

    def addresses(self) -> np.ndarray:
        """The helpers' addresses (0: not used), then the parts' in the driver's order,
        compiling them on first use."""
        if self._addresses is None:
            helpers = [
                self._address(self.helpers[name], signature) if name in self.helpers else 0
                for name, signature in C_HELPERS.items()
            ]
            parts = [self._address(part, PART_SIGNATURE) for part in self.parts]
            self._addresses = np.array(helpers + parts, dtype=np.int64)
        return self._addresses

    def __call__(self, *args: Any) -> Any:
        return self.dispatcher(*args, self.addresses())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.dispatcher, name)


class SavedCellsBatch:
    """``batch_<method>`` of a one-function kernel, as the generated module exports it:
    runs ``states`` (the kernel that saves only the cells flagged in ``cells``, stocks,
    controls and constants, at the start of each step) when every selected cell is one,
    else ``every`` (issue 21: ``codegen.state_cells`` says why). numba compiles each on
    its first call, so a process compiles only the one it uses. Other attributes are
    ``every``'s; ``stats`` adds up the cache counters of both."""

    def __init__(self, every: Any, states: Any, cells: np.ndarray) -> None:
        self.every = every
        self.states = states
        self.cells = cells
        # the state cells' indices: a set test of a few columns takes 0.1 us, indexing
        # the flags 0.8 us (a call at batch 1 takes about 20 us)
        self._indices = frozenset(np.flatnonzero(cells).tolist())

    def __call__(
        self, C: np.ndarray, OUT: np.ndarray, STATUS: np.ndarray, save_rows: np.ndarray,
        sel: np.ndarray, *rest: Any,
    ) -> Any:  # fmt: skip
        only_states = len(sel) <= len(self._indices) and self._indices.issuperset(sel.tolist())
        batch = self.states if only_states else self.every
        return batch(C, OUT, STATUS, save_rows, sel, *rest)

    @property
    def stats(self) -> Any:
        """numba's compile statistics, the cache hits and misses of both kernels summed."""
        every, states = self.every.stats, self.states.stats
        return every._replace(
            cache_hits=every.cache_hits + states.cache_hits,
            cache_misses=every.cache_misses + states.cache_misses,
        )

    def __getattr__(self, name: str) -> Any:
        if name in ("every", "states", "cells", "_indices"):  # not set (while unpickling)
            raise AttributeError(name)
        return getattr(self.every, name)
