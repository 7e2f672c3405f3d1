"""Write a calibration report (and its profile plot) from a fit file.

    python calibration/report.py [results/fit.nc] [--out results/calibration_report.md]
    python calibration/report.py FIT --tracked     # regenerates calibration/report.md

A run writes under ``results/`` of the current directory (or where ``--out`` says). The
project's report, ``calibration/report.md``, is tracked in git and is regenerated only
on purpose, with ``--tracked``, from a fit with cross-validation (``gvcdyn calibrate
--crossval``): its cross-validation section must not be lost to a quick run.

Everything in the report is computed from the fit file (written by
``gvcdyn calibrate calibration/config.toml --out results/fit.nc [--crossval]``) and the
case table it names: estimates with intervals, profiles, identifiability, observed vs
predicted per case, the cross-validation table (when the fit has one), contrasts that
bear on the seeds' claims, and the cases the model gets most wrong.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from scipy.stats import spearmanr

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
#: The project's report, tracked in git: written only with --tracked.
TRACKED = HERE / "report.md"
#: Where a run writes by default, relative to the current directory.
DEFAULT_OUT = Path("results") / "calibration_report.md"


def fmt(x: float, digits: int = 3) -> str:
    return "" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}g}"


def table(frame: pd.DataFrame) -> str:
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in frame.iterrows():
        lines.append("| " + " | ".join(str(v) for v in row.to_numpy()) + " |")
    return "\n".join(lines)


def profile_plot(ds: xr.Dataset, path: Path) -> None:
    names = [str(n) for n in ds["parameter"].values]
    cols = min(3, len(names))
    rows = int(np.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    for i, name in enumerate(names):
        ax = axes[i // cols][i % cols]
        x = ds["profile_value"].values[i]
        y = ds["profile_delta"].values[i]
        keep = ~np.isnan(x)
        ax.plot(x[keep], y[keep], "o-", color="C0")
        ax.axhline(1.92, color="C3", lw=0.8, ls="--")
        ax.axvline(ds["estimate"].values[i], color="k", lw=0.8)
        ax.set_title(name, fontsize=9)
        ax.set_ylabel("objective - min")
    for j in range(len(names), rows * cols):
        axes[j // cols][j % cols].axis("off")
    fig.suptitle("Profile likelihoods (dashed: 95% threshold 1.92)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def claim_groups(cases: pd.DataFrame) -> dict[str, np.ndarray]:
    """Groups of cases the seeds make claims about (only those the case table can form)."""
    col = cases.get
    groups: dict[str, np.ndarray] = {}
    if col("governance") is not None:
        captive = cases["governance"].isin(["captive", "hierarchy"]).to_numpy()
        groups["captive or hierarchy chain [S sec.5: hinders functional upgrading]"] = captive
        groups["market, balanced or national chain"] = ~captive
    if col("end_market") is not None:
        groups["national end market [S sec.6: room to experiment]"] = (
            cases["end_market"] == "national"
        ).to_numpy()
    if col("trigger") is not None:
        shock = cases["trigger"].str.startswith("shock").to_numpy()
        groups["shock trigger [PF]"] = shock
        learn = [c for c in cases.columns if c.startswith("learn_")]
        if learn:
            weak = cases[learn].apply(pd.to_numeric, errors="coerce").sum(axis=1) <= 1
            groups["shock with weak learning sources (at most one coded)"] = shock & weak.to_numpy()
        groups["buyer-, state- or FDI-led start"] = ~shock
    if col("state_participation") is not None:
        groups["high state participation [PF]"] = (
            cases["state_participation"] == "high"
        ).to_numpy()
    return groups


def expected_level(prob: np.ndarray) -> np.ndarray:
    levels = np.arange(prob.shape[-1])
    return np.nansum(prob * levels, axis=-1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("fit", nargs="?", type=Path, default=Path("results") / "fit.nc")
    parser.add_argument(
        "--out", type=Path, help="report to write (default: results/calibration_report.md)"
    )
    parser.add_argument(
        "--tracked",
        action="store_true",
        help=f"regenerate the project's tracked report {TRACKED.relative_to(REPO)} (on "
        "purpose; the fit must have cross-validation)",
    )
    args = parser.parse_args()
    if args.tracked and args.out is not None:
        parser.error(f"--tracked writes {TRACKED.relative_to(REPO)}; give --tracked or --out")
    args.out = TRACKED if args.tracked else (args.out or DEFAULT_OUT)
    if not args.fit.is_file():
        parser.error(
            f"fit file {args.fit} not found: write it with "
            "'gvcdyn calibrate calibration/config.toml --out results/fit.nc'"
        )
    ds = xr.load_dataset(args.fit)
    if args.tracked and "cv_score" not in ds:
        parser.error(
            f"{args.fit} has no cross-validation, which {TRACKED.relative_to(REPO)} reports: "
            "refit with 'gvcdyn calibrate ... --crossval' (or write elsewhere with --out)"
        )
    out_dir = args.out.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_name = args.out.stem + "_profiles.png"
    levels = json.loads(ds.attrs["outcome_levels"])
    quantity = json.loads(ds.attrs["outcome_quantity"])
    scales = json.loads(ds.attrs["outcome_scale"])
    outcomes = [str(o) for o in ds["outcome"].values]
    names = [str(n) for n in ds["parameter"].values]
    cases = pd.read_csv(ds.attrs["case_file"], dtype=str, keep_default_na=False).set_index("id")
    ids = [str(c) for c in ds["case"].values]
    cases = cases.loc[ids]
    md: list[str] = []
    add = md.append

    add("# Calibration report: GVC upgrading model vs the case library\n")
    add(
        f"Generated by `python calibration/report.py {args.fit}"
        f"{' --tracked' * args.tracked}` from a fit made by "
        f"`{ds.attrs['command_line']}` on {ds.attrs['created']} (gvcdyn "
        f"{ds.attrs['gvcdyn_version']}). Model SHA-256 `{ds.attrs['model_sha256'][:16]}...`, "
        f"case file SHA-256 `{ds.attrs['case_file_sha256'][:16]}...`; {len(ids)} cases, "
        f"{ds.attrs['n_runs']:,} model runs; DE seeds {ds.attrs['seeds']}, bootstrap seed "
        f"{ds.attrs['bootstrap_seed']}. Convergence: {ds.attrs['message']}; polish: "
        f"{ds.attrs['polish']}.\n"
    )
    timing = json.loads(ds.attrs.get("timing", "{}"))
    if timing:
        wall = sum(v[0] for v in timing.values())
        cpu = sum(v[1] for v in timing.values())
        add(
            f"Time on this machine: {wall:.0f} s wall, {cpu:.0f} s CPU (both cores); per stage "
            + "; ".join(f"{k}: {v[0]:.0f} s wall / {v[1]:.0f} s CPU" for k, v in timing.items())
            + f". Load average at the end (1, 5, 15 min): {ds.attrs.get('load_average', '?')}"
            " (other jobs share the 2 cores).\n"
        )
    excluded = json.loads(ds.attrs["excluded_cases"])
    if excluded:
        add("Excluded by the mapping: " + "; ".join(f"{c} ({m})" for c, _, m in excluded) + "\n")

    # ---------------------------------------------------------------- estimates
    add("## Estimates\n")
    add(
        f"Objective (negative log-likelihood, cutpoints profiled out): "
        f"{ds.attrs['objective']:.3f}. Intervals: 95% profile likelihood (objective within 1.92 "
        "of its minimum; `<`/`>` = the profile never crosses 1.92 before the bound) and the "
        "2.5-97.5% percentiles of the case bootstrap (each replicate refitted from the "
        "estimate).\n"
    )
    spread = ds["start_estimate"].max("start") - ds["start_estimate"].min("start")
    rows = []
    for i, name in enumerate(names):
        lo = ("<" if ds["lower_open"].values[i] else "") + fmt(ds["lower"].values[i])
        hi = fmt(ds["upper"].values[i]) + (">" if ds["upper_open"].values[i] else "")
        boot = (
            f"[{fmt(ds['bootstrap_lower'].values[i])}, {fmt(ds['bootstrap_upper'].values[i])}]"
            if "bootstrap_lower" in ds
            else ""
        )
        rows.append(
            {
                "parameter": name,
                "estimate": fmt(ds["estimate"].values[i], 4),
                "bounds": f"[{fmt(ds['bound_low'].values[i])}, {fmt(ds['bound_high'].values[i])}]",
                "95% profile": f"[{lo}, {hi}]",
                "95% bootstrap": boot,
                "spread over DE starts": fmt(float(spread.values[i])),
                "identifiability": str(ds["identifiability"].values[i]),
            }
        )
    add(table(pd.DataFrame(rows)) + "\n")
    add(
        "DE starts: "
        + "; ".join(
            f"seed {int(s)}: objective {o:.3f}"
            for s, o in zip(ds["start_seed"].values, ds["start_objective"].values, strict=True)
        )
        + ".\n"
    )
    cut_rows = []
    for k, o in enumerate(outcomes):
        n = len(levels[o]) - 1
        cut_rows.append(
            {
                "outcome": o,
                "quantity (scale)": f"{quantity[o]} ({scales[o]:g})",
                "cutpoints on eta = quantity/scale": ", ".join(
                    fmt(c) for c in ds["cutpoint"].values[k, :n]
                ),
            }
        )
    add(table(pd.DataFrame(cut_rows)) + "\n")

    # ---------------------------------------------------------------- identifiability
    add("## Identifiability\n")
    eig = ds["fisher_eigenvalue"].values
    dups = json.loads(ds.attrs["near_duplicates"])
    unident = [
        n
        for n, s in zip(names, ds["identifiability"].values, strict=True)
        if "unidentifiable" in str(s)
    ]
    fisher = (
        f"rank {ds.attrs['fisher_rank']} of {len(names)}"
        if ds.attrs.get("fisher_valid", 1)
        else f"not valid as an information matrix ({ds.attrs.get('fisher_note', '')}), so no rank"
    )
    add(
        f"- Fisher information (Hessian of the objective in unit-scaled parameters): {fisher}; "
        f"eigenvalues {', '.join(fmt(e) for e in eig)}."
    )
    add(
        f"- Collinearity index of the case-quantity sensitivities: "
        f"{fmt(ds.attrs['collinearity_index'])} (above about 15: poorly identifiable)."
    )
    add(
        "- Near-duplicate pairs (|cosine| of sensitivity vectors > 0.95): "
        + ("; ".join(f"{a} / {b} ({c:.2f})" for a, b, c in dups) if dups else "none")
        + "."
    )
    add(
        "- Parameters the data cannot identify (profile open or flat): "
        + (", ".join(unident) if unident else "none")
        + ".\n"
    )
    if "profile_value" in ds:
        profile_plot(ds, out_dir / plot_name)
        add(f"![Profile likelihoods]({plot_name})\n")

    # ---------------------------------------------------------------- cross-validation
    if "cv_score" in ds:
        add("## Cross-validation\n")
        add(
            "Everything refitted inside each fold (parameters from fixed data-independent "
            "starts, cutpoints, both baselines). Mean held-out score with its 95% "
            "case-bootstrap interval; `diff` = baseline minus model with a paired bootstrap "
            "interval (for log-loss and RPS lower is better: a positive diff favours the "
            "model; for accuracy the reverse). `context` is a ridge ordered logit on the "
            "mapped context columns and the period length; `sparse` (when configured) the same "
            "logit on a few coded covariates of the case table (the config's "
            "[[crossval.sparse]]); `frequencies` the training level shares.\n"
        )
        for subset in ds["cv_subset"].values:
            n = int(ds["cv_n_cases"].sel(cv_subset=subset))
            add(f"### {subset} ({n} cases)\n")
            rows = []
            for scheme in ds["cv_scheme"].values:
                for outcome in ds["cv_outcome"].values:
                    for pred in ds["cv_predictor"].values:
                        sel = dict(
                            cv_subset=subset,
                            cv_scheme=scheme,
                            cv_outcome=outcome,
                            cv_predictor=pred,
                        )
                        row = {"scheme": scheme, "outcome": outcome, "predictor": pred}
                        for metric in ds["cv_metric"].values:
                            s = float(ds["cv_score"].sel(**sel, cv_metric=metric))
                            lo = float(ds["cv_score_low"].sel(**sel, cv_metric=metric))
                            hi = float(ds["cv_score_high"].sel(**sel, cv_metric=metric))
                            cell = f"{s:.3f} [{lo:.3f}, {hi:.3f}]"
                            if pred != "model":
                                dl = float(ds["cv_diff_low"].sel(**sel, cv_metric=metric))
                                dh = float(ds["cv_diff_high"].sel(**sel, cv_metric=metric))
                                cell += f"; diff [{dl:+.3f}, {dh:+.3f}]"
                            row[metric] = cell
                        rows.append(row)
            add(table(pd.DataFrame(rows)) + "\n")

    # ---------------------------------------------------------------- per case
    add("## Observed vs predicted, per case\n")
    prob = ds["probability"].values  # (case, outcome, level)
    obs = ds["observed"].values
    loo = ds.get("loo_probability")
    rows, surprise = [], np.zeros(len(ids))
    for i, cid in enumerate(ids):
        row = {"case": cid, "conf.": cases.loc[cid].get("confidence", "")}
        for k, o in enumerate(outcomes):
            n = len(levels[o])
            p = prob[i, k, :n]
            if obs[i, k] >= 0:
                surprise[i] += -np.log(max(p[obs[i, k]], 1e-12)) * ds["weight"].values[i]
                row[o] = (
                    f"{levels[o][obs[i, k]]} / {levels[o][int(np.argmax(p))]} ({p[obs[i, k]]:.2f})"
                )
        rows.append(row)
    add(
        "Each cell: observed / most probable level (probability of the observed level), in "
        "sample at the estimate.\n"
    )
    add(table(pd.DataFrame(rows)) + "\n")
    rho_rows = []
    for k, o in enumerate(outcomes):
        keep = obs[:, k] >= 0
        r = spearmanr(ds["quantity"].values[keep, k], obs[keep, k]).statistic
        rho_rows.append(
            {
                "outcome": o,
                "quantity": quantity[o],
                "Spearman rho (quantity vs observed level)": fmt(float(r)),
            }
        )
    add(table(pd.DataFrame(rho_rows)) + "\n")

    # ---------------------------------------------------------------- seeds' claims
    add("## What the fit says about the seeds' claims\n")
    add(
        "Mean observed level against the mean expected level under the fitted model "
        "(sum of level x probability), for groups of cases the seeds make claims about.\n"
    )
    exp_level = expected_level(prob)
    groups = claim_groups(cases)
    rows = []
    for label, mask in groups.items():
        row = {"group": label, "cases": int(mask.sum())}
        for k, o in enumerate(outcomes):
            keep = mask & (obs[:, k] >= 0)
            if keep.any():
                row[o] = f"{obs[keep, k].mean():.2f} / {exp_level[keep, k].mean():.2f}"
        rows.append(row)
    add("Each cell: observed / model mean level (0 = lowest level).\n")
    add(table(pd.DataFrame(rows)) + "\n")

    # ---------------------------------------------------------------- misfits
    add("## Cases the model gets most wrong\n")
    order = np.argsort(-surprise)[:8]
    rows = []
    for i in order:
        row = {
            "case": ids[i],
            "surprise (weighted -log P)": f"{surprise[i]:.2f}",
            "years": int(ds["horizon"].values[i]),
        }
        for context in ("governance", "end_market", "trigger"):
            if context in cases.columns:
                row[context] = cases.iloc[i][context]
        for k, o in enumerate(outcomes):
            if obs[i, k] >= 0:
                row[o] = f"{levels[o][obs[i, k]]} vs E={exp_level[i, k]:.1f}"
        rows.append(row)
    add(table(pd.DataFrame(rows)) + "\n")
    direction = []
    for k, o in enumerate(outcomes):
        keep = obs[order, k] >= 0
        if keep.any():
            gap = (exp_level[order, k] - obs[order, k])[keep].mean()
            direction.append(
                f"{o}: model {'above' if gap > 0 else 'below'} the observed level "
                f"by {abs(gap):.2f} on average"
            )
    add("Direction of the misfit over these cases: " + "; ".join(direction) + ".\n")
    if loo is not None:
        add(
            "Leave-one-out probability of the observed level for these cases: "
            + "; ".join(
                f"{ids[i]} "
                + ", ".join(
                    f"{o}={float(loo.values[i, c, obs[i, outcomes.index(o)]]):.2f}"
                    for c, o in enumerate(str(x) for x in loo["cv_outcome"].values)
                    if obs[i, outcomes.index(o)] >= 0
                )
                for i in order
            )
            + ".\n"
        )
    notes = HERE / "report_notes.md"
    if notes.is_file():
        add(notes.read_text())
    args.out.write_text("\n".join(md) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
