"""v3's lever claims read a fixed time after the trigger (issue 20, fourteenth step; the
design is studies/protocols/v3_trigger_relative_sweep.md, committed before this script).

Why: the official lever sweeps (``v3_fit_measures.sweeps``) read every claim of
``SEED_SIGNS`` at year 40, while ``Shock Year``, which times the shock and every start,
runs over [0, 40] in the hypercube; a setting with a late trigger is read in the trigger's
first years. The thirteenth step found post hoc that most of the two starts' settings
against read such a trigger. A claim about what a trigger leads to is read here at a fixed
time H after it, as a case's code is read over its own period:

- H is the median over the case table's rows of ``period_end - trigger_year``
  (``period_start`` where the trigger year is empty): a statistic of the data (13 years on
  the table of the protocol's commit), printed;
- every setting of the official sweeps (the 22 claims, the one-at-a-time backgrounds with
  and without a shock, the 200 Latin-hypercube settings, the fit's estimates and its
  integration) is run to ``Shock Year``'s upper bound + H on a save grid of 1/8 year and
  read at its own t* = Shock Year + H: a level claim by the outcome at t* (linear
  interpolation), a SPEED claim by the mean over [0, t*] (trapezoid rule);
- with ``--posterior`` the same over the hypercube settings paired with posterior draws,
  paired as ``v3_posterior_measures`` pairs them.

Each cell is printed beside the official reading, recomputed here on the official design
(``saveper`` 1, year 40 or the mean over [0, 40], ``v3_fit_measures.claim_values``):
``k/n (a against, t tied)``. A claim is held when at least 90% of the hypercube settings
(180 of 200) keep the seeds' sign.

    python studies/v3_trigger_relative_sweep.py results/fit_v3_later60.nc \\
        --posterior results/fit_v3_later60_post.nc [--draws 200]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "studies"))
sys.path.insert(0, str(REPO / "calibration"))
import lever_sweeps as ls  # noqa: E402  (sibling scripts, not packages)
import v3_fit_measures as fm  # noqa: E402
import v3_posterior_measures as pm  # noqa: E402

CASES = REPO / "calibration" / "gvc_cases.csv"
#: The save grid of the trigger-relative runs (protocol, item 3).
SAVE = 1 / 8
#: Share of hypercube settings that must keep the seeds' sign (180 of 200).
HELD_SHARE = 0.9


def trigger_horizon(cases: pd.DataFrame) -> float:
    """H: the median over the case rows of the years from the trigger to the period's end
    (the period's start where no trigger year is coded). A statistic of the case table, so
    the reading's horizon is fixed by the data the model is judged on, not by a run."""
    trigger = pd.to_numeric(cases["trigger_year"], errors="coerce")
    start = trigger.fillna(pd.to_numeric(cases["period_start"], errors="coerce"))
    years = pd.to_numeric(cases["period_end"], errors="coerce") - start
    if years.isna().any() or len(years) == 0:
        raise ValueError("case table: every row needs period_end and a trigger or start year")
    return float(years.median())


def read_horizon(path: Path) -> float:
    """``trigger_horizon`` of the case file ``path`` (FileNotFoundError names it)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: case table not found")
    return trigger_horizon(pd.read_csv(path))


def _check_grid(paths: np.ndarray, times: np.ndarray, t_read: np.ndarray) -> np.ndarray:
    """The read times as an array, one per row of ``paths``, inside the save grid."""
    if times.ndim != 1 or times.size < 2 or not (np.diff(times) > 0).all():
        raise ValueError("times: an increasing save grid of at least two points")
    if paths.ndim != 2 or paths.shape[1] != times.size:
        raise ValueError(f"paths: shape {paths.shape}, save grid {times.size}")
    t_read = np.broadcast_to(np.asarray(t_read, dtype=float), (paths.shape[0],))
    if (t_read < times[0]).any() or (t_read > times[-1]).any():
        raise ValueError(f"read times outside the save grid [{times[0]:g}, {times[-1]:g}]")
    return t_read


def values_at(paths: np.ndarray, times: np.ndarray, t_read: np.ndarray) -> np.ndarray:
    """Each row of ``paths`` (runs x save grid ``times``) at its own time ``t_read[i]``,
    linearly interpolated: a level claim read a fixed time after that run's trigger."""
    paths, times = np.asarray(paths, dtype=float), np.asarray(times, dtype=float)
    t_read = _check_grid(paths, times, t_read)
    return np.array([np.interp(t, times, row) for row, t in zip(paths, t_read, strict=True)])


def window_mean(paths: np.ndarray, times: np.ndarray, t_end: np.ndarray) -> np.ndarray:
    """Each row's mean over [times[0], t_end[i]]: the trapezoid rule on the save grid, the
    last piece up to ``t_end[i]`` by the linear interpolant, over the window's length. The
    SPEED claims' measure (``v3_fit_measures.mean_over_run``) over a window that ends a
    fixed time after the run's trigger instead of at year 40."""
    paths, times = np.asarray(paths, dtype=float), np.asarray(times, dtype=float)
    t_end = _check_grid(paths, times, t_end)
    if (t_end <= times[0]).any():
        raise ValueError("a window must end after the grid's start")
    out = np.empty(len(paths))
    for i, (row, t) in enumerate(zip(paths, t_end, strict=True)):
        inside = times < t
        grid = np.append(times[inside], t)
        path = np.append(row[inside], np.interp(t, times, row))
        out[i] = np.trapezoid(path, grid) / (t - times[0])
    return out


def relative_values(ds: xr.Dataset, lever: str, outcome: str, horizon: float) -> np.ndarray:
    """Per run of ``ds`` the value a claim compares at t* = the run's Shock Year +
    ``horizon``: the mean over [0, t*] for a SPEED claim, the level at t* otherwise."""
    y = ds[outcome].transpose("run", "time")
    t_read = ds["Shock Year"].values + horizon
    if (lever, outcome) in fm.SPEED:
        return window_mean(y.values, y["time"].values, t_read)
    return values_at(y.values, y["time"].values, t_read)


def tally(diff: np.ndarray, sign: int) -> tuple[int, int, int]:
    """Settings with the seeds' sign, against it, tied (|change| <= EPS)."""
    with_sign = int((sign * diff > fm.EPS).sum())
    against = int((sign * diff < -fm.EPS).sum())
    return with_sign, against, len(diff) - with_sign - against


def cell(counts: tuple[int, int, int]) -> str:
    """``k/n (a against, t tied)``."""
    k, a, t = counts
    return f"{k}/{k + a + t} ({a} against, {t} tied)"


def held(counts: tuple[int, int, int]) -> bool:
    """At least 90% of the settings keep the seeds' sign (180 of 200)."""
    return counts[0] >= math.ceil(HELD_SHARE * sum(counts))


def run_pairs(
    model: object,
    base: pd.DataFrame,
    lever: str,
    low: float,
    high: float,
    setting: tuple[str, float | None],
    outs: list[str],
    horizon: float,
) -> tuple[xr.Dataset, xr.Dataset]:
    """``base`` (full settings) with ``lever`` at ``low`` then at ``high``, run twice: on
    the official design (to year 40, saved yearly) and on the trigger-relative one (to
    Shock Year's upper bound + ``horizon``, saved every 1/8 year); failed runs refused."""
    table = pd.concat([base.assign(**{lever: low}), base.assign(**{lever: high})])
    table = table.reset_index(drop=True)
    method, time_step = setting
    final = model.parameter("Shock Year").maximum + horizon
    found = []
    for kw in ({"saveper": 1.0}, {"saveper": SAVE, "final_time": final}):
        ds = model.run(table, method=method, time_step=time_step, variables=outs, **kw)
        if "status" in ds and (ds["status"].values != 0).any():
            raise RuntimeError(f"{lever}: {int((ds['status'].values != 0).sum())} runs failed")
        found.append(ds)
    return found[0], found[1]


def claim_counts(
    official: xr.Dataset, relative: xr.Dataset, lever: str, outcome: str, sign: int, horizon: float
) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """The official and trigger-relative tallies of one claim over one background's pairs
    (the first half of each dataset's runs at the lever's low, the second at its high)."""
    found = []
    for values in (
        fm.claim_values(official, lever, outcome),
        relative_values(relative, lever, outcome, horizon),
    ):
        n = len(values) // 2
        found.append(tally(values[n:] - values[:n], sign))
    return found[0], found[1]


def sweep(
    model: object,
    backgrounds: dict[str, tuple[pd.DataFrame, tuple[str, float | None]]],
    horizon: float,
) -> dict[tuple[str, str], dict[str, tuple]]:
    """Every claim of SEED_SIGNS over every background (its full settings and its
    integration): {(lever, outcome): {background: (official, trigger-relative)}}; each
    claim printed as it comes."""
    outs = sorted({row[3] for row in fm.SEED_SIGNS})
    found: dict[tuple[str, str], dict[str, tuple]] = {}
    for lever, low, high in dict.fromkeys((r[0], r[1], r[2]) for r in fm.SEED_SIGNS):
        runs = {
            name: run_pairs(model, base, lever, low, high, setting, outs, horizon)
            for name, (base, setting) in backgrounds.items()
        }
        for _, _, _, out, sign, source in (r for r in fm.SEED_SIGNS if r[0] == lever):
            found[lever, out] = {
                name: claim_counts(*runs[name], lever, out, sign, horizon) for name in runs
            }
            head = f"{lever} {low:g} -> {high:g}, {out} ({fm.claim_measure(lever, out)})"
            print(f"  {head}, seeds {'+' if sign > 0 else '-'} [{source}]:", flush=True)
            for name, (off, rel) in found[lever, out].items():
                print(f"    {name}: {cell(off)} | {cell(rel)}")
    return found


def summary(found: dict[tuple[str, str], dict[str, tuple]], name: str, label: str) -> None:
    """The table of one hypercube background and its "held: N of 22" line."""
    print(f"\n{label}: claim | year 40 | trigger + H")
    n_off = n_rel = 0
    for (lever, out), cells in found.items():
        off, rel = cells[name]
        n_off, n_rel = n_off + held(off), n_rel + held(rel)
        print(f"  {lever} -> {out} | {cell(off)} | {cell(rel)}")
    print(f"held: {n_rel} of {len(found)} ({label}, trigger + H; year 40: {n_off} of {len(found)})")


def backgrounds_at_fit(
    model: object, fit_values: dict[str, float], setting: tuple[str, float | None]
) -> dict[str, tuple[pd.DataFrame, tuple[str, float | None]]]:
    """The official sweeps' three backgrounds with the estimates over them
    (``v3_fit_measures.sweeps``), at the fit's integration."""
    defaults = {p: model.parameter(p).default for p in ls.LEVERS}
    bases = {
        "defaults": pd.DataFrame([defaults]),
        "shock": pd.DataFrame([{**defaults, **fm.SHOCK}]),
        "LHS": fm.lhs_levers(model, 200, seed=10),
    }
    return {name: (base.assign(**fit_values), setting) for name, base in bases.items()}


def posterior_background(
    model: object, post: xr.Dataset, n: int, setting: tuple[str, float | None]
) -> pd.DataFrame:
    """The hypercube settings paired with ``n`` posterior draws exactly as
    ``v3_posterior_measures.sweeps_over_draws`` pairs them: the i-th setting of
    ``lhs_levers(model, n, seed=10)`` with the i-th draw of ``posterior_draws``, the draw's
    value replacing an estimated lever's."""
    draws = pm.posterior_draws(post, n)
    lhs = fm.lhs_levers(model, len(draws), seed=10)
    return pd.concat([lhs.drop(columns=list(draws.columns), errors="ignore"), draws], axis=1)


def read_fit_or_exit(parser: argparse.ArgumentParser, path: Path, posterior: bool) -> xr.Dataset:
    """The calibration fit at ``path`` (``gvcdyn.calibrate.fitfile.read_fit``), loaded;
    a missing file, one that is no fit, or (``posterior``) one without posterior draws
    exits 2 naming it."""
    from gvcdyn.calibrate.fitfile import read_fit
    from gvcdyn.errors import CalibrationConfigError

    try:
        fit = read_fit(path).load()
    except CalibrationConfigError as exc:
        parser.error(str(exc))
    if posterior and "posterior_draw" not in fit:
        parser.error(f"{path} has no posterior draws; fit a config with [posterior]")
    return fit


def parse_inputs(
    argv: list[str] | None, doc: str
) -> tuple[argparse.Namespace, xr.Dataset, xr.Dataset | None, float]:
    """The command line this sweep and the studies built on it share (a fit, optionally
    its posterior fit and the number of draws), with the fits read and the horizon H
    taken from the case table; a missing or wrong file exits 2 naming it."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("fit", type=Path)
    parser.add_argument("--posterior", type=Path, help="the fit with its posterior draws")
    parser.add_argument("--draws", type=int, default=200)
    args = parser.parse_args(argv)
    fit = read_fit_or_exit(parser, args.fit, posterior=False)
    post = None if args.posterior is None else read_fit_or_exit(parser, args.posterior, True)
    try:
        horizon = read_horizon(CASES)
    except (FileNotFoundError, ValueError) as exc:
        parser.error(str(exc))
    return args, fit, post, horizon


def main(argv: list[str] | None = None) -> None:
    args, fit, post, horizon = parse_inputs(argv, __doc__)
    from gvcdyn.model import load

    model = load(fm.V3)
    final = model.parameter("Shock Year").maximum + horizon
    print(f"H = {horizon:g} years (median over {CASES.name}'s rows of period_end - trigger "
          f"year); runs to year {final:g}, each read at its Shock Year + {horizon:g}")  # fmt: skip
    fit_values = fm.estimates(fit, fm.fit_config(fit))
    setting = fm.fit_setting(args.fit)
    print(f"runs at the fit's integration: {setting[0]}, time step {setting[1] or 'the model'}")
    backgrounds = backgrounds_at_fit(model, fit_values, setting)
    if post is not None:
        post_setting = fm.fit_setting(args.posterior)
        table = posterior_background(model, post, args.draws, post_setting)
        backgrounds["posterior-paired"] = (table, post_setting)
        step = post_setting[1] or "the model"
        print(f"{args.posterior.name}: {len(table)} draws paired with as many hypercube "
              f"settings, at {post_setting[0]}, time step {step}")  # fmt: skip
    print("the seeds' claims, per background: year 40 (official) | trigger + H: settings with "
          "the seeds' sign of all (against, tied)")  # fmt: skip
    found = sweep(model, backgrounds, horizon)
    summary(found, "LHS", "200 hypercube settings at the estimate")
    if post is not None:
        summary(found, "posterior-paired", f"{args.draws} hypercube settings with posterior draws")


if __name__ == "__main__":
    main()
