"""Why rk45 is less accurate than rk23 at the same tolerance on models with kinks.

Why: over the GVC model's Latin hypercube, rk45 (Dormand-Prince 5(4)) erred more than
rk23 (Bogacki-Shampine 3(2)) at the same tolerance, and its worst error was not monotone
in the tolerance. This prints the three measurements behind the explanation in
gvcdyn/backend/adaptive.py's docstring:

1. From the tableaus alone: for a rate that jumps (IF THEN ELSE on Time) or kinks (MAX(0,
   ...)) at a fraction theta of a step, the true local error of the solution a step
   keeps against the error estimate that accepts it, over theta. Dormand-Prince's
   estimate is many times too small there; Bogacki-Shampine's is not.
2. A one-stock model whose rate jumps or kinks at s (40 values of s): the worst final
   error per tolerance, for gvcdyn's rk23/rk45 and SciPy's RK23/RK45 (the same tableaus
   and, for one stock, the same error scale): SciPy's RK45 errs alike, so the behaviour
   is the method's, not this implementation's.
3. A smooth problem (an oscillator): rk45 is the more accurate, as its order says.

    python benchmarks/adaptive_kinks.py
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

import gvcdyn
from gvcdyn.backend.adaptive import BOGACKI_SHAMPINE, DORMAND_PRINCE, Tableau

TOLERANCES = (1e-3, 1e-4, 1e-5, 1e-6, 1e-7)
SCIPY = {"rk23": "RK23", "rk45": "RK45"}
CONTROLS = """
FINAL TIME = {final_time}
	~	Month
	~		|
INITIAL TIME = 0
	~	Month
	~		|
SAVEPER = {saveper}
	~	Month
	~		|
TIME STEP = {time_step}
	~	Month
	~		|
"""


def estimate_against_truth(tableau: Tableau, kind: str) -> tuple[float, float]:
    """Median and largest ratio of the true local error to the estimate, over theta."""
    c = np.array([float(x) for x in tableau.c])
    error = np.array([float(x) for x in tableau.error])
    b = np.array([float(x) for x in tableau.a[-1]] + [0.0])  # the kept solution's weights
    theta = np.linspace(0.0005, 0.9995, 2000)[:, None]
    if kind == "jump":  # f = 1 from theta on: stages at or after theta see it
        f, exact = (c[None, :] > theta).astype(float), 1 - theta[:, 0]
    else:  # f = max(0, t - theta): the rate is continuous, its slope is not
        f, exact = np.maximum(c[None, :] - theta, 0), (1 - theta[:, 0]) ** 2 / 2
    ratio = np.abs(f @ b - exact) / np.maximum(np.abs(f @ error), 1e-300)
    return float(np.median(ratio)), float(ratio.max())


def write_model(folder: Path, name: str, equations: str, **controls: float) -> gvcdyn.Model:
    path = folder / f"{name}.mdl"
    path.write_text(equations + CONTROLS.format(**controls))
    return gvcdyn.load(path)


def scipy_final(
    f: Callable[[float, float], float], s: float, name: str, tol: float, final: float, dt: float
) -> float:
    """x at ``final`` of x' = f(t, s) from 0 with SciPy's ``name`` (atol = rtol = tol)."""
    run = solve_ivp(
        lambda t, y: [f(t, s)], (0, final), [0.0], name, rtol=tol, atol=tol, first_step=dt
    )
    return float(run.y[0, -1])


def kink_scan(folder: Path) -> None:
    final, dt = 2.0, 1 / 64
    where = np.linspace(0.1, 0.9, 40) + 0.0013  # off the grid of TIME STEP
    cases = {
        "jump": ("IF THEN ELSE(Time >= s, 1, 0)", lambda t, s: float(t >= s), lambda s: final - s),
        "kink": ("MAX(0, Time - s)", lambda t, s: max(0.0, t - s), lambda s: (final - s) ** 2 / 2),
    }
    for kind, (rate, f, exact) in cases.items():
        text = f"s = 0.5\n\t~\tMonth\n\t~\t\t|\nx = INTEG({rate}, 0)\n\t~\tWidgets\n\t~\t\t|\n"
        model = write_model(folder, kind, text, final_time=final, time_step=dt, saveper=1)
        truth = np.array([exact(s) for s in where])
        print(f"\n{kind}: x' = {rate}, s at 40 times; worst |error| at {final:g} (median)")
        for method, name in SCIPY.items():
            cells, scipy_cells = [], []
            for tol in TOLERANCES:
                ds = model.run({"s": where}, method=f"{method}:{tol}")
                error = np.abs(ds["x"].values[:, -1] - truth)
                cells.append(f"{error.max():.1e} ({np.median(error):.0e})")
                error = np.abs([scipy_final(f, s, name, tol, final, dt) for s in where] - truth)
                scipy_cells.append(f"{error.max():.1e} ({np.median(error):.0e})")
            print(f"  gvcdyn {method}: " + "  ".join(cells))
            print(f"  scipy  {name}: " + "  ".join(scipy_cells))


def smooth(folder: Path) -> None:
    text = (
        "x = INTEG(v, 1)\n\t~\tMeters\n\t~\t\t|\n"
        "v = INTEG(-4 * x, 0)\n\t~\tMeters/Month\n\t~\t\t|\n"
    )
    model = write_model(folder, "oscillator", text, final_time=3.0, time_step=0.5, saveper=3)
    print("\nsmooth: x'' = -4 x; |error| at 3")
    for method in SCIPY:
        cells = []
        for tol in TOLERANCES:
            ds = model.run(method=f"{method}:{tol}")
            cells.append(f"{abs(ds['x'].values[0, -1] - np.cos(6.0)):.1e}")
        print(f"  gvcdyn {method}: " + "  ".join(cells))


def main() -> None:
    print(f"tolerances: {', '.join(f'{t:g}' for t in TOLERANCES)}")
    print("true local error / error estimate at a jump or kink inside a step (median, max):")
    for tableau in (BOGACKI_SHAMPINE, DORMAND_PRINCE):
        for kind in ("jump", "kink"):
            median, largest = estimate_against_truth(tableau, kind)
            print(f"  {tableau.title:22s} {kind}: {median:6.2f}  {largest:9.3g}")
    with tempfile.TemporaryDirectory() as folder:
        kink_scan(Path(folder))
        smooth(Path(folder))


if __name__ == "__main__":
    sys.exit(main())
