"""Model v3 judged at its own fit (issue 20): every number of models/gvc_upgrading_v3.md, section
"Model v3 (draft)", subsection "v3 at its own fit".

Why a script: v3 had only been measured at the reference params and at v2.2's fit; the
issue's "Done when" is about v3's own fit, and the lead will want the same numbers after
the next fit (with checks as constraints, a posterior, or a changed case table). Given a
fit file of ``gvcdyn calibrate calibration/config_v3.toml --crossval``, it prints

1. the estimates and which sit on (within 0.5% of the range of) a bound;
2. every check of models/gvc_upgrading_v3.checks.toml at the fit (its margin) and the
   share of 200 draws at +-20% around it where it holds (seed 1): the same as
   ``gvcdyn reality-check models/gvc_upgrading_v3.mdl models/gvc_upgrading_v3.checks.toml
   --params FIT --perturb 0.2 --draws 200 --seed 1``, plus each group's share;
3. the cross-validated log-loss of the fit file (outcome_class, functional_upg; model,
   class frequencies, context logit, sparse ordered logit) with the 95% case-bootstrap
   interval and each baseline's paired interval (baseline minus model);
4. face validity at the fit (calibration/face_validity.py with the declared mapping
   pointed at v3): Spearman rho per outcome over all cases, over the cases not started
   by buyers, foreign firms or a domestic TNC (studies/v3_started_cases.py's ten), without
   the low-confidence rows, and without both;
5. the lever sweeps at the fit for every lever the seeds speak to (``SEED_SIGNS``, with
   the seed section): one at a time from the lever defaults (and from the same with a
   policy shock of 0.8 in year 5, since the seeds make the sources of learning matter
   after a trigger [PF]), and over 200 Latin-hypercube settings of all 18 levers
   (scipy's qmc, seed 10, over each lever's documented range; studies/lever_sweeps.py's
   LEVERS), the lever low and high in each; value at year 40.

With ``--posterior FILE`` (a fit of the same config with its ``[posterior]`` table) it
also prints each constant's posterior median and 95% interval and the sampler's
convergence verdict.

Every run (face validity, sweeps and the checks) is at the fit's integration: the method
and time step read from the fit file as ``gvcdyn predict`` reads them
(``gvcdyn.calibrate.fitfile.fit_integration``), not the model's current default. For the
seventh step's fits (config_v3_checks_post.toml, _cv.toml) that is rk23 at v3's
settings-file tolerance (1e-5, first step 1/8); for the older fits (config_v3.toml and
the _no_started*.toml) RK4 at 1/8, the setting their numbers in models/gvc_upgrading_v3.md were
measured at. A settings file added or edited after a fit does not move its numbers.

    python studies/v3_fit_measures.py [results/fit_v3.nc] [--draws 200] [--skip-checks]
        [--posterior results/fit_v3_post.nc]
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy.stats import qmc, spearmanr

import gvcdyn

REPO = Path(__file__).resolve().parents[1]
V3 = REPO / "models" / "gvc_upgrading_v3.mdl"
V3_CHECKS = REPO / "models" / "gvc_upgrading_v3.checks.toml"
sys.path.insert(0, str(REPO / "studies"))
sys.path.insert(0, str(REPO / "calibration"))
import face_validity as fv  # noqa: E402  (sibling scripts, not packages)
import lever_sweeps as ls  # noqa: E402
import v3_check_summary as cs  # noqa: E402
from v3_started_cases import STARTED  # noqa: E402

#: (lever, low, high, outcome, the seeds' sign, source). Only claims a seed makes about
#: the lever's direction; levers the seeds do not speak to (Shock Year) are left out.
SEED_SIGNS = (
    ("Buyer Led Start", 0.0, 1.0, "Functional Upgrading", -1, "S s.5, s.8"),
    ("Buyer Led Start", 0.0, 1.0, "Process Upgrading", +1, "S s.4"),
    ("FDI Led Start", 0.0, 1.0, "Functional Upgrading", -1, "S s.8 concern 3; PF"),
    ("FDI Led Start", 0.0, 1.0, "Process Upgrading", +1, "S s.8 concern 3"),
    ("State Led Start", 0.0, 1.0, "Functional Upgrading", +1, "PF"),
    ("Shock Size", 0.0, 0.8, "Functional Upgrading", +1, "PF"),
    ("Initial Buyer Control", 0.1, 0.9, "Functional Upgrading", -1, "S s.5, s.8"),
    ("Initial Buyer Control", 0.1, 0.9, "Process Upgrading", +1, "S s.4"),
    ("Buyer Blocking Strength", 0.0, 1.0, "Functional Upgrading", -1, "S s.5"),
    ("Buyer Support", 0.0, 1.0, "Process Upgrading", +1, "S s.4"),
    ("Buyer Challenge", 0.0, 1.0, "Process Upgrading", +1, "S s.4"),
    ("National Market Share", 0.0, 0.8, "Functional Upgrading", +1, "S s.6"),
    ("Global Demand Growth", 0.0, 0.08, "Value Capture Share", +1, "S s.8 concern 1"),
    ("Scouting Intensity", 0.0, 1.0, "Cluster Market Position", -1, "S s.8 concern 2"),
    ("Scouting Intensity", 0.0, 1.0, "Value Capture Share", -1, "S s.8 concerns 1-2"),
    ("Entrant Wage Gap", 0.0, 0.9, "Cluster Market Position", -1, "S s.8 concern 2"),
    ("State Participation", 0.0, 1.0, "Institutional Capacity", +1, "PF"),
    ("Business Association Strength", 0.0, 1.0, "Institutional Capacity", +1, "PF"),
    ("Business Association Strength", 0.0, 1.0, "Functional Upgrading", +1, "PF"),
    ("Initial Institutional Capacity", 0.0, 1.0, "Functional Upgrading", +1, "PF"),
    ("University Research Strength", 0.0, 1.0, "Functional Upgrading", +1, "PF"),
    ("FDI Learning", 0.0, 1.0, "Process Upgrading", +1, "PF; S s.8 concern 3"),
)
#: Claims whose seed speaks of speed, not of the level reached: for these the sweeps
#: compare the mean of the outcome over the 40 years (its path's area per year, so the
#: faster rise has the larger mean), every other claim the level at year 40. [S s.4]: "the
#: combination of high challenge and support ... leads to fast improvement in processes
#: and products"; [S s.8]: captive chains offer "a fast track to product and process
#: upgrading. Local firms 'adopted' by global buyers can expect to progress fast"; [S s.8
#: concern 3]: "the rapid dispersal of production capabilities". The level at year 40 is
#: printed beside it: it reflects the last years' learning (Process Capability forgets
#: in about 2.5 years at the fit) and governance that has moved toward balanced [S s.7],
#: on which these sentences say nothing (studies/v3_buyer_control_process.py).
SPEED = {
    ("Initial Buyer Control", "Process Upgrading"),
    ("Buyer Support", "Process Upgrading"),
    ("Buyer Challenge", "Process Upgrading"),
    ("Buyer Led Start", "Process Upgrading"),
    ("FDI Led Start", "Process Upgrading"),
}
SHOCK = {"Shock Size": 0.8, "Shock Year": 5.0}
#: Years before the reading (year 40) within which a trigger counts as late in the sweeps'
#: report: its start or shock is read in its first years.
LATE_TRIGGER = 5.0


def mean_over_run(paths: np.ndarray, times: np.ndarray) -> np.ndarray:
    """The mean of each path over the run: its area by the trapezoid rule over the save
    grid ``times`` (the last axis of ``paths``), divided by the span, so the faster rise
    has the larger mean. The one definition of the SPEED claims' measure, for
    ``claim_values`` (and through it v3_posterior_measures and v3_evidence_lhs) and for
    v3_buyer_control_process's speed measures.

    The grid is the caller's, on purpose: the sweeps here save yearly (``saveper=1``,
    enough for a level at year 40 and cheap over 22 claims x 3 backgrounds x 2 x 200
    runs), v3_buyer_control_process at 1/8 year (its years to close a quarter and half of
    the gap and five years after a trigger need the finer grid, and its mean is read off
    the same runs). The two grids give nearly the same mean but not always the same sign
    of a tiny difference (a setting whose high-minus-low difference is near 0 can count
    with the seeds on one grid and against them on the other; at an adaptive method such
    as rk23 the save grid moves the saved path as well as the quadrature), so two scripts
    can count a claim's settings differently. Each script prints the count on its own
    grid."""
    times = np.asarray(times, dtype=float)
    if times.ndim != 1 or times.size < 2 or not (np.diff(times) > 0).all():
        raise ValueError("times: an increasing save grid of at least two points")
    if np.shape(paths)[-1] != times.size:
        raise ValueError(f"paths: last axis {np.shape(paths)[-1]}, save grid {times.size}")
    return np.trapezoid(paths, times, axis=-1) / (times[-1] - times[0])


def claim_values(ds: xr.Dataset, lever: str, outcome: str) -> np.ndarray:
    """Per run of ``ds`` (saved over 0..40 years), the value a claim of SEED_SIGNS
    compares: the mean over the run for a claim in SPEED (``mean_over_run`` on ``ds``'s
    own save grid), the level at year 40 otherwise."""
    y = ds[outcome]
    if (lever, outcome) in SPEED:
        return mean_over_run(y.transpose(..., "time").values, y["time"].values)
    return y.sel(time=40).values


def claim_measure(lever: str, outcome: str) -> str:
    """How a claim is measured, for the printed tables."""
    return "mean over the run" if (lever, outcome) in SPEED else "year 40"


EPS = 1e-9


def estimates(fit: xr.Dataset, config: dict) -> dict[str, float]:
    """Print the estimates, flag those on a bound; return them."""
    est = fit["estimate"].to_series()
    print(f"objective {float(fit.attrs.get('objective', np.nan)):.3f}")
    for name, value in est.items():
        lo, hi = config["estimate"][name]["bounds"]
        tol = 0.005 * (hi - lo)
        where = (
            " (lower bound)" if value - lo <= tol else " (upper bound)" if hi - value <= tol else ""
        )
        print(f"  {name} = {value:.4g} in [{lo:g}, {hi:g}]{where}")
    return {str(k): float(v) for k, v in est.items()}


def fit_config(fit: xr.Dataset) -> dict:
    """The config a fit was made with (its ``config_text``: its own constants and bounds,
    so a fit that estimates other constants is read right); calibration/config_v3.toml
    for a fit file that records none."""
    text = fit.attrs.get("config_text")
    if not text:
        text = (REPO / "calibration" / "config_v3.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def fit_setting(fit_path: Path) -> tuple[str, float | None]:
    """The method and time step (None: the model's own) ``fit_path`` was computed at."""
    from gvcdyn.calibrate.fitfile import fit_integration  # lazy: needs a fit file

    found = fit_integration(fit_path)
    if found is None:
        raise SystemExit(f"{fit_path}: not a calibration fit (no estimate or stored config)")
    return found


def checks_at_fit(model: object, fit_path: Path, draws: int) -> None:
    """Margin and share of +-20% draws of every check; each group's share (the reality
    check reads the fit's method and time step from ``fit_path`` itself)."""
    ds = gvcdyn.reality_check(model, V3_CHECKS, params=fit_path, perturb=0.2, draws=draws, seed=1)
    held, margin, share = ds["holds"].values, ds["margin"].values, ds["share"].values
    print(f"checks at the fit: {int(held.sum())} of {held.size} hold; all together in "
          f"{float(ds['share_all']):.1%} of {draws} draws at +-20%")  # fmt: skip
    for name, h, m, s in zip(ds["check"].values, held, margin, share, strict=True):
        print(f"  {'ok  ' if h else 'FAIL'} {name}: margin {m:+.4g}, holds in {s:.1%}")
    groups = cs.check_groups(V3_CHECKS)
    print("  groups, share of draws: " + "; ".join(cs.group_shares(ds, groups)))


def crossval(fit: xr.Dataset) -> None:
    """Log-loss per subset, scheme, outcome, predictor with intervals."""
    if "cv_score" not in fit:
        print("no cross-validation in the fit file")
        return
    sel = {"cv_metric": "log_loss"}
    for subset in fit["cv_subset"].values:
        n = int(fit["cv_n_cases"].sel(cv_subset=subset))
        for scheme in fit["cv_scheme"].values:
            for outcome in fit["cv_outcome"].values:
                at = {**sel, "cv_subset": subset, "cv_scheme": scheme, "cv_outcome": outcome}
                parts = []
                for pred in fit["cv_predictor"].values:
                    p = {**at, "cv_predictor": pred}
                    text = (f"{pred} {float(fit['cv_score'].sel(p)):.3f} "
                            f"[{float(fit['cv_score_low'].sel(p)):.3f}, "
                            f"{float(fit['cv_score_high'].sel(p)):.3f}]")  # fmt: skip
                    if pred != "model":
                        text += (f" diff [{float(fit['cv_diff_low'].sel(p)):+.3f}, "
                                 f"{float(fit['cv_diff_high'].sel(p)):+.3f}]")  # fmt: skip
                    parts.append(text)
                print(f"CV log-loss {subset} ({n}) {scheme} {outcome}: " + "; ".join(parts))


def fit_cases(fit: xr.Dataset, model: object | None = None) -> pd.DataFrame:
    """The case table the fit was made on: calibration/gvc_cases.csv with the sourced
    revisions the fit's config named (``case_revisions`` in the fit file) applied, so that
    a fit on the revised table is judged on the same table, read by
    ``gvcdyn.calibrate.fitfile.fit_case_table`` (the reader ``gvcdyn predict`` and
    v3_signed_context_cv rebuild a fit's cases with): a revisions file that changed since
    the fit is refused, as is a revision whose coded value the table no longer holds.
    The repository's table, not the file the fit recorded (a fit made in another checkout
    records a path that is gone), checked as every reader checks a fit's table: when its
    SHA-256 is not the fit's (the table has gained columns since some fits: the later
    shock's, the low-wage entry's, the later programme's), it is taken, with a note, only
    when every value the fit read is the same (its cases, levers, outcomes, weights and
    horizons), and refused naming the first that differs otherwise.

    ``model``: the study's model, whose lever defaults and ranges that check reads when
    its SHA-256 is the fit's (the same file: it spares loading the fit's recorded model
    again, 0.7 s); any other model is not used, and the recorded one is loaded."""
    from gvcdyn.calibrate.fitfile import fit_case_table  # lazy: the calibration reader

    recorded = fit.attrs.get("model_sha256")
    same = model is not None and recorded and model.ir.source_hash == recorded
    table = fit_case_table(fit, fv.CASES, repo=REPO, own=True, model=model if same else None)
    if table.revisions:
        print(f"case table: {fv.CASES.name} with the revisions of {table.revisions}")
    return table.frame


def fit_mapping(fit: xr.Dataset):
    """The case -> lever mapping the fit was made with (``gvcdyn.calibrate.fitfile.fit_mapping``,
    as ``gvcdyn predict`` reads it), so that a fit with a variant mapping (the later shock's
    calibration/case_levers_v3_later.toml) is judged with it; calibration/case_levers.toml
    for a fit file that records none."""
    from gvcdyn.calibrate.cases import read_mapping
    from gvcdyn.calibrate.fitfile import fit_mapping as recorded_mapping

    if not fit.attrs.get("mapping_text"):
        return read_mapping(fv.MAPPING)
    mapping = recorded_mapping(fit)
    if mapping.path is not None and mapping.path.name != fv.MAPPING.name:
        print(f"case mapping: {mapping.path.name}, the fit's")
    return mapping


def case_design(
    model: object,
    fit_values: dict[str, float],
    cases: pd.DataFrame,
    mapping=None,
    also: tuple[str, ...] = (),
):
    """The mapped cases (``gvcdyn.calibrate.cases.apply_mapping``: the declared mapping,
    calibration/case_levers.toml by default), a parameter space over their levers and the
    constants ``also`` (left out where a lever already), with ``fit_values`` over the
    defaults as its base, and the design ``X`` (one row a case; a lever the mapping sets no
    value for, and every ``also`` column, at the base). ``also`` lets a study vary a
    constant between the rows of one batch (studies/v3_face_validity_columns.py)."""
    from gvcdyn.calibrate.cases import apply_mapping, read_mapping  # lazy, as face_validity's

    mapping = read_mapping(fv.MAPPING) if mapping is None else mapping
    table = apply_mapping(cases, mapping, model=model)
    if table.excluded:
        print(f"excluded by the mapping: {[str(issue) for issue in table.excluded]}")
    extra = [name for name in also if name not in table.levers]
    space = gvcdyn.ParameterSpace(model, [*table.levers, *extra], base=dict(fit_values))
    values = np.hstack([table.values, np.full((len(table.ids), len(extra)), np.nan)])
    X = np.where(np.isnan(values), space.base[space.columns], values)
    return table, space, X


def case_quantities(
    model: object,
    space: object,
    X: np.ndarray,
    horizon: np.ndarray,
    setting: tuple[str, float | None],
    labels: list | None = None,
) -> np.ndarray:
    """The measurement variables (``face_validity.MEASURES``, its order) of the rows of
    ``X`` over ``space``, each read at its ``horizon``: one evaluator batch at the
    integration ``setting``; failed runs refused, named by ``labels`` (row numbers by
    default)."""
    outcomes = [gvcdyn.Outcome(v, "value", at="run") for v in fv.MEASURES.values()]
    method, time_step = setting
    evaluate = model.evaluator(space, outcomes, method=method, time_step=time_step)
    Y, status = evaluate(X, times=horizon)
    if (status != 0).any():
        rows = np.flatnonzero(status).tolist()
        named = rows if labels is None else [labels[i] for i in rows]
        raise RuntimeError(f"runs failed: {named}")
    return Y


def case_frame(
    model: object,
    fit_values: dict[str, float],
    setting: tuple[str, float | None],
    cases: pd.DataFrame,
    mapping=None,
) -> pd.DataFrame:
    """Each case's measurement variables at its own horizon (face_validity.case_runs's
    runs: the declared mapping, ``fit_values`` over the defaults, one batch) at the
    integration ``setting``, joined with the observed codes of ``cases`` (``fit_cases``);
    ``mapping`` the fit's (``fit_mapping``), calibration/case_levers.toml by default."""
    table, space, X = case_design(model, fit_values, cases, mapping)
    Y = case_quantities(model, space, X, table.horizon, setting, list(table.ids))
    index = pd.Index(table.ids, name="id")
    quantities = pd.DataFrame(Y, index=index, columns=list(fv.MEASURES.values()))
    codes = fv.observed_codes(cases).apply(pd.to_numeric)  # read_case_csv's cells are text
    return quantities.join(codes.loc[index])


def face(
    model: object,
    fit_values: dict[str, float],
    setting: tuple[str, float | None],
    cases: pd.DataFrame,
    mapping=None,
) -> None:
    """Spearman rho at the fit, all cases and the subsets of ``face_subsets``; ``cases``
    and ``mapping`` the fit's (``fit_cases``, ``fit_mapping``)."""
    frame = case_frame(model, fit_values, setting, cases, mapping)
    rho = {k: spearmanr(frame[v], frame[k]).statistic for k, v in fv.MEASURES.items()}
    print(f"face validity at the fit, all {len(frame)}: "
          + " ".join(f"{k} {v:+.3f}" for k, v in rho.items()))  # fmt: skip
    for label, keep in face_subsets(frame, cases).items():
        rest = {k: spearmanr(frame.loc[keep, v], frame.loc[keep, k]).statistic
                for k, v in fv.MEASURES.items()}  # fmt: skip
        print(f"  {label} ({int(keep.sum())}): "
              + " ".join(f"{k} {v:+.3f}" for k, v in rest.items()))  # fmt: skip


def face_subsets(frame: pd.DataFrame, cases: pd.DataFrame | None = None) -> dict[str, np.ndarray]:
    """The case subsets face validity is also reported on, as masks over ``frame``'s
    rows: without the ten started cases (studies/v3_started_cases.py), without the
    low-confidence rows (the case README: "results are to be reported with and without
    the low-confidence rows"), and without both."""
    cases = pd.read_csv(fv.CASES) if cases is None else cases  # revisions keep confidence
    confidence = cases.set_index("id")["confidence"].reindex(frame.index)
    not_started = ~frame.index.isin(STARTED)
    not_low = (confidence != "low").to_numpy()
    return {
        f"without the {int((~not_started).sum())} started cases": not_started,
        f"without the {int((~not_low).sum())} low-confidence rows": not_low,
        "without both": not_started & not_low,
    }


def lhs_levers(
    model: object, n: int, seed: int, levers: tuple[str, ...] = ls.LEVERS
) -> pd.DataFrame:
    """``n`` Latin-hypercube settings of ``levers`` (lever_sweeps.LEVERS) over their
    documented ranges."""
    unit = qmc.LatinHypercube(d=len(levers), seed=seed).random(n)
    lo = np.array([model.parameter(p).minimum for p in levers])
    hi = np.array([model.parameter(p).maximum for p in levers])
    return pd.DataFrame(lo + unit * (hi - lo), columns=list(levers))


def sweeps(model: object, fit_values: dict[str, float], setting: tuple[str, float | None]) -> None:
    """One lever at a time and over 200 LHS settings, at the fit and its integration
    ``setting``; the seeds' signs."""
    defaults = {p: model.parameter(p).default for p in ls.LEVERS}
    backgrounds = {
        "defaults": pd.DataFrame([defaults]),
        "shock": pd.DataFrame([{**defaults, **SHOCK}]),
        "LHS": lhs_levers(model, 200, seed=10),
    }
    outs = sorted({row[3] for row in SEED_SIGNS})
    print("lever sweeps at the fit (year 40, or the mean over the run for SPEED's claims): "
          "one at a time from the defaults | from the defaults with a shock 0.8 in year 5 "
          "| 200 LHS settings: share with the seeds' "
          "sign (mean change; settings with the other sign, how many of them have the "
          "trigger in the run's last years and how many of all settings do, the rest "
          "tied)")  # fmt: skip
    for lever, low, high in dict.fromkeys((r[0], r[1], r[2]) for r in SEED_SIGNS):
        tables, sizes = [], []
        for base in backgrounds.values():
            # the estimates first, so that a swept lever that is also estimated is swept
            at_fit = base.assign(**fit_values)
            tables += [at_fit.assign(**{lever: low}), at_fit.assign(**{lever: high})]
            sizes.append(len(base))
        table = pd.concat(tables).reset_index(drop=True)
        method, time_step = setting
        ds = model.run(table, method=method, time_step=time_step, saveper=1.0, variables=outs)
        for row in (r for r in SEED_SIGNS if r[0] == lever):
            _, _, _, out, sign, source = row
            values = claim_values(ds, lever, out)
            parts, level_parts, start = [], [], 0
            level = ds[out].sel(time=40).values
            for size, base in zip(sizes, backgrounds.values(), strict=True):
                diff = values[start + size : start + 2 * size] - values[start : start + size]
                at_40 = level[start + size : start + 2 * size] - level[start : start + size]
                start += 2 * size
                with_sign = (sign * diff > EPS).mean()
                against = sign * diff < -EPS  # the rest are ties (|diff| <= EPS)
                # how many of those read the trigger's first years: a start or shock in
                # the run's last LATE_TRIGGER years is measured before it has played out
                # (models/gvc_upgrading_v3.md, thirteenth step; every hypercube setting has a shock,
                # so counting shocks, as this did before, told nothing there)
                late = base["Shock Year"].to_numpy() > 40 - LATE_TRIGGER
                parts.append(
                    f"{with_sign:.0%} ({diff.mean():+.3f}; {int(against.sum())} against, "
                    f"{int((against & late).sum())} with the trigger in the last "
                    f"{LATE_TRIGGER:g} years, as are {int(late.sum())} of {size})"
                )
                level_parts.append(f"{(sign * at_40 > EPS).mean():.0%}")
            head = f"{lever} {low:g} -> {high:g}, {out} ({claim_measure(lever, out)})"
            seeds = f"seeds {'+' if sign > 0 else '-'} [{source}]"
            print(f"  {head}, {seeds}: " + " | ".join(parts), flush=True)
            if (lever, out) in SPEED:
                print(f"    the level at year 40 instead: {' | '.join(level_parts)}")


def no_margin_share(
    model: object, fit_values: dict[str, float], setting: tuple[str, float | None]
) -> float:
    """The share of the 200 LHS settings of ``sweeps`` whose Cluster Margin is gone by
    year 40 (at most 1e-9): where the race has squeezed the margin that finances
    functional upgrading [S s.5], printed beside the sweeps."""
    table = lhs_levers(model, 200, seed=10).assign(**fit_values)
    method, time_step = setting
    ds = model.run(
        table, method=method, time_step=time_step, saveper=1.0, variables=["Cluster Margin"]
    )
    share = float((ds["Cluster Margin"].sel(time=40).values <= 1e-9).mean())
    print(f"LHS settings with no cluster margin left at year 40: {share:.1%}")
    return share


def posterior(path: Path) -> None:
    """Posterior median and 95% interval per constant; the convergence attributes."""
    with xr.open_dataset(path) as ds:
        fit = ds.load()
    attrs = {k: v for k, v in fit.attrs.items() if k.startswith("posterior_")}
    print("posterior: " + "; ".join(f"{k[10:]} {v}" for k, v in attrs.items()))
    print(f"  its fit: objective {float(fit.attrs['objective']):.3f}")
    draws = fit["posterior_draw"]
    kept = draws.stack(sample=("chain", "draw"))
    for name in draws["parameter"].values:
        q = np.quantile(kept.sel(parameter=name).values, [0.025, 0.5, 0.975])
        est = float(fit["estimate"].sel(parameter=name))
        print(f"  {name}: estimate {est:.4g}, posterior {q[1]:.4g} [{q[0]:.4g}, {q[2]:.4g}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fit", nargs="?", default=str(REPO / "results" / "fit_v3.nc"))
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--skip-checks", action="store_true")
    parser.add_argument("--posterior", help="fit file with posterior draws")
    args = parser.parse_args()
    fit_path = Path(args.fit)
    with xr.open_dataset(fit_path) as ds:
        fit = ds.load()
    fit_values = estimates(fit, fit_config(fit))
    if args.posterior:
        posterior(Path(args.posterior))
    crossval(fit)
    setting = fit_setting(fit_path)
    step = "the model's own" if setting[1] is None else f"{setting[1]:g}"
    print(f"runs at the fit's integration: {setting[0]}, time step {step}")
    model = gvcdyn.load(V3)
    face(model, fit_values, setting, fit_cases(fit, model), fit_mapping(fit))
    sweeps(model, fit_values, setting)
    no_margin_share(model, fit_values, setting)
    if not args.skip_checks:
        checks_at_fit(model, fit_path, args.draws)


if __name__ == "__main__":
    main()
