"""Model v3's face validity and lever sweeps over its posterior draws (issue 20, seventh
step: models/gvc_upgrading_v3.md, "v3 at rk23 with a posterior").

Why a script: ``v3_fit_measures.py`` judges face validity and the seeds' signs at the
estimate only. With a converged posterior (``gvcdyn calibrate
calibration/config_v3_checks_post.toml``) the question is whether the bars fail only at
the estimate or across the parameter vectors the cases and the checks allow. Given a fit
file with posterior draws, it prints

1. face validity (Spearman rho, model quantity vs coded level, declared mapping, every
   case at its own horizon) at each of ``--draws`` posterior draws (evenly spaced over
   all kept draws, as ``gvcdyn reality-check --posterior`` picks them): median, 5-95%
   and the share of draws with rho >= 0.6, over all 41 cases, the 31 not started by
   buyers, foreign firms or a TNC, the 24 without low-confidence rows and the 19
   without both (``v3_fit_measures.face_subsets``);
2. the lever sweeps of ``v3_fit_measures.SEED_SIGNS`` with each draw in place of the
   estimate: one at a time from the lever defaults, the same with a policy shock of 0.8
   in year 5, and over Latin-hypercube settings of the 18 levers (seed 10, as
   ``v3_fit_measures``) with the i-th setting paired with the i-th draw (uncertainty in
   the background and in the constants together). Cell: the number of draws with the
   seeds' sign out of all, against it and tied (|change| <= 1e-9), the range of the
   change and its mean, value at year 40 (counts, not a rounded share: 199 of 200 is
   not "all").

Every run is at the fit's integration, method and time step read from the fit file as
``gvcdyn predict`` reads them (``gvcdyn.calibrate.fitfile.fit_integration``; for
``fit_v3_checks_post.nc`` rk23 at v3's settings-file tolerance), not at the model's
current default, which a settings file edited after the fit would move.

    python studies/v3_posterior_measures.py results/fit_v3_checks_post.nc [--draws 200]
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
from gvcdyn.checks.run import evenly_spaced

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "studies"))
sys.path.insert(0, str(REPO / "calibration"))
import face_validity as fv  # noqa: E402  (sibling scripts, not packages)
import lever_sweeps as ls  # noqa: E402
import v3_fit_measures as fm  # noqa: E402

EPS = fm.EPS


def posterior_draws(fit: xr.Dataset, n: int) -> pd.DataFrame:
    """``n`` kept draws evenly spaced over all of them (chains in order, then draws: the
    order ``gvcdyn reality-check --posterior`` uses), one row each, a column per
    estimated constant; all of them if the fit holds fewer."""
    draws = fit["posterior_draw"].transpose("chain", "draw", "parameter")
    flat = draws.values.reshape(-1, draws.sizes["parameter"])
    index = evenly_spaced(len(flat), n)
    return pd.DataFrame(flat[index], columns=[str(p) for p in draws["parameter"].values])


def sign_counts(diff: np.ndarray, sign: int) -> str:
    """``k/n, a against, t tied, range [lo, hi]`` for the changes ``diff`` with the seeds'
    ``sign``: counts (ties within ``EPS``) and the extreme changes, so that one draw on
    the other side is not rounded away (199 of 200 prints as 100% at ``.0%``)."""
    n = len(diff)
    with_sign = int((sign * diff > EPS).sum())
    against = int((sign * diff < -EPS).sum())
    return (
        f"{with_sign}/{n}, {against} against, {n - with_sign - against} tied, "
        f"range [{diff.min():+.4f}, {diff.max():+.4f}]"
    )


def face_over_draws(
    model: gvcdyn.Model,
    draws: pd.DataFrame,
    setting: tuple[str, float | None],
    case_table: pd.DataFrame,
    mapping,
) -> None:
    """Spearman rho per outcome and case subset at every draw: one batch, on the case
    table and mapping the fit was made with (``v3_fit_measures.fit_cases``, ``fit_mapping``)."""
    from gvcdyn.calibrate.cases import apply_mapping  # lazy, as face_validity's

    table = apply_mapping(case_table, mapping, model=model)
    space = gvcdyn.ParameterSpace(model, [*table.levers, *draws.columns])
    base = space.base[space.columns[: len(table.levers)]]
    cases = np.where(np.isnan(table.values), base, table.values)
    n, c = len(draws), len(table)
    X = np.hstack([np.tile(cases, (n, 1)), np.repeat(draws.to_numpy(), c, axis=0)])
    outcomes = [gvcdyn.Outcome(v, "value", at="run") for v in fv.MEASURES.values()]
    method, time_step = setting
    evaluate = model.evaluator(space, outcomes, method=method, time_step=time_step)
    Y, status = evaluate(X, times=np.tile(table.horizon, n))
    if (status != 0).any():
        raise RuntimeError(f"{int((status != 0).sum())} runs failed")
    frame = pd.DataFrame(index=pd.Index(table.ids, name="id"))
    obs = fv.observed_codes(case_table).apply(pd.to_numeric).loc[frame.index]
    subsets = {f"all {c}": np.ones(c, dtype=bool), **fm.face_subsets(frame, case_table)}
    print(f"face validity over {n} posterior draws: median [5%, 95%], draws >= 0.6")
    for label, keep in subsets.items():
        parts = []
        for j, code in enumerate(fv.MEASURES):
            rho = np.array([
                spearmanr(Y[d * c : (d + 1) * c, j][keep], obs[code].to_numpy()[keep]).statistic
                for d in range(n)
            ])  # fmt: skip
            q = np.quantile(rho, [0.05, 0.5, 0.95])
            parts.append(
                f"{code} {q[1]:+.3f} [{q[0]:+.3f}, {q[2]:+.3f}] {int((rho >= 0.6).sum())}/{n}"
            )
        print(f"  {label} ({int(keep.sum())}): " + "; ".join(parts))


def sweeps_over_draws(
    model: gvcdyn.Model, draws: pd.DataFrame, setting: tuple[str, float | None]
) -> None:
    """SEED_SIGNS with each draw for the estimate: one at a time (with and without a
    shock) and over LHS settings paired with the draws."""
    n = len(draws)
    defaults = {p: model.parameter(p).default for p in ls.LEVERS}
    lhs = fm.lhs_levers(model, n, seed=10)
    backgrounds = {
        "defaults": pd.DataFrame([defaults] * n).assign(**draws),
        "shock": pd.DataFrame([{**defaults, **fm.SHOCK}] * n).assign(**draws),
        # a draw's value replaces the LHS value of an estimated lever (no duplicate column)
        "LHS": pd.concat([lhs.drop(columns=list(draws.columns), errors="ignore"), draws], axis=1),
    }
    outs = sorted({row[3] for row in fm.SEED_SIGNS})
    print(f"lever sweeps over {n} posterior draws (year 40, or the mean over the run for "
          "v3_fit_measures.SPEED's claims): one at a time | with a shock "
          "0.8 in year 5 | LHS settings paired with draws: draws with the seeds' sign "
          "of all, against, tied, range (mean change)")  # fmt: skip
    for lever, low, high in dict.fromkeys((r[0], r[1], r[2]) for r in fm.SEED_SIGNS):
        tables = []
        for base in backgrounds.values():
            tables += [base.assign(**{lever: low}), base.assign(**{lever: high})]
        method, time_step = setting
        table = pd.concat(tables).reset_index(drop=True)
        ds = model.run(table, method=method, time_step=time_step, saveper=1.0, variables=outs)
        for _, _, _, out, sign, source in (r for r in fm.SEED_SIGNS if r[0] == lever):
            values = fm.claim_values(ds, lever, out).reshape(len(backgrounds), 2, n)
            diff = values[:, 1] - values[:, 0]
            parts = [f"{sign_counts(d, sign)} ({d.mean():+.4f})" for d in diff]
            head = f"{lever} {low:g} -> {high:g}, {out} ({fm.claim_measure(lever, out)})"
            seeds = f"seeds {'+' if sign > 0 else '-'} [{source}]"
            print(f"  {head}, {seeds}: " + " | ".join(parts), flush=True)
            if (lever, out) in fm.SPEED:
                level = ds[out].sel(time=40).values.reshape(len(backgrounds), 2, n)
                counts = [sign_counts(d, sign) for d in level[:, 1] - level[:, 0]]
                print(f"    the level at year 40 instead: {' | '.join(counts)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fit", type=Path)
    parser.add_argument("--draws", type=int, default=200)
    args = parser.parse_args()
    with xr.open_dataset(args.fit) as ds:
        fit = ds.load()
    if "posterior_draw" not in fit:
        raise SystemExit(f"{args.fit} has no posterior draws; fit a config with [posterior]")
    draws = posterior_draws(fit, args.draws)
    print(f"{args.fit.name}: {len(draws)} of {fit['posterior_draw'].sizes['chain']} x "
          f"{fit['posterior_draw'].sizes['draw']} draws; converged "
          f"{fit.attrs.get('posterior_converged')}")  # fmt: skip
    setting = fm.fit_setting(args.fit)
    step = "the model's own" if setting[1] is None else f"{setting[1]:g}"
    print(f"runs at the fit's integration: {setting[0]}, time step {step}")
    model = gvcdyn.load(fm.V3)
    face_over_draws(model, draws, setting, fm.fit_cases(fit, model), fm.fit_mapping(fit))
    sweeps_over_draws(model, draws, setting)


if __name__ == "__main__":
    main()
