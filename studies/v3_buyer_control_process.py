"""Why Initial Buyer Control 0.1 -> 0.9 lowers Process Upgrading at year 40 in a quarter of
the Latin-hypercube settings (issue 20; the claim [S s.4] of ``v3_fit_measures.SEED_SIGNS``).

At a fit (default results/fit_v3_later.nc, at the fit's integration as v3_fit_measures
runs it) over the same 200 LHS settings of the 18 levers (``v3_fit_measures.lhs_levers``,
seed 10), it prints

1. the share of settings where the high control raises Process Upgrading at year 40, and
   the size of the differences on each side;
2. which other levers separate the settings against the seeds: Spearman rho of the
   difference with each lever, each lever's mean where the claim fails and where it holds,
   and the buyers' teaching potential ``Buyer Challenge x Buyer Support x (1 - National
   Market Share)`` (the factors of ``buyer teaching`` besides engagement);
3. the exact split of the year-40 difference of Process Capability. With ``L = buyer
   teaching x Buyer Process Learning Rate + local learning intensity`` and ``e`` the
   erosion rate, ``dP/dt = L (1 - P) - e P`` in both runs, so the difference at 40 is
   ``int_0^40 exp(-int_s^40 (L_high + e)) (L_high - L_low)(s) (1 - P_low(s)) ds``:
   a teaching part and a local part, the local part split further (midpoint weights)
   into function-directed search, production-directed search and the sources;
4. the claim measured as [S s.4] states it, as a speed ("a fast track to upgrading
   processes and products"): Process Upgrading at year 10 and five years after the
   trigger, its mean over the 40 years, and the years to close a quarter and half of the
   initial gap (sooner, tied, later, at 1/8 year);
5. with ``--posterior FILE``: the measures of 4 over that many posterior draws, the i-th
   setting paired with the i-th draw, as ``v3_posterior_measures`` pairs them.

``--model PATH`` measures a copy of the .mdl (a candidate) with the fit's estimates.

    python studies/v3_buyer_control_process.py [results/fit_v3_later.nc] [--model M.mdl]
        [--posterior results/fit_v3_later_post.nc] [--draws 200]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy.stats import spearmanr

import gvcdyn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "studies"))
sys.path.insert(0, str(REPO / "calibration"))
import lever_sweeps as ls  # noqa: E402  (sibling scripts, not packages)
import v3_fit_measures as fm  # noqa: E402
import v3_posterior_measures as pm  # noqa: E402

LEVER, LOW, HIGH = "Initial Buyer Control", 0.1, 0.9
OUT = "Process Upgrading"
EPS = fm.EPS
SPLIT_VARIABLES = [
    "Process Capability", "buyer teaching", "local learning intensity", "Search Effort",
    "Functional Search", "production learning sources", "Buyer Process Learning Rate",
    "Capability Erosion Rate", "Local Learning Rate", "Initial Process Capability",
]  # fmt: skip
DT = 1 / 32  # saving step of the split (the integral's quadrature)


def paired_runs(model, settings: pd.DataFrame, constants: pd.DataFrame, setting, **kw):
    """Each setting at the low and at the high control (rows 0..n-1 low, n..2n-1 high)."""
    base = pd.concat([settings.reset_index(drop=True), constants.reset_index(drop=True)], axis=1)
    table = pd.concat([base.assign(**{LEVER: LOW}), base.assign(**{LEVER: HIGH})])
    method, time_step = setting
    return model.run(table.reset_index(drop=True), method=method, time_step=time_step, **kw)


def counts(diff: np.ndarray) -> str:
    """Settings with the seeds' sign (+), against, tied; mean change."""
    up, down = int((diff > EPS).sum()), int((diff < -EPS).sum())
    tied = diff.size - up - down
    return f"{up / diff.size:.1%} ({up} with, {down} against, {tied} tied; mean {diff.mean():+.4f})"


def first_time(values: np.ndarray, times: np.ndarray, level: float) -> np.ndarray:
    """Time each run first reaches ``level`` (inf if never)."""
    reached = values >= level
    out = times[np.argmax(reached, axis=1)].astype(float)
    out[~reached.any(axis=1)] = np.inf
    return out


def speed_measures(
    t: np.ndarray, lo: np.ndarray, hi: np.ndarray, shock_year: np.ndarray
) -> dict[str, np.ndarray]:
    """High minus low control of Process Upgrading (runs x time, saved at ``t``): at years
    40 and 10, five years after the trigger (at most year 40), and the mean over the run
    (``v3_fit_measures.mean_over_run``, the SPEED claims' measure, on this script's 1/8-year
    grid: see there for how it compares with the sweeps' yearly one)."""
    n = len(lo)
    at = {y: int(np.argmin(np.abs(t - y))) for y in (10, 40)}
    after = np.minimum(40.0, shock_year + 5.0)
    k = np.abs(t[None, :] - after[:, None]).argmin(axis=1)
    rows = np.arange(n)
    return {
        "year 40 (the claim as measured)": hi[:, at[40]] - lo[:, at[40]],
        "year 10": hi[:, at[10]] - lo[:, at[10]],
        "five years after the trigger": hi[rows, k] - lo[rows, k],
        "mean over the 40 years": fm.mean_over_run(hi, t) - fm.mean_over_run(lo, t),
    }


def close_times(
    t: np.ndarray, lo: np.ndarray, hi: np.ndarray, level: float
) -> tuple[int, int, int, int]:
    """Runs where the high control closes ``level`` of the gap sooner, later, tied, and
    where neither run ever does."""
    a, b = first_time(lo, t, level), first_time(hi, t, level)
    sooner = int((b < a).sum())
    later = int((b > a).sum())
    return sooner, later, len(a) - sooner - later, int((np.isinf(a) & np.isinf(b)).sum())


def speed(ds: xr.Dataset, settings: pd.DataFrame) -> None:
    """Process Upgrading's speed measures, high minus low control (item 4)."""
    n = len(settings)
    t = ds["time"].values
    pu = ds[OUT].values
    lo, hi = pu[:n], pu[n:]
    shock_year = settings["Shock Year"].to_numpy()
    for name, diff in speed_measures(t, lo, hi, shock_year).items():
        print(f"  {name}: {counts(diff)}")
    for level in (0.25, 0.5):
        sooner, later, tied, never = close_times(t, lo, hi, level)
        print(f"  years to close {level:.0%} of the gap: sooner in {sooner}, later in "
              f"{later}, tied in {tied} (both never: {never})")  # fmt: skip


def separating_levers(settings: pd.DataFrame, diff: np.ndarray) -> pd.DataFrame:
    """Each lever (and the teaching potential) against the difference: Spearman rho with it,
    its mean where the difference is against the seeds and elsewhere; by |rho|."""
    fail = diff < -EPS
    frame = settings.drop(columns=[LEVER]).copy()
    frame["teaching potential"] = (
        frame["Buyer Challenge"] * frame["Buyer Support"] * (1 - frame["National Market Share"])
    )
    rows = []
    for name in frame.columns:
        rho = spearmanr(frame[name], diff).statistic
        rows.append((name, rho, frame.loc[fail, name].mean(), frame.loc[~fail, name].mean()))
    rows = sorted(rows, key=lambda r: -abs(r[1]))
    return pd.DataFrame(rows, columns=["lever", "rho", "against", "elsewhere"]).set_index("lever")


def profile(settings: pd.DataFrame, diff: np.ndarray) -> None:
    """Item 2: the levers that separate the settings against the seeds."""
    fail = diff < -EPS
    print(f"levers against the difference (rho with it; mean where against ({int(fail.sum())})"
          f" | elsewhere ({int((~fail).sum())})), by |rho|:")  # fmt: skip
    for name, (rho, a, b) in separating_levers(settings, diff).iterrows():
        print(f"  {name}: rho {rho:+.2f}; {a:.3f} | {b:.3f}")


def split_parts(g: dict[str, np.ndarray], t: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """The parts of the year-40 difference of Process Upgrading, high minus low control, and
    that difference. ``g``: SPLIT_VARIABLES of paired runs (rows 0..n-1 low, n..2n-1 high),
    saved at ``t``; the constants are those of the first run (the same in all)."""
    n = len(g["Process Capability"]) // 2
    scalar = lambda v: float(np.ravel(g[v])[0])  # noqa: E731  constants: one value
    bplr, e, llr = (scalar(v) for v in SPLIT_VARIABLES[6:9])
    gap0 = 1 - scalar("Initial Process Capability")
    pc = g["Process Capability"]
    lo, hi = slice(0, n), slice(n, 2 * n)
    teach, local = g["buyer teaching"] * bplr, g["local learning intensity"]
    rate = teach[hi] + local[hi] + e
    cum = np.concatenate(
        [np.zeros((n, 1)), np.cumsum((rate[:, 1:] + rate[:, :-1]) / 2 * np.diff(t), axis=1)],
        axis=1,
    )
    weight = np.exp(-(cum[:, -1:] - cum)) * (1 - pc[lo]) / gap0  # in Process Upgrading

    def integral(x: np.ndarray) -> np.ndarray:
        y = weight * x
        return np.sum((y[:, 1:] + y[:, :-1]) / 2 * np.diff(t), axis=1)

    search, fs, src = g["Search Effort"], g["Functional Search"], g["production learning sources"]
    src_mid = (src[lo] + src[hi]) / 2
    parts = pd.DataFrame({
        "teaching": integral(teach[hi] - teach[lo]),
        "local": integral(local[hi] - local[lo]),
        "  function-directed search": integral(llr * (fs[hi] - fs[lo]) * src_mid),
        "  production-directed search": integral(
            llr * ((search[hi] - fs[hi]) - (search[lo] - fs[lo])) * src_mid),
        "  sources": integral(llr * (search[lo] + search[hi]) / 2 * (src[hi] - src[lo])),
    })  # fmt: skip
    return parts, (pc[hi, -1] - pc[lo, -1]) / gap0


def split(model, settings, constants, setting, diff: np.ndarray) -> None:
    """Item 3: the exact split of the year-40 difference of Process Capability."""
    ds = paired_runs(model, settings, constants, setting, saveper=DT, variables=SPLIT_VARIABLES)
    g = {v: np.asarray(ds[v].values) for v in SPLIT_VARIABLES}
    parts, total = split_parts(g, ds["time"].values)
    error = np.abs(parts["teaching"] + parts["local"] - total)
    fail = diff < -EPS
    print(f"split of the year-40 difference of Process Upgrading (error of teaching + local: "
          f"largest {error.max():.1e}, {error[fail].max():.1e} where against, median "
          f"{np.median(error):.1e}); median where against | elsewhere:")  # fmt: skip
    for name in parts.columns:
        print(f"  {name}: {parts.loc[fail, name].median():+.4f} | "
              f"{parts.loc[~fail, name].median():+.4f}")  # fmt: skip
    local_parts = parts.columns[2:]
    worst = parts.loc[fail, local_parts].idxmin(axis=1).str.strip().value_counts()
    print("  most negative part where against: "
          + ", ".join(f"{k} {v}" for k, v in worst.items()))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fit", nargs="?", default=str(REPO / "results" / "fit_v3_later.nc"))
    parser.add_argument("--model", default=str(fm.V3))
    parser.add_argument("--posterior", help="fit file with posterior draws")
    parser.add_argument("--draws", type=int, default=200)
    args = parser.parse_args()
    files = {"fit": args.fit, "--model": args.model, "--posterior": args.posterior}
    for label, path in files.items():
        if path is not None and not Path(path).is_file():
            parser.error(f"{label} {path}: no such file")
    fit_path = Path(args.fit)
    with xr.open_dataset(fit_path) as ds:
        estimate = ds["estimate"].to_series()
    setting = fm.fit_setting(fit_path)
    model = gvcdyn.load(args.model)
    settings = fm.lhs_levers(model, 200, seed=10)
    assert list(settings.columns) == list(ls.LEVERS)
    constants = pd.DataFrame([estimate.to_dict()] * len(settings))
    constants.columns = [str(c) for c in constants.columns]
    print(f"{Path(args.model).name} at {fit_path.name} ({setting[0]}); {LEVER} {LOW:g} -> "
          f"{HIGH:g} over {len(settings)} LHS settings, {OUT}:")  # fmt: skip
    ds = paired_runs(model, settings, constants, setting, saveper=1 / 8, variables=[OUT])
    n = len(settings)
    year40 = ds[OUT].sel(time=40).values
    diff = year40[n:] - year40[:n]
    against = diff[diff < -EPS]
    with_sign = diff[diff > EPS]
    print(f"  at year 40: {counts(diff)}; against: median {np.median(against):+.4f}, "
          f"{int((against > -1e-3).sum())} of {against.size} above -0.001, largest "
          f"{against.min():+.4f}; with: median {np.median(with_sign):+.4f}")  # fmt: skip
    profile(settings, diff)
    split(model, settings, constants, setting, diff)
    print("the claim as a speed [S s.4], at the fit:")
    speed(ds, settings)
    if args.posterior:
        with xr.open_dataset(args.posterior) as post:
            draws = pm.posterior_draws(post.load(), args.draws)
        sub = settings.iloc[: len(draws)]
        if len(draws) != len(settings):
            sub = fm.lhs_levers(model, len(draws), seed=10)
        print(f"the same over {len(draws)} posterior draws paired with LHS settings:")
        ds = paired_runs(model, sub, draws, setting, saveper=1 / 8, variables=[OUT])
        speed(ds, sub)


if __name__ == "__main__":
    main()
