"""Why v3's Cluster Market Position and Functional Upgrading do not grow with the period
length across the cases (issue 20): each case's path over 40 years at a fit, what sets the
late-period slope, and what the case table allows one to separate.

The coded outcomes follow the period length (``v3_face_validity_ceiling.py``), the model's
quantities at each case's own horizon barely. This script runs every case from its period
start for 40 years (the fit's estimates, mapping, case revisions and integration, as
``v3_fit_measures.case_frame`` runs them, saved every half year) and prints

1. each path's shape by what started the episode (peak-decay, plateau, grow, no rise), with the
   median peak, its year and the value at year 40, and the mean over the cases by year;
2. the change of Cluster Market Position from year 10 to 40, split into ln relative volume
   and ln relative unit value, and the change of ln market share split into the cluster's
   own capability and unit cost, the entrants and the established competitors (shares of
   the logit as weights; the residual is the discretisation's);
3. Spearman rho of each quantity with its code when every case is read at one year, at its
   own horizon, and at the highest value up to its horizon; and each quantity's rho with the
   period length;
4. from the case table alone: the period length's rho with the codes, partialled on the
   period start (calendar cohort) and on the local sources of learning coded present; the
   sources' rho with the codes in short and long periods; the clusters coded as two phases.

    python studies/v3_horizon_paths.py [results/fit_v3_later.nc] [--model COPY.mdl]

``--model`` runs a copy of gvc_upgrading_v3.mdl with a candidate equation at the same
estimates (not a refit).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy.stats import rankdata, spearmanr

import gvcdyn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "studies"))
import v3_fit_measures as fm  # noqa: E402  (sibling script, not a package)

CMP, FU = "Cluster Market Position", "Functional Upgrading"
OUTCOMES = {"outcome_class": CMP, "functional_upg": FU}
ORDER = ["decline", "treadmilling", "incremental", "leap-forward"]
VARIABLES = [CMP, FU, "relative volume", "relative unit value", "Market Share",
             "cluster attractiveness", "rest of world attractiveness", "entrant order share",
             "Process Capability", "Product Capability", "Wage"]  # fmt: skip
YEARS = (5, 10, 20, 30, 40)
#: Clusters the case table codes as two phases (period boundaries at an outcome change).
PHASES = (
    ("MX_TORREON_JEANS_BOOM", "MX_TORREON_JEANS_BUST"),
    ("CL_SALMON_RISE", "CL_SALMON_ISA"),
    ("MZ_CASHEW_LIB", "MZ_CASHEW_REVIVAL"),
)
LOCAL_SOURCES = ["learn_state_agency", "learn_business_assoc", "learn_univ_research"]


def run_paths(fit_path: Path, model_path: Path) -> tuple[xr.Dataset, pd.DataFrame]:
    """Every case over 40 years at the fit (estimates, revisions, mapping, integration)."""
    from gvcdyn.calibrate.cases import apply_mapping  # lazy, as v3_fit_measures'

    with xr.open_dataset(fit_path) as ds:
        fit = ds.load()
    values = {str(k): float(v) for k, v in fit["estimate"].to_series().items()}
    model = gvcdyn.load(model_path)
    cases = fm.fit_cases(fit, model)
    table = apply_mapping(cases, fm.fit_mapping(fit), model=model)
    rows = []
    for i in range(len(table.ids)):
        row = dict(values)
        row.update({lv: table.values[i, j] for j, lv in enumerate(table.levers)
                    if not np.isnan(table.values[i, j])})  # fmt: skip
        rows.append(row)
    method, time_step = fm.fit_setting(fit_path)
    paths = model.run(pd.DataFrame(rows), method=method, time_step=time_step, final_time=40,
                      saveper=0.5, variables=VARIABLES)  # fmt: skip
    paths = paths.assign_coords(run=list(table.ids))
    paths["horizon"] = ("run", table.horizon)
    cases = cases.set_index("id").loc[list(table.ids)]
    return paths, cases


def group(trigger: str) -> str:
    """What started the episode, in five groups."""
    if trigger.startswith("shock"):
        return "shock"
    if trigger.startswith("none:state"):
        return "state-led"
    if trigger.startswith(("none:FDI", "none:domestic")):
        return "FDI/TNC-led"
    return "buyer-led" if trigger.startswith("buyer-led") else "none"


def shape(x: np.ndarray, t: np.ndarray) -> str:
    """peak-decay: year 40 more than a fifth of the peak below a peak before year 30; grow:
    still rising from year 20 to 40; else plateau; no rise: never above +0.01."""
    peak = x.max()
    if peak <= 0.01:
        return "no rise"
    if peak - x[-1] > 0.2 * max(abs(peak), 0.05) and t[x.argmax()] < 30:
        return "peak-decay"
    return "grow" if x[-1] - x[t.searchsorted(20)] > 0.05 * max(abs(peak), 0.05) else "plateau"


def shapes(paths: xr.Dataset, cases: pd.DataFrame) -> None:
    t = paths["time"].values
    rows = []
    for cid in paths["run"].values:
        row = {"id": cid, "start": group(str(cases.loc[cid, "trigger"]))}
        for name in OUTCOMES.values():
            x = paths[name].sel(run=cid).values
            row |= {name: shape(x, t), f"{name} peak": x.max(),
                    f"{name} peak year": t[x.argmax()], f"{name} year 40": x[-1]}  # fmt: skip
        rows.append(row)
    frame = pd.DataFrame(rows)
    for name in OUTCOMES.values():
        print(f"\n{name}: path shapes by start (counts), medians of peak, its year, year 40")
        counts = pd.crosstab(frame["start"], frame[name])
        medians = frame.groupby("start")[[f"{name} peak", f"{name} peak year", f"{name} year 40"]]
        print(counts.join(medians.median().round(2)).to_string())
        means = [f"{float(paths[name].sel(time=y).mean()):+.3f}" for y in YEARS]
        print(f"  mean over the cases at years {YEARS}: {', '.join(means)}")


def decomposition_parts(paths: xr.Dataset, t0: float = 10.0) -> dict[str, np.ndarray]:
    """Per case, the change from ``t0`` to year 40 of CMP, ln relative volume, ln relative
    unit value and ln indicated market share, and the parts of the last:
    d ln(share) ~ (1 - s_c) d ln A_c - s_e d ln A_e - s_r d ln A_r (logit shares s)."""
    late = paths.sel(time=slice(t0, 40))
    d_cmp = late[CMP].isel(time=-1) - late[CMP].isel(time=0)
    lnvol = np.log(late["relative volume"])
    lnuv = np.log(late["relative unit value"])
    a_c = late["cluster attractiveness"].values
    a_r = late["rest of world attractiveness"].values
    e = late["entrant order share"].values
    total = (a_c + a_r) / (1 - e)
    s_c, s_e, s_r = a_c / total, e, a_r / total
    mid = lambda x: 0.5 * (x[:, 1:] + x[:, :-1])  # noqa: E731
    dln = lambda x: np.diff(np.log(x), axis=1)  # noqa: E731
    capability = 0.5 * (late["Process Capability"].values + late["Product Capability"].values)
    base = late["Base Productivity"].values[:, None]
    cost_sensitivity = late["Cost Sensitivity"].values[:, None]
    cap_sensitivity = late["Capability Sensitivity"].values[:, None]
    unit_cost = late["Wage"].values / (base + late["Process Capability"].values)
    parts = {
        "own production capability": np.sum(
            mid(1 - s_c) * cap_sensitivity * dln(capability), axis=1
        ),
        "own unit cost": np.sum(mid(1 - s_c) * -cost_sensitivity * dln(unit_cost), axis=1),
        "entrants": -np.sum(mid(s_e) * dln(e * total), axis=1),
        "established competitors": -np.sum(mid(s_r) * dln(a_r), axis=1),
    }
    return {
        CMP: d_cmp.values,
        "ln relative volume": (lnvol.isel(time=-1) - lnvol.isel(time=0)).values,
        "ln relative unit value": (lnuv.isel(time=-1) - lnuv.isel(time=0)).values,
        "ln indicated market share": np.log(s_c[:, -1] / s_c[:, 0]),
        **parts,
    }


def decomposition(paths: xr.Dataset, t0: float = 10.0) -> None:
    """Mean change from ``t0`` to year 40: CMP = ln relative volume + ln relative unit value;
    ln indicated market share by its parts (``decomposition_parts``)."""
    d = decomposition_parts(paths, t0)
    share = d.pop("ln indicated market share")
    cmp_, vol, uv = d.pop(CMP), d.pop("ln relative volume"), d.pop("ln relative unit value")
    print(f"\nmean change from year {t0:g} to 40 over the {paths.sizes['run']} cases:")
    mean = np.nanmean  # as xarray's mean (skips NaN), which this line used
    print(f"  {CMP} {mean(cmp_):+.3f} = ln relative volume {mean(vol):+.3f} "
          f"+ ln relative unit value {mean(uv):+.3f}")  # fmt: skip
    print(f"  ln indicated market share {share.mean():+.3f}: "
          + ", ".join(f"{k} {v.mean():+.3f}" for k, v in d.items())
          + f" (residual {(share - sum(d.values())).mean():+.3f})")  # fmt: skip


def at_horizon(x: np.ndarray, t: np.ndarray, horizon: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each path (runs x time, saved at ``t``) at its own horizon (interpolated), and its
    highest value up to that horizon."""
    at_h = np.array([np.interp(h, t, xi) for h, xi in zip(horizon, x, strict=True)])
    best = np.array([xi[t <= h].max() for h, xi in zip(horizon, x, strict=True)])
    return at_h, best


def reading_times(paths: xr.Dataset, cases: pd.DataFrame) -> None:
    codes = {"outcome_class": cases["outcome_class"].map(ORDER.index).to_numpy(),
             "functional_upg": pd.to_numeric(cases["functional_upg"]).to_numpy()}  # fmt: skip
    t, horizon = paths["time"].values, paths["horizon"].values
    print(
        "\nSpearman rho with the code, every case read at one year | own horizon | highest "
        "value up to its horizon; and the quantity at its horizon against the period length"
    )
    for code, name in OUTCOMES.items():
        x = paths[name].values
        fixed = [f"{y}: {spearmanr(x[:, t.searchsorted(y)], codes[code]).statistic:+.2f}"
                 for y in YEARS]  # fmt: skip
        at_h, best = at_horizon(x, t, horizon)
        print(f"  {code} ({name}): years {', '.join(fixed)} | "
              f"{spearmanr(at_h, codes[code]).statistic:+.3f} | "
              f"{spearmanr(best, codes[code]).statistic:+.3f}; "
              f"with period length {spearmanr(at_h, horizon).statistic:+.3f}")  # fmt: skip


def partial_rho(x: np.ndarray, y: np.ndarray, controls: list[np.ndarray]) -> float:
    """Spearman rho of x and y with the ranks of ``controls`` regressed out of both."""
    z = np.column_stack([np.ones(len(x))] + [rankdata(c) for c in controls])
    rx, ry = rankdata(x), rankdata(y)
    rx = rx - z @ np.linalg.lstsq(z, rx, rcond=None)[0]
    ry = ry - z @ np.linalg.lstsq(z, ry, rcond=None)[0]
    return float(np.corrcoef(rx, ry)[0, 1])


def case_table(cases: pd.DataFrame) -> None:
    start = pd.to_numeric(cases["period_start"]).to_numpy()
    length = pd.to_numeric(cases["period_end"]).to_numpy() - start
    sources = cases[LOCAL_SOURCES].apply(pd.to_numeric).sum(axis=1).to_numpy()
    codes = {"outcome_class": cases["outcome_class"].map(ORDER.index).to_numpy(),
             "functional_upg": pd.to_numeric(cases["functional_upg"]).to_numpy()}  # fmt: skip
    print(f"\ncase table ({len(cases)} rows): period length against period start, rho "
          f"{spearmanr(length, start).statistic:+.2f}")  # fmt: skip
    for code, y in codes.items():
        print(f"  {code}: rho with length {spearmanr(length, y).statistic:+.3f}; partial on "
              f"start {partial_rho(length, y, [start]):+.3f}, on local sources "
              f"{partial_rho(length, y, [sources]):+.3f}, on both "
              f"{partial_rho(length, y, [start, sources]):+.3f}")  # fmt: skip
    for label, keep in (("<= 12 years", length <= 12), (">= 13 years", length >= 13)):
        rhos = ", ".join(f"{code} {spearmanr(sources[keep], y[keep]).statistic:+.2f}"
                         for code, y in codes.items())  # fmt: skip
        print(f"  local sources present (0-3) against the codes, periods {label} "
              f"({int(keep.sum())}): {rhos}")  # fmt: skip
    lengths = pd.Series(length, index=cases.index)
    for label in ORDER:
        rows = (cases["outcome_class"] == label).to_numpy()
        print(f"  {label}: {int(rows.sum())} rows, period length {length[rows].min()}-"
              f"{length[rows].max()} years, median {np.median(length[rows]):g}")  # fmt: skip
    for first, second in PHASES:
        print("  two phases: " + " | ".join(
            f"{cid} {cases.loc[cid, 'period_start']}-{cases.loc[cid, 'period_end']} "
            f"({lengths[cid]} years) {cases.loc[cid, 'outcome_class']}"
            for cid in (first, second)))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fit", nargs="?", default=str(REPO / "results" / "fit_v3_later.nc"))
    parser.add_argument("--model", default=str(fm.V3), help="a copy of v3 with a candidate")
    args = parser.parse_args()
    for label, path in (("fit", args.fit), ("--model", args.model)):
        if not Path(path).is_file():
            parser.error(f"{label} {path}: no such file")
    paths, cases = run_paths(Path(args.fit), Path(args.model))
    print(f"model {Path(args.model).name} at {Path(args.fit).name}")
    shapes(paths, cases)
    decomposition(paths)
    reading_times(paths, cases)
    case_table(cases)


if __name__ == "__main__":
    main()
