"""Why FDI Learning 0 -> 1 lowers Process Upgrading 13 years after an FDI-led start in some
Latin-hypercube settings (issue 20, fourteenth step; the claim "FDI Learning raises Process
Upgrading" [PF; S s.8 concern 3] of ``v3_fit_measures.SEED_SIGNS``, read at each run's
Shock Year + 13 by ``v3_trigger_relative_sweep``).

Why: the trigger-relative sweep found the claim against the seeds in 17 of 200 settings at
the reference estimate and 35 of 200 posterior-paired, all with strong FDI-led starts and
a change of about 5e-4 of the initial gap. A count cannot say whether that is a mechanism
of the model or noise; this script takes the sweep's own settings (imported, unchanged)
and splits the difference high minus low FDI Learning exactly through the equations.

1. **The settings against**, reproduced with the sweep's functions (its pairs, its read
   at t* = Shock Year + H), and checked against tighter integration (rk23 at 1e-9).
2. **Their profile**: the FDI- and state-led starts, and the share of FDI Learning's
   gain in production learning sources left once the start has arrived,
   ``(1 - FDI Led Start)(1 - State Led Start)``: ``fdi spillover = 1 - (1 - FDI
   Learning)(1 - fdi arrival)`` and the state programme are sources of the same product
   of what each leaves unlearnt, so after the trigger FDI Learning adds little to them.
3. **The path of the lead**: high minus low Process Upgrading at the trigger and 2, 5, 8
   and 13 years after it, and Product Upgrading beside it.
4. **The exact split of the difference at t***. With ``L = buyer teaching x Buyer Process
   Learning Rate + local learning intensity`` and ``e`` the erosion rate, ``dP/dt = L (1 -
   P) - e P`` in both runs, so ``dD/dt = -(L_high + e) D + (L_high - L_low)(1 - P_low)``
   and ``D(t*) = int_0^t* exp(-int_s^t* (L_high + e)) (L_high - L_low)(s) (1 - P_low(s))
   ds`` (as ``v3_buyer_control_process``). ``L_high - L_low`` is buyer teaching's change
   plus ``Local Learning Rate x (src_mid x dSearch + Search_mid x dsrc)`` (the product's
   midpoint identity): teaching, sources and search parts, each before and after the
   trigger.
5. **The search part's causes**. ``Search Effort`` S and ``Functional Search`` F obey
   ``dS/dt = r p (1 - S) - S/R + k F i/R`` and ``dF/dt = r (1 - S) f (1 - b) - F (1 - k
   i)/R`` (``r`` Search Response Rate, ``p`` search pressure, ``f`` function pressure,
   ``b`` buyer blocking, ``R`` Routine Time, ``k`` Search Persistence, ``i`` innovation
   learning sources), so the runs' differences in S and F solve a linear system forced by
   ``dp``, ``d[f (1 - b)]`` and ``di``. The pressures split exactly: ``p = 1 - (1 -
   V^x)(1 - q)``, the start push ``q = c x Production Gap`` (``c`` the same in both runs:
   it depends on the trigger and the levers only); ``f = 1 - (1 - s^x)(1 - z)``, the state
   push ``z = state programme x Production Gap``; ``Production Gap = 1 - (Process +
   Product)/2``. So the search a capability lead costs by easing either push is that
   lead's part; each cause's response is carried to t* as in 4. The causes rebuild the
   runs' difference in Search Effort within the runs' own integration error (rk23 at
   1e-5 errs most just after the trigger's kink; under RK4 at 1/256 year the rebuild is
   within 2e-6).
6. **The claim read as a speed**: the mean of Process Upgrading over [0, t*], as the
   sweep reads the SPEED claims, among them FDI Led Start's on Process Upgrading, which
   cites the same sentence of [S s.8 concern 3] ("the rapid dispersal of production
   capabilities").

    python studies/v3_fdi_learning_process.py results/fit_v3_later60.nc \\
        --posterior results/fit_v3_later60_post.nc [--draws 200]
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "studies"))
sys.path.insert(0, str(REPO / "calibration"))
import v3_fit_measures as fm  # noqa: E402  (sibling scripts, not packages)
import v3_trigger_relative_sweep as trs  # noqa: E402

LEVER, LOW, HIGH, OUT = "FDI Learning", 0.0, 1.0, "Process Upgrading"
#: Saving step of the split's runs (the integrals' quadrature).
SAVE = 1 / 32
#: Years after the trigger at which the lead's path is printed (13 = H is added).
AFTER = (0.0, 2.0, 5.0, 8.0)
PATHS = [
    "Process Capability", "Product Capability", "buyer teaching", "local learning intensity",
    "Search Effort", "production learning sources", "search pressure", "start push",
    "Production Gap", "Market Vulnerability", "Functional Search",
    "innovation learning sources", "Process Upgrading", "Product Upgrading",
    "function pressure", "shock pressure", "state push", "state programme", "buyer blocking",
]  # fmt: skip
CONSTANTS = [
    "Buyer Process Learning Rate", "Capability Erosion Rate", "Local Learning Rate",
    "Initial Process Capability", "Search Response Rate", "Routine Time",
    "Search Persistence", "Search Response Exponent", "Shock Year",
]  # fmt: skip
SEARCH_PARTS = (
    "start push: process lead", "start push: product lead", "state push: process lead",
    "state push: product lead", "market vulnerability", "shock pressure", "buyer blocking",
    "innovation sources",
)  # fmt: skip
LEARNING = ("Buyer Process Learning Rate", "Capability Erosion Rate", "Local Learning Rate")


def cumulative(y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The running integral of ``y`` over ``t`` (trapezoid rule), 0 at ``t[0]``."""
    pieces = (y[1:] + y[:-1]) / 2 * np.diff(t)
    return np.concatenate([[0.0], np.cumsum(pieces)])


def integral(y: np.ndarray, t: np.ndarray) -> float:
    """The integral of ``y`` over ``t`` (trapezoid rule)."""
    return float(cumulative(y, t)[-1])


def remaining(t: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """``exp(-int_s^T rate)`` for each ``s`` of ``t`` (``T = t[-1]``): what is left at the
    end of a difference put in at ``s`` when it decays at ``rate``."""
    a = cumulative(rate, t)
    return np.exp(a - a[-1])


def midpoint_split(
    a_lo: np.ndarray, a_hi: np.ndarray, b_lo: np.ndarray, b_hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``a_hi b_hi - a_lo b_lo`` as ``(b_mid (a_hi - a_lo), a_mid (b_hi - b_lo))``: an exact
    split of a product's change into its factors' parts (mid = the two runs' mean)."""
    a_mid, b_mid = (a_lo + a_hi) / 2, (b_lo + b_hi) / 2
    return b_mid * (a_hi - a_lo), a_mid * (b_hi - b_lo)


def up_to(t: np.ndarray, rows: dict[str, np.ndarray], t_end: float) -> tuple[np.ndarray, dict]:
    """The save grid up to ``t_end`` (appended, every path linearly interpolated there) and
    the paths on it: each run is split over its own window [0, t*]."""
    inside = t < t_end
    grid = np.append(t[inside], t_end)
    return grid, {k: np.append(v[inside], np.interp(t_end, t, v)) for k, v in rows.items()}


def split_run(
    t: np.ndarray, lo: dict[str, np.ndarray], hi: dict[str, np.ndarray], const: dict, t_end: float
) -> dict[str, float]:
    """The parts of high minus low Process Upgrading at ``t_end`` of one pair of runs
    (paths ``lo``, ``hi`` on the save grid ``t``; ``const`` the model's constants, the
    same in both): items 4 and 5 of the module's docstring, and the exact total. The
    parts are integrals on the save grid, so they add up to the total within the
    quadrature's error (printed)."""
    grid, lo = up_to(t, lo, t_end)
    hi = up_to(t, hi, t_end)[1]
    gap0 = 1 - const["Initial Process Capability"]
    bplr, e, llr = (const[k] for k in LEARNING)
    learning_hi = hi["buyer teaching"] * bplr + hi["local learning intensity"]
    weight = remaining(grid, learning_hi + e) * (1 - lo["Process Capability"]) / gap0
    before = grid < const["Shock Year"]
    src = "production learning sources"
    d_search, d_sources = midpoint_split(lo["Search Effort"], hi["Search Effort"], lo[src], hi[src])
    flows = {
        "teaching": bplr * (hi["buyer teaching"] - lo["buyer teaching"]),
        "sources": llr * d_sources,
        "search": llr * d_search,
    }
    parts = {}
    for name, flow in flows.items():
        y = weight * flow
        parts[f"{name}, before the trigger"] = integral(np.where(before, y, 0.0), grid)
        parts[f"{name}, after"] = integral(np.where(before, 0.0, y), grid)
    src_mid = (lo[src] + hi[src]) / 2
    causes = search_causes(grid, lo, hi, const)
    for name, d_se in causes.items():
        parts[f"search: {name}"] = integral(weight * llr * src_mid * d_se, grid)
    rebuilt = np.sum(list(causes.values()), axis=0)
    parts["error of dSearch"] = float(
        np.abs(rebuilt - (hi["Search Effort"] - lo["Search Effort"])).max()
    )
    parts["total"] = float(hi["Process Capability"][-1] - lo["Process Capability"][-1]) / gap0
    return parts


def linear_response(t: np.ndarray, matrix: np.ndarray, forcing: np.ndarray) -> np.ndarray:
    """``x`` on ``t`` with ``dx/dt = matrix(t) x + forcing(t)`` and ``x(t[0]) = 0``, for
    each of ``m`` forcings at once: ``matrix`` (time, k, k), ``forcing`` (time, k, m),
    the result (time, k, m). The trapezoid rule, implicit (Crank-Nicolson): linear in the
    forcing, so the responses to the parts of a forcing add up exactly to the response to
    their sum, which a split into causes needs; second order on the save grid."""
    k = matrix.shape[1]
    x = np.zeros((len(t), k, forcing.shape[2]))
    eye = np.eye(k)
    for j, h in enumerate(np.diff(t)):
        rhs = (eye + h / 2 * matrix[j]) @ x[j] + h / 2 * (forcing[j] + forcing[j + 1])
        x[j + 1] = np.linalg.solve(eye - h / 2 * matrix[j + 1], rhs)
    return x


def search_causes(t: np.ndarray, lo: dict, hi: dict, const: dict) -> dict[str, np.ndarray]:
    """High minus low Search Effort on ``t`` as the sum of its causes' responses (item 5).

    Search Effort ``S`` and Functional Search ``F`` obey ``dS/dt = r p (1 - S) - S/R + k F
    i/R`` and ``dF/dt = r (1 - S) f (1 - b) - F (1 - k i)/R`` (``f`` function pressure,
    ``b`` buyer blocking), so their differences solve a linear system forced by ``dp``,
    ``d[f (1 - b)]`` and ``di``. The pressures split exactly: ``p = 1 - (1 - V^x)(1 - q)``
    with the start push ``q = c x Production Gap``; ``f = 1 - (1 - s^x)(1 - z)`` with the
    shock pressure ``s`` and the state push ``z = state programme x Production Gap``; and
    ``Production Gap = 1 - (Process + Product)/2``. So a lead in either capability eases
    both pushes, and the search it costs shows as that lead's part."""
    r, routine = const["Search Response Rate"], const["Routine Time"]
    keep, x = const["Search Persistence"], const["Search Response Exponent"]
    mid = {v: (lo[v] + hi[v]) / 2 for v in lo}
    d = {v: hi[v] - lo[v] for v in lo}
    per_gap = np.divide(
        lo["start push"], lo["Production Gap"],
        out=np.zeros_like(lo["start push"]), where=lo["Production Gap"] > 0,
    )  # fmt: skip
    v_lo, v_hi = lo["Market Vulnerability"] ** x, hi["Market Vulnerability"] ** x
    s_lo, s_hi = lo["shock pressure"] ** x, hi["shock pressure"] ** x
    gain_s = r * (1 - lo["Search Effort"])  # on dp in dS/dt
    gain_f = gain_s * (1 - mid["buyer blocking"])  # on df in dF/dt
    # dp = (1 - q)_mid dV^x + (1 - V^x)_mid dq; df = (1 - z)_mid ds^x + (1 - s^x)_mid dz
    to_p = gain_s * (1 - (v_lo + v_hi) / 2) * per_gap
    to_f = gain_f * (1 - (s_lo + s_hi) / 2) * lo["state programme"]
    zero = np.zeros_like(t)
    forcing = {}
    for lead, cap in (
        ("process lead", "Process Capability"),
        ("product lead", "Product Capability"),
    ):
        eased = -d[cap] / 2  # d(Production Gap) from this capability's lead
        forcing[f"start push: {lead}"] = (to_p * eased, zero)
        forcing[f"state push: {lead}"] = (zero, to_f * eased)
    forcing["market vulnerability"] = (gain_s * (1 - mid["start push"]) * (v_hi - v_lo), zero)
    forcing["shock pressure"] = (zero, gain_f * (1 - mid["state push"]) * (s_hi - s_lo))
    forcing["buyer blocking"] = (zero, -gain_s * mid["function pressure"] * d["buyer blocking"])
    di = d["innovation learning sources"]
    forcing["innovation sources"] = (keep / routine * lo["Functional Search"] * di,
                                     keep / routine * lo["Functional Search"] * di)  # fmt: skip
    i_hi = hi["innovation learning sources"]
    matrix = np.empty((len(t), 2, 2))
    matrix[:, 0, 0] = -(r * hi["search pressure"] + 1 / routine)
    matrix[:, 0, 1] = keep * i_hi / routine
    matrix[:, 1, 0] = -r * hi["function pressure"] * (1 - hi["buyer blocking"])
    matrix[:, 1, 1] = -(1 - keep * i_hi) / routine
    stacked = np.stack([np.column_stack(forcing[name]) for name in SEARCH_PARTS], axis=2)
    response = linear_response(t, matrix, stacked)[:, 0, :]  # Search Effort's row
    return {name: response[:, j] for j, name in enumerate(SEARCH_PARTS)}


def pair_table(base: pd.DataFrame) -> pd.DataFrame:
    """``base`` at the lever's low (rows 0..n-1), then at its high (rows n..2n-1)."""
    table = pd.concat([base.assign(**{LEVER: LOW}), base.assign(**{LEVER: HIGH})])
    return table.reset_index(drop=True)


def sweep_difference(
    model: object, base: pd.DataFrame, setting, horizon: float
) -> tuple[np.ndarray, np.ndarray]:
    """High minus low FDI Learning of the claim's value at each setting's t*, computed by
    the trigger-relative sweep's own functions (its pairs, its runs, its reading), so the
    settings against are the sweep's; beside it, the same runs read as the SPEED claims
    are (the mean over [0, t*], ``trs.window_mean``): FDI Led Start's claim on Process
    Upgrading, which cites the same sentence [S s.8 concern 3], is read so."""
    _, relative = trs.run_pairs(model, base, LEVER, LOW, HIGH, setting, [OUT], horizon)
    values = trs.relative_values(relative, LEVER, OUT, horizon)
    y = relative[OUT].transpose("run", "time")
    means = trs.window_mean(y.values, y["time"].values, relative["Shock Year"].values + horizon)
    n = len(values) // 2
    return values[n:] - values[:n], means[n:] - means[:n]


def tight_difference(model: object, base: pd.DataFrame, horizon: float) -> np.ndarray:
    """The same difference at rk23 with tolerance 1e-9 (the fit's rk23 runs at 1e-5,
    whose median error on this model is about 6e-5, the size of the changes against):
    whether the sign is the model's or the integrator's."""
    final = model.parameter("Shock Year").maximum + horizon
    ds = model.run(pair_table(base), method="rk23:1e-9", saveper=trs.SAVE, final_time=final,
                   variables=[OUT])  # fmt: skip
    values = trs.relative_values(ds, LEVER, OUT, horizon)
    n = len(values) // 2
    return values[n:] - values[:n]


def profile(base: pd.DataFrame, diff: np.ndarray) -> None:
    """Item 2: the starts in the settings against and elsewhere, and FDI Learning's share
    of its gain in sources left after the start has arrived."""
    against = diff < -fm.EPS
    left = (1 - base["FDI Led Start"]) * (1 - base["State Led Start"])
    columns = {"FDI Led Start": base["FDI Led Start"], "State Led Start": base["State Led Start"],
               "(1 - FDI Led Start)(1 - State Led Start)": left}  # fmt: skip
    print(f"  profile, median against ({int(against.sum())}) | elsewhere "
          f"({int((~against).sum())}); Spearman rho with the difference:")  # fmt: skip
    for name, col in columns.items():
        col = np.asarray(col, dtype=float)
        rho = spearmanr(col, diff).statistic
        print(f"    {name}: {np.median(col[against]):.3f} | {np.median(col[~against]):.3f}; "
              f"rho {rho:+.2f}")  # fmt: skip
    print(f"    against with (1 - FDI)(1 - State) below 0.1: "
          f"{int((left[against] < 0.1).sum())} of {int(against.sum())}; elsewhere "
          f"{int((left[~against] < 0.1).sum())} of {int((~against).sum())}")  # fmt: skip


def lead_path(ds, horizon: float, against: np.ndarray) -> None:
    """Item 3: high minus low Process and Product Upgrading at the trigger and after it."""
    t = ds["time"].values
    n = ds.sizes["run"] // 2
    trigger = ds["Shock Year"].values[:n]
    print("  the lead, high minus low (median against | elsewhere; negative of against):")
    for out in ("Process Upgrading", "Product Upgrading"):
        y = ds[out].transpose("run", "time").values
        cells = []
        for after in (*AFTER, horizon):
            d = trs.values_at(y[n:], t, trigger + after) - trs.values_at(y[:n], t, trigger + after)
            neg = int((d[against] < 0).sum())
            cells.append(f"+{after:g}: {np.median(d[against]):+.1e} | "
                         f"{np.median(d[~against]):+.1e} ({neg})")  # fmt: skip
        print(f"    {out}, years after the trigger " + "; ".join(cells))


def split_all(ds, horizon: float) -> pd.DataFrame:
    """Item 4 and 5 for every pair of ``ds`` (rows 0..n-1 low, n..2n-1 high)."""
    t = ds["time"].values
    n = ds.sizes["run"] // 2
    paths = {v: ds[v].transpose("run", "time").values for v in PATHS}
    rows = []
    for i in range(n):
        const = {c: float(ds[c].values[i]) for c in CONSTANTS}
        lo = {v: p[i] for v, p in paths.items()}
        hi = {v: p[n + i] for v, p in paths.items()}
        rows.append(split_run(t, lo, hi, const, const["Shock Year"] + horizon))
    return pd.DataFrame(rows)


def push_check(ds) -> float:
    """Largest |start push_high - c x Production Gap_high| with ``c`` the low run's push
    per unit of gap: the push's factor is the same in both runs (item 5 rests on it)."""
    n = ds.sizes["run"] // 2
    q, gap = ds["start push"].values, ds["Production Gap"].values
    c = np.divide(q[:n], gap[:n], out=np.zeros_like(q[:n]), where=gap[:n] > 0)
    return float(np.abs(q[n:] - c * gap[n:]).max())


def print_split(parts: pd.DataFrame, against: np.ndarray) -> None:
    """Item 4 and 5 printed: median against | elsewhere, negative of against."""
    main = [c for c in parts.columns if ", " in c]
    causes = [f"search: {c}" for c in SEARCH_PARTS]
    error = (parts[main].sum(axis=1) - parts["total"]).abs()
    search = parts["search, before the trigger"] + parts["search, after"]
    error_search = (parts[causes].sum(axis=1) - search).abs()
    print(f"  split of the difference at t* (in Process Upgrading; quadrature error of the "
          f"sum: largest {error.max():.1e}, of the search causes {error_search.max():.1e}; "
          f"the causes rebuild high minus low Search Effort within "
          f"{parts['error of dSearch'].max():.1e}); median against | elsewhere (negative "
          f"of against):")  # fmt: skip
    for name in ["total", *main, *causes]:
        col = parts[name].values
        print(f"    {name}: {np.median(col[against]):+.2e} | {np.median(col[~against]):+.2e} "
              f"({int((col[against] < 0).sum())})")  # fmt: skip


def background(model, name: str, base: pd.DataFrame, setting, horizon: float) -> None:
    """Items 1-5 over one background's settings."""
    diff, speed = sweep_difference(model, base, setting, horizon)
    against = diff < -fm.EPS
    tight = tight_difference(model, base, horizon)
    same = int((np.sign(tight) == np.sign(diff)).sum())
    print(f"\n{name}: {LEVER} {LOW:g} -> {HIGH:g}, {OUT} at Shock Year + {horizon:g}: "
          f"{trs.cell(trs.tally(diff, +1))}; against: median {np.median(diff[against]):+.1e}, "
          f"largest {diff[against].min():+.1e}; elsewhere median {np.median(diff[~against]):+.1e}; "
          f"rk23 at 1e-9: the same sign in {same} of {len(diff)}")  # fmt: skip
    profile(base, diff)
    final = model.parameter("Shock Year").maximum + horizon
    method, step = setting
    ds = model.run(pair_table(base), method=method, time_step=step, saveper=SAVE,
                   final_time=final, variables=PATHS)  # fmt: skip
    lead_path(ds, horizon, against)
    parts = split_all(ds, horizon)
    print(f"  the split's runs (saved every {SAVE:g} year) give the sweep's sign in "
          f"{int((np.sign(parts['total'].values) == np.sign(diff)).sum())} of {len(diff)}; "
          f"push factor common to both runs within {push_check(ds):.0e}")  # fmt: skip
    print_split(parts, against)
    kept = int((speed[against] > fm.EPS).sum())
    print(f"  read as a speed (the mean over [0, t*], as the SPEED claims): "
          f"{trs.cell(trs.tally(speed, +1))}; in the settings against at t*: "
          f"{kept} of {int(against.sum())} with the seeds")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    args, fit, post, horizon = trs.parse_inputs(argv, __doc__)
    from gvcdyn.model import load

    model = load(fm.V3)
    with contextlib.redirect_stdout(io.StringIO()):  # the estimates' table: the sweep's
        fit_values = fm.estimates(fit, fm.fit_config(fit))
    setting = fm.fit_setting(args.fit)
    base = trs.backgrounds_at_fit(model, fit_values, setting)["LHS"][0]
    print(f"H = {horizon:g}; {args.fit.name} at {setting[0]}; the sweep's 200 hypercube settings")
    background(model, "at the estimate", base, setting, horizon)
    if post is not None:
        post_setting = fm.fit_setting(args.posterior)
        table = trs.posterior_background(model, post, args.draws, post_setting)
        background(model, f"posterior-paired ({args.posterior.name})", table, post_setting,
                   horizon)  # fmt: skip


if __name__ == "__main__":
    main()
