"""The adaptive kernels' step after a landing on a saved time: the shipped rule and others.

Why (issue 21): a step shortened to end exactly on a saved time is followed by
``h = max(h, hh * factor)`` (``gvcdyn/backend/adaptive.py``, ``_step_size``): the step
before the shortening is kept even when the short step's error asks for a smaller one,
and some of the steps tried right after a landing are then rejected. Another rule
changes every number the adaptive methods give (and every calibration made with them),
so this measures whether one would pay: for each rule, on each model and method, at the
model's defaults and over a Latin hypercube of its levers (``integration_accuracy``'s
``lever_design``; +-20% of every constant for gvc_like, which documents no ranges), the
steps tried and rejected per run, the landings (and those after which ``current`` keeps a
longer step than the landing's error asks for, or whose error asks for a shorter step)
and the rejections right after them, the worst relative stock error against RK4 at
``--reference-step`` (``integration_accuracy.worst_error``), and the kernel's CPU per
run at a batch of ``--batch`` runs (the design repeated), on one thread, the least of
``--repeats`` rounds that time every rule once in turn.

The rules (each a rewrite of the generated source of the shipped kernel, checked to
match it; the shipped kernel is ``current``, its text unchanged):

- ``current``: ``h = max(h, hh * factor)`` after a landing, ``hh * factor`` otherwise
  (Boost odeint's ``integrate_times`` for a controlled stepper: "continue with the
  original step size if dt was reduced due to observation").
- ``shrink``: after a landing, ``hh * factor`` if ``factor < 1`` (the landing step's
  error asks for a smaller step), else as ``current``.
- ``plain``: ``hh * factor`` after every step, landings too (SciPy's ``solve_ivp`` RK45
  and MATLAB's ode23/ode45 when they clip a step to the end of the interval; they reach
  other output times by interpolation, which gvcdyn does not do: saved auxiliaries are
  computed at the saved time and state).
- ``no-grow``: ``current``, and the step accepted right after a rejection does not grow
  (``factor <= 1``: SciPy's RK45, Hairer's DOPRI5, MATLAB's ``nofailed``).
- ``shrink+no-grow``: both.
- ``stretch``: ``current``, and a saved time less than 1.1 steps away is reached in one
  step, stretched up to 10%, instead of a step and a sliver (MATLAB's ode23/ode45 at
  tfinal: ``if 1.1*absh >= abs(tfinal - t)``).

Counts come from a copy of each kernel with counters, which it writes into columns of
its output added for them (the same arithmetic: its saved values and statuses are
checked equal to the uncounted kernel's; a run that fails is left out of the counts);
the timed kernels are the uncounted ones.

    nice -n 5 python benchmarks/adaptive_landing.py                    # all three models
    nice -n 5 python benchmarks/adaptive_landing.py --models gvc_upgrading --methods rk23
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numba
import numpy as np
from scipy.stats import qmc

import gvcdyn
from gvcdyn.backend import adaptive
from gvcdyn.backend.kernel import Kernel

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
import integration_accuracy as ia  # noqa: E402  (sibling scripts: one design, one error)
import seam_table  # noqa: E402

MODELS = {
    "gvc_upgrading": REPO / "models" / "gvc_upgrading.mdl",
    "gvc_upgrading_v3": REPO / "models" / "gvc_upgrading_v3.mdl",
    "gvc_like": REPO / "benchmarks" / "models" / "gvc_like.mdl",
}
# the shipped rule's line and the other lines the rewrites anchor on (adaptive._step_size
# and adaptive._simulate_function): a rewrite that finds one not exactly once fails
RULE = "h = max(h, hh * factor) if t_new == target else hh * factor"
ACCEPT = "if err <= 1.0 and rt.all_finite(check):"
REJECT = "if err <= 1e300 and rt.all_finite(check):  # inaccurate"
LAND = "if target - time <= h:"
GROW = f"factor = {adaptive.GROW_LIMIT!r} if err == 0.0 else ..."  # an accepted step's


def _line(source: str, text: str) -> re.Match[str]:
    """The one line of ``source`` that is ``text`` after its indentation (that starts
    with it, if ``text`` ends with ``...``)."""
    pattern = re.escape(text[:-3]) + ".*" if text.endswith("...") else re.escape(text)
    found = list(re.finditer(rf"^( *){pattern}$", source, flags=re.M))
    if len(found) != 1:
        raise RuntimeError(
            f"the generated kernel has {len(found)} lines '{text}', not 1: "
            "adaptive.py changed; update this benchmark's rewrites"
        )
    return found[0]


def _replace(source: str, text: str, new: str) -> str:
    m = _line(source, text)
    return source[: m.start()] + m.group(1) + new + source[m.end() :]


def _before(source: str, text: str, *lines: str) -> str:
    """``lines`` inserted before the line ``text``, at its indentation."""
    m = _line(source, text)
    head = "".join(f"{m.group(1)}{line}\n" for line in lines)
    return source[: m.start()] + head + source[m.start() :]


def _after(source: str, text: str, *lines: str) -> str:
    """``lines`` inserted after the line ``text``, at its indentation."""
    m = _line(source, text)
    tail = "".join(f"\n{m.group(1)}{line}" for line in lines)
    return source[: m.end()] + tail + source[m.end() :]


def _shrink(source: str) -> str:
    return _replace(
        source,
        RULE,
        "h = (hh * factor if factor < 1.0 else max(h, hh * factor)) if t_new == target "
        "else hh * factor",
    )


def _plain(source: str) -> str:
    return _replace(source, RULE, "h = hh * factor")


def _no_grow(source: str) -> str:
    source = _after(source, "taken = 0", "_lr = False  # the last step tried was rejected")
    source = _after(source, GROW, "if _lr:", "    factor = min(1.0, factor)", "_lr = False")
    return _before(source, REJECT, "_lr = True")


def _stretch(source: str) -> str:
    return _replace(source, LAND, "if target - time <= 1.1 * h:")


RULES: dict[str, Callable[[str], str]] = {
    "current": lambda source: source,
    "shrink": _shrink,
    "plain": _plain,
    "no-grow": _no_grow,
    "shrink+no-grow": lambda source: _no_grow(_shrink(source)),
    "stretch": _stretch,
}


COUNTS = ("accepted", "rejected", "landings", "after", "kept", "after kept", "shrunk")
COUNTS += ("after shrunk",)


def counted(source: str) -> str:
    """``source`` with counters, written at the end of a run into the last
    ``len(COUNTS)`` columns of its first saved row (columns the caller adds): accepted
    steps, rejected steps; landings (accepted steps whose length was changed to end on a
    saved time) and rejections of the step tried right after one; landings after which
    the step kept is longer than the landing step's error asks for (``hh * factor < h``:
    where ``current`` differs from ``plain``) and rejections right after those; landings
    whose error asks for a smaller step (``factor < 1``: where ``shrink`` differs from
    ``current``) and rejections right after those."""
    names = ("_na", "_nr", "_nl", "_nrl", "_nk", "_nrk", "_nf", "_nrf")
    flags = ("_landed", "_landed_k", "_landed_f")  # the last step was such a landing
    source = _after(source, "taken = 0", *(f"{n} = 0" for n in names))
    source = _after(source, "taken = 0", *(f"{f} = False" for f in flags))
    source = _before(source, ACCEPT, "_short = t_new == target and hh != h")
    source = _after(
        source,
        GROW,
        "_na += 1",
        "_landed = _short",
        "_landed_k = _short and hh * factor < h",
        "_landed_f = _short and factor < 1.0",
        "_nl += _landed",
        "_nk += _landed_k",
        "_nf += _landed_f",
    )
    source = _before(
        source,
        REJECT,
        "_nr += 1",
        "_nrl += _landed",
        "_nrk += _landed_k",
        "_nrf += _landed_f",
        *(f"{f} = False" for f in flags),
    )
    # before the run function's last line, its normal return (a failed run stops early)
    k = len(names)
    return _before(
        source,
        "return status",
        *(f"out[0, sel.shape[0] - {k - j}] = {n}" for j, n in enumerate(names)),
    )


def lever_design(model: gvcdyn.Model, runs: int, seed: int) -> dict[str, np.ndarray]:
    """``integration_accuracy.lever_design`` (every parameter with a documented range); a
    model that documents no range (gvc_like) over ``bench_seam``'s bounds (+-20% of each
    default) instead."""
    if any(p.minimum is not None and p.maximum is not None for p in model.parameters):
        return ia.lever_design(model, runs, seed)
    bounds, _ = seam_table.varied_bounds(model)
    unit = qmc.LatinHypercube(d=len(bounds), seed=seed).random(runs)
    low, high = (np.array([b[k] for b in bounds.values()]) for k in (0, 1))
    return {name: col for name, col in zip(bounds, qmc.scale(unit, low, high).T, strict=True)}


def worst_error(values: np.ndarray, reference: np.ndarray, groups: list[np.ndarray]) -> float:
    """``integration_accuracy.worst_error`` on raw arrays: per stock (its columns), the
    largest absolute deviation over runs and saved times over its largest absolute
    reference value; the worst stock's."""
    worst = 0.0
    for cols in groups:
        ref = reference[:, :, cols]
        scale = max(float(np.nanmax(np.abs(ref))), 1e-12)
        worst = max(worst, float(np.nanmax(np.abs(values[:, :, cols] - ref))) / scale)
    return worst


def measure(
    model: gvcdyn.Model,
    method: str,
    design: dict[str, np.ndarray],
    rules: list[str],
    args: argparse.Namespace,
) -> list[dict]:
    """One row per rule for ``model`` at ``method`` over ``design``."""
    stocks = ia.stock_names(model)
    chosen, columns = model.output_columns(stocks)
    sizes = [len([c for c in v.cells if c not in v.undefined]) for v in chosen]
    edges = np.cumsum([0, *sizes])
    groups = [np.arange(a, b) for a, b in itertools.pairwise(edges)]
    matrix = model.parameter_matrix(design, allow_out_of_range=True)
    grid = model.grid(matrix)  # the model's TIME STEP (the first step) and SAVEPER
    fine = model.grid(matrix, time_step=args.reference_step)
    reference, _ = Kernel(model.kernel_source("rk4"), "rk4").run(matrix, fine, columns)
    shipped = adaptive.generate(model.ir, method)
    kernels = {rule: Kernel(RULES[rule](shipped), method) for rule in rules}
    assert kernels["current"].source == shipped
    rows = []
    for rule, kernel in kernels.items():
        values, status = kernel.run(matrix, grid, columns)
        extra = np.concatenate([columns, np.repeat(columns[:1], len(COUNTS))])
        raw, codes = Kernel(counted(kernel.source), method).run(matrix, grid, extra)
        if not (
            np.array_equal(raw[:, :, : len(columns)], values, equal_nan=True)
            and np.array_equal(codes, status)
        ):
            raise RuntimeError(f"{rule}: the counted kernel's results differ")
        ok = status == 0
        n = max(int(ok.sum()), 1)
        total = dict(zip(COUNTS, raw[ok, 0, len(columns) :].sum(axis=0), strict=True))
        rows.append(
            {
                "rule": rule,
                "tried": (total["accepted"] + total["rejected"]) / n,
                "rejected": int(total["rejected"]),
                "landings": total["landings"] / n,
                "after": int(total["after"]),
                "kept": total["kept"] / n,
                "after_kept": int(total["after kept"]),
                "shrunk": total["shrunk"] / n,
                "after_shrunk": int(total["after shrunk"]),
                "error": worst_error(values, reference, groups),
                "failed": int((~ok).sum()),
                "sha": hashlib.sha256(values.tobytes()).hexdigest()[:8],
            }
        )
    # CPU at a batch of --batch runs: the design repeated, one thread, rules in turn
    big = np.ascontiguousarray(np.tile(matrix, (-(-args.batch // len(matrix)), 1))[: args.batch])
    best = dict.fromkeys(kernels, np.inf)
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        for _ in range(args.repeats):
            for rule, kernel in kernels.items():
                start = time.process_time()
                kernel.run(big, grid, columns)
                best[rule] = min(best[rule], time.process_time() - start)
    finally:
        numba.set_num_threads(before)
    for row in rows:
        row["cpu"] = best[row["rule"]] / args.batch * 1e6
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated subset")
    parser.add_argument("--methods", default="rk23,rk45", help="adaptive methods (tolerances)")
    parser.add_argument("--rules", default=",".join(RULES), help="comma-separated subset")
    parser.add_argument("--runs", type=int, default=200, help="Latin-hypercube settings")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reference-step", type=float, default=1 / 512)
    parser.add_argument("--batch", type=int, default=10_000, help="runs per timed call")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds of all rules")
    args = parser.parse_args()
    rules = args.rules.split(",")
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        parser.error(f"unknown rules {unknown}; choose from {', '.join(RULES)}")
    # first, whether given or not: the "vs cur" column divides by its row, rows[0]
    rules = ["current", *dict.fromkeys(r for r in rules if r != "current")]
    print(f"load average {os.getloadavg()[0]:.1f}; CPU: kernel, 1 thread, batch {args.batch:,}")
    print(
        f"reference RK4 at 1/{round(1 / args.reference_step)}; per run: tried (accepted +"
        " rejected), landings, kept (landings then a longer step than hh * factor), shrunk"
        " (landings with factor < 1); totals over the design's runs: rejected, after (each:"
        " rejections of the step right after such a landing)"
    )
    for name in args.models.split(","):
        model = gvcdyn.load(MODELS[name])
        designs = {
            "defaults": {},
            f"LHS x {args.runs}": lever_design(model, args.runs, args.seed),
        }
        for method in args.methods.split(","):
            for label, design in designs.items():
                print(f"\n{name} {method}, {label}")
                print(
                    f"  {'rule':15s} {'tried':>7s} {'rejected':>8s} {'landings':>8s} "
                    f"{'after':>6s} {'kept':>5s} {'after':>6s} {'shrunk':>6s} {'after':>6s} "
                    f"{'worst err':>9s} "
                    f"{'CPU us':>7s} {'vs cur':>7s}  sha256"
                )
                rows = measure(model, method, design, rules, args)
                base = rows[0]["cpu"]
                for r in rows:
                    note = f"  ({r['failed']} runs failed)" if r["failed"] else ""
                    print(
                        f"  {r['rule']:15s} {r['tried']:7.1f} {r['rejected']:8d} "
                        f"{r['landings']:8.1f} {r['after']:6d} {r['kept']:5.1f} "
                        f"{r['after_kept']:6d} {r['shrunk']:6.1f} "
                        f"{r['after_shrunk']:6d} {r['error']:9.2e} "
                        f"{r['cpu']:7.1f} {r['cpu'] / base - 1:+7.1%}  {r['sha']}{note}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
