"""Write a calibration report (and its profile plot) from a fit file.

    python calibration/report.py [results/fit.nc] [--out results/calibration_report.md]
    python calibration/report.py FIT --tracked     # regenerates calibration/report.md

A run writes under ``results/`` of the current directory (or where ``--out`` says). The
project's report, ``calibration/report.md``, is tracked in git and is regenerated only
on purpose, with ``--tracked``, from a fit with cross-validation (``gvcdyn calibrate
--crossval``): its cross-validation section must not be lost to a quick run.

Everything in the report is computed from the fit file (written by
``gvcdyn calibrate calibration/config.toml --out results/fit.nc [--crossval]``) and the
case table it names. The sections any model's fit has (estimates with intervals,
profiles, identifiability, reality checks, cross-validation, observed vs predicted per
case) are ``gvcdyn report``'s (``gvcdyn.reports``); this script adds what the GVC model
needs: the cases' coding confidence, contrasts that bear on the seeds' claims, the cases
the model gets most wrong, and the hand-written notes (``report_notes.md``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from emcee.autocorr import integrated_time

from gvcdyn.calibrate.fitfile import fit_case_table
from gvcdyn.calibrate.posterior import convergence, inference_data
from gvcdyn.errors import CalibrationConfigError, CaseDataError
from gvcdyn.io.atomic import atomic_write
from gvcdyn.reports.build import build_report
from gvcdyn.reports.document import Report, Section, Table, Text

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
#: The project's report, tracked in git: written only with --tracked.
TRACKED = HERE / "report.md"
#: Where a run writes by default, relative to the current directory.
DEFAULT_OUT = Path("results") / "calibration_report.md"
TITLE = "Calibration report: GVC upgrading model vs the case library"


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


def _arguments() -> argparse.Namespace:
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
    args.ds = xr.load_dataset(args.fit)
    if args.tracked and "cv_score" not in args.ds:
        parser.error(
            f"{args.fit} has no cross-validation, which {TRACKED.relative_to(REPO)} reports: "
            "refit with 'gvcdyn calibrate ... --crossval' (or write elsewhere with --out)"
        )
    return args


def main() -> None:
    args = _arguments()
    ds = args.ds
    report = build_report(
        ds,
        args.out,
        source=args.fit,
        generated_by=f"python calibration/report.py {args.fit}{' --tracked' * args.tracked}",
    )
    report.title = TITLE
    try:  # a fit on a revised table is grouped by the revised codes (its case_revisions)
        cases = fit_case_table(ds, repo=REPO, own=True).frame
    except (CaseDataError, CalibrationConfigError) as exc:
        raise SystemExit(f"error: {exc}") from None
    cases = cases.set_index("id")
    cases = cases.loc[[str(c) for c in ds["case"].values]]
    add_gvc_sections(report, ds, cases)
    text = report.markdown()
    notes = HERE / "report_notes.md"
    if notes.is_file():
        text += "\n" + notes.read_text()
    atomic_write(args.out, lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"))
    print(f"wrote {args.out}")


def posterior_diagnostics(ds: xr.Dataset) -> Table:
    """Per parameter: the 95% posterior interval, the share of its bounds it spans, and
    the numbers behind the convergence verdict (ArviZ's R-hat and bulk/tail ESS with the
    walkers as chains, emcee's autocorrelation time of the kept chain, in moves), computed
    from the draws the fit keeps, so that the parameter that fails is visible."""
    idata = inference_data(ds)
    draws = ds["posterior_draw"].transpose("draw", "chain", "parameter").values
    tau = integrated_time(draws, tol=0) * int(ds.attrs.get("posterior_thin", 1))
    verdict = convergence(idata, tau=tau, kept_steps=0)
    low, high = np.percentile(draws.reshape(-1, draws.shape[-1]), [2.5, 97.5], axis=0)
    span = (high - low) / (ds["bound_high"].values - ds["bound_low"].values)
    rows = [
        [
            name,
            f"[{low[i]:.4g}, {high[i]:.4g}]",
            f"{span[i]:.0%}",
            f"{verdict.rhat[i]:.3f}",
            f"{verdict.ess_bulk[i]:.0f}",
            f"{verdict.ess_tail[i]:.0f}",
            f"{tau[i]:.1f}",
        ]
        for i, name in enumerate(verdict.names)
    ]
    return Table(
        [
            "parameter",
            "95% posterior",
            "share of bounds",
            "R-hat",
            "bulk ESS",
            "tail ESS",
            "autocorr. time (moves)",
        ],
        rows,
    )


def add_gvc_sections(report: Report, ds: xr.Dataset, cases: pd.DataFrame) -> None:
    """The GVC model's commentary: each case's coding confidence in the per-case table,
    the per-parameter posterior diagnostics, the seeds' claims, and the cases the model
    gets most wrong."""
    if "posterior_draw" in ds and report.has("posterior"):
        a = ds.attrs
        kept = int(a.get("posterior_steps", 0)) - int(a.get("posterior_burn", 0))
        report.section("posterior").add(
            Text(
                "Per parameter (thresholds: R-hat <= 1.01, bulk ESS >= 400, kept moves >= "
                f"50 autocorrelation times; {kept} moves kept):"
            ),
            posterior_diagnostics(ds),
        )
    ids = [str(c) for c in ds["case"].values]
    per_case = next(b for b in report.section("cases").blocks if isinstance(b, Table))
    per_case.insert_column(1, "conf.", [str(cases.loc[c].get("confidence", "")) for c in ids])
    levels = json.loads(ds.attrs["outcome_levels"])
    outcomes = [str(o) for o in ds["outcome"].values]
    prob, obs = ds["probability"].values, ds["observed"].values
    exp_level = expected_level(prob)

    claims = Section("claims", "What the fit says about the seeds' claims")
    claims.add(
        Text(
            "Mean observed level against the mean expected level under the fitted model "
            "(sum of level x probability), for groups of cases the seeds make claims about."
        ),
        Text("Each cell: observed / model mean level (0 = lowest level)."),
    )
    rows = []
    for label, mask in claim_groups(cases).items():
        row = [label, str(int(mask.sum()))]
        for k in range(len(outcomes)):
            keep = mask & (obs[:, k] >= 0)
            row.append(
                f"{obs[keep, k].mean():.2f} / {exp_level[keep, k].mean():.2f}" if keep.any() else ""
            )
        rows.append(row)
    claims.add(Table(["group", "cases", *outcomes], rows))
    report.add(claims)

    surprise = np.zeros(len(ids))
    for i in range(len(ids)):
        for k, o in enumerate(outcomes):
            if obs[i, k] >= 0:
                p = prob[i, k, : len(levels[o])]
                surprise[i] += -np.log(max(p[obs[i, k]], 1e-12)) * ds["weight"].values[i]
    order = np.argsort(-surprise)[:8]
    contexts = [c for c in ("governance", "end_market", "trigger") if c in cases.columns]
    rows = []
    for i in order:
        row = [ids[i], f"{surprise[i]:.2f}", str(int(ds["horizon"].values[i]))]
        row += [str(cases.iloc[i][c]) for c in contexts]
        row += [
            f"{levels[o][obs[i, k]]} vs E={exp_level[i, k]:.1f}" if obs[i, k] >= 0 else ""
            for k, o in enumerate(outcomes)
        ]
        rows.append(row)
    misfits = Section("misfits", "Cases the model gets most wrong")
    misfits.add(Table(["case", "surprise (weighted -log P)", "years", *contexts, *outcomes], rows))
    direction = []
    for k, o in enumerate(outcomes):
        keep = obs[order, k] >= 0
        if keep.any():
            gap = (exp_level[order, k] - obs[order, k])[keep].mean()
            direction.append(
                f"{o}: model {'above' if gap > 0 else 'below'} the observed level "
                f"by {abs(gap):.2f} on average"
            )
    misfits.add(Text("Direction of the misfit over these cases: " + "; ".join(direction) + "."))
    loo = ds.get("loo_probability")
    if loo is not None:
        misfits.add(
            Text(
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
                + "."
            )
        )
    report.add(misfits)


if __name__ == "__main__":
    main()
