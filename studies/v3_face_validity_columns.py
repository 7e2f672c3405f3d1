"""Which case column's mechanism earns v3 its face validity, which costs it, and is the
governance lean the reason it stays below 0.6? (issue 20: Spearman rho >= 0.6 between the
model quantity at each case's horizon and the coded level, for ``outcome_class`` (Cluster
Market Position) and ``functional_upg`` (Functional Upgrading))

Why: at its reference fit v3 ranks the cases at +0.409 / +0.140, and its quantities lean
on Initial Buyer Control far more than the codes do (rank correlation about -0.66 / -0.61
against the codes' -0.19 / -0.15). studies/v3_face_validity_ceiling.py asks what an
additive reading of the context could reach at all; this script asks the model itself,
at a fit, by taking one mechanism away at a time:

1. Per mapped case column that varies over the cases: face validity with the column at
   the cases' median for every case (the column's whole contribution to the ranking
   removed: a rise says its mechanism costs face validity, a fall that it earns it).
   For a column with absent entries (0, or the value the mapping gives a case without
   the event: Later Shock Year's 40) and present entries of more than one size, a second
   reading with only the present entries at their median: the size removed, the presence
   kept. The first reading of Shock Size gives the fifteen cases without a shock (the
   ten started by buyers, foreign firms or a domestic TNC, studies/v3_started_cases.py,
   the four state-led and the one with no trigger) a shock of 0.6; the second moves only
   the two quota removals (0.8) to 0.6. Shock Year's 0 is a year (a trigger at or before
   the period start) as well as "no trigger", so its second reading moves only the later
   triggers. A constant column is skipped: it ranks nothing.
2. The governance channels: Buyer Gain Capture 0, Buyer Rent Share 0, Buyer Blocking
   Strength 0, Base Experimentation Space 1 (buyers take no gain and no rent, block
   nothing, and leave full room to experiment), each alone and all four; the race
   (Scouting Intensity 0) alone and with all four. Per row face validity and the model
   quantity's rho with the mapped Initial Buyer Control, next to the codes' rho with it:
   does a model that leans on governance as little as the codes do rank the cases better?
3. Every case read at the cases' median horizon: a diagnostic, not a measure (a case's
   code describes its own period), of how much of the ranking the period lengths carry.

What it does not say: a reading with a column at its median is not a model without the
mechanism (the other columns still act through it at the median), and the rise or fall
is in-sample at fixed estimates, not a refit. Every run is at the fit: its estimates over
the defaults, its integration, case table and mapping (v3_fit_measures' ``fit_config``,
``estimates``, ``fit_setting``, ``fit_cases``, ``fit_mapping``); each table is one
evaluator batch (v3_fit_measures.case_design and case_quantities, the runs of
``case_frame``). A fit made on a model other than models/gvc_upgrading_v3.mdl (its
recorded ``model_sha256`` differs) is refused.

    python studies/v3_face_validity_columns.py FIT
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
from gvcdyn.calibrate.cases import CaseMapping, file_sha256

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "studies"))
sys.path.insert(0, str(REPO / "calibration"))
import face_validity as fv  # noqa: E402  (sibling scripts, not packages)
import v3_fit_measures as fm  # noqa: E402

#: The coded outcomes issue 20's bar is on (their model quantities: face_validity.MEASURES).
CODES = ("outcome_class", "functional_upg")
IBC = "Initial Buyer Control"
#: v3's governance channels neutralised: buyers capture none of the cluster's gains, take
#: no rent, block no functional upgrading, and leave the base room to experiment full.
GOVERNANCE = {
    "Buyer Gain Capture": 0.0,
    "Buyer Rent Share": 0.0,
    "Buyer Blocking Strength": 0.0,
    "Base Experimentation Space": 1.0,
}
#: The race (buyers scouting for cheaper suppliers [S s.8 concern 2]) switched off.
RACE = {"Scouting Intensity": 0.0}


def absent_values(mapping: CaseMapping) -> dict[str, float]:
    """Lever -> the value the mapping gives a case without the event, where it declares
    one (a numeric map's ``missing``: Shock Year 0, Later Shock Year 40); every other
    lever's absent value is 0."""
    return {m.lever: float(m.missing) for m in mapping.maps if m.lever and m.missing is not None}


def column_variants(
    X: np.ndarray, levers: list[str], absent: dict[str, float]
) -> tuple[list[tuple[str, str, float, np.ndarray]], dict[str, str]]:
    """Per column of ``X`` (cases x ``levers``, then any further columns, left alone) that
    varies: (lever, "median", the median, ``X`` with the column at its median for every
    case); and where it has absent entries (``absent``, 0 by default) and present ones of
    more than one size, (lever, "present at median", their median, ``X`` with only those
    at it). Also the readings skipped, lever -> why: a constant column (ranks nothing),
    a column whose present entries have one size (nothing to remove: the reading would be
    the fit)."""
    variants, skipped = [], {}
    for j, lever in enumerate(levers):
        column = X[:, j]
        if np.ptp(column) == 0:
            skipped[lever] = "constant over the cases"
            continue
        whole = X.copy()
        whole[:, j] = np.median(column)
        variants.append((lever, "median", float(np.median(column)), whole))
        present = column != absent.get(lever, 0.0)
        if present.all() or not present.any():
            continue
        if np.ptp(column[present]) == 0:
            skipped[lever] = f"one size present ({column[present][0]:g}): no size to remove"
            continue
        sized = X.copy()
        sized[present, j] = np.median(column[present])
        variants.append((lever, "present at median", float(np.median(column[present])), sized))
    return variants, skipped


def rho(values: np.ndarray, other: np.ndarray) -> float:
    """Spearman rho (average ranks), as face validity is measured."""
    return float(spearmanr(values, other).statistic)


def batch(
    model: object,
    space: object,
    designs: list[np.ndarray],
    horizons: list[np.ndarray],
    setting: tuple[str, float | None],
) -> list[np.ndarray]:
    """The measurement variables of every design (cases x columns of ``space``), each read
    at its horizons: one evaluator batch (``v3_fit_measures.case_quantities``), split back."""
    Y = fm.case_quantities(model, space, np.vstack(designs), np.concatenate(horizons), setting)
    return np.split(Y, np.cumsum([len(d) for d in designs])[:-1])


def face_of(Y: np.ndarray, codes: pd.DataFrame) -> dict[str, float]:
    """Face validity per coded outcome of CODES from ``Y`` (MEASURES' column order)."""
    quantities = list(fv.MEASURES.values())
    return {c: rho(Y[:, quantities.index(fv.MEASURES[c])], codes[c]) for c in CODES}


def columns_table(
    model, space, levers, X0, horizon, setting, codes, absent
) -> tuple[pd.DataFrame, dict[str, float], dict[str, str]]:
    """Table 1: face validity per column reading and its change from the fit; the fit's
    face validity; the readings skipped and why (``column_variants``)."""
    variants, skipped = column_variants(X0, levers, absent)
    Ys = batch(model, space, [X0] + [v[3] for v in variants], [horizon] * (len(variants) + 1),
               setting)  # fmt: skip
    at_fit = face_of(Ys[0], codes)
    rows = []
    for (lever, reading, value, X), Y in zip(variants, Ys[1:], strict=True):
        face = face_of(Y, codes)
        moved = int((X != X0).any(axis=1).sum())
        row = {"lever": lever, "reading": reading, "value": value, "cases moved": moved}
        for c in CODES:
            row[c], row[f"{c} change"] = face[c], face[c] - at_fit[c]
        rows.append(row)
    return pd.DataFrame(rows), at_fit, skipped


def governance_variants() -> dict[str, dict[str, float]]:
    """Table 2's rows: the fit, each governance channel alone, all four, the race alone
    and with all four."""
    rows: dict[str, dict[str, float]] = {"fit": {}}
    for name, value in GOVERNANCE.items():
        rows[f"{name} {value:g}"] = {name: value}
    rows["all four"] = dict(GOVERNANCE)
    (race, off), = RACE.items()  # fmt: skip
    rows[f"{race} {off:g}"] = dict(RACE)
    rows[f"{race} {off:g}, all four"] = {**RACE, **GOVERNANCE}
    return rows


def governance_table(model, space, X0, horizon, setting, codes) -> pd.DataFrame:
    """Table 2: per row of ``governance_variants`` face validity and the model quantity's
    rho with the mapped Initial Buyer Control."""
    names = list(space.names)
    variants = governance_variants()
    designs = []
    for changes in variants.values():
        X = X0.copy()
        for name, value in changes.items():
            X[:, names.index(name)] = value
        designs.append(X)
    Ys = batch(model, space, designs, [horizon] * len(designs), setting)
    ibc = X0[:, names.index(IBC)]
    quantities = list(fv.MEASURES.values())
    rows = {}
    for label, Y in zip(variants, Ys, strict=True):
        row = face_of(Y, codes)
        for c in CODES:
            row[f"{c} rho IBC"] = rho(Y[:, quantities.index(fv.MEASURES[c])], ibc)
        rows[label] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def model_mismatch(fit: xr.Dataset) -> str | None:
    """Why the fit cannot be read with models/gvc_upgrading_v3.mdl (None when it can): its
    recorded model_sha256 differs from the file's."""
    recorded = fit.attrs.get("model_sha256")
    actual = file_sha256(fm.V3)
    if recorded and recorded != actual:
        return f"made on a model with sha256 {recorded[:12]}..., {fm.V3.name} is {actual[:12]}..."
    return None


def report(fit_path: Path, fit: xr.Dataset) -> dict[str, object]:
    """Run the three tables at ``fit`` (read from ``fit_path``; one batch each), print and
    return them."""
    values = fm.estimates(fit, fm.fit_config(fit))
    setting = fm.fit_setting(fit_path)
    model = gvcdyn.load(fm.V3)
    cases, mapping = fm.fit_cases(fit, model), fm.fit_mapping(fit)
    also = (*GOVERNANCE, *RACE)
    table, space, X0 = fm.case_design(model, values, cases, mapping, also=also)
    levers = list(table.levers)
    codes = fv.observed_codes(cases).apply(pd.to_numeric).loc[list(table.ids)]
    horizon = np.asarray(table.horizon, dtype=float)
    step = "the model's own" if setting[1] is None else f"{setting[1]:g}"
    print(f"{fit_path.name}: {len(table.ids)} cases, {setting[0]} time step {step}")

    columns, at_fit, skipped = columns_table(
        model, space, levers, X0, horizon, setting, codes, absent_values(mapping)
    )
    print(f"\n1. one column at the cases' median (fit: outcome_class "
          f"{at_fit['outcome_class']:+.3f}, functional_upg {at_fit['functional_upg']:+.3f}); "
          "change from the fit")  # fmt: skip
    for _, r in columns.iterrows():
        print(f"  {r['lever']:31s} {r['reading']:17s} {r['value']:<5.3g} ({r['cases moved']:2d} "
              f"cases moved): {r['outcome_class']:+.3f} ({r['outcome_class change']:+.3f}) / "
              f"{r['functional_upg']:+.3f} ({r['functional_upg change']:+.3f})")  # fmt: skip
    for lever, why in skipped.items():
        print(f"  {lever}: skipped, {why}")

    governance = governance_table(model, space, X0, horizon, setting, codes)
    ibc = X0[:, levers.index(IBC)]
    codes_ibc = {c: rho(codes[c], ibc) for c in CODES}
    print(f"\n2. governance channels: face validity | the model quantity's rho with the "
          f"mapped {IBC} (the codes': outcome_class {codes_ibc['outcome_class']:+.2f}, "
          f"functional_upg {codes_ibc['functional_upg']:+.2f})")  # fmt: skip
    for label, r in governance.iterrows():
        print(f"  {label:40s} outcome_class {r['outcome_class']:+.3f} | "
              f"{r['outcome_class rho IBC']:+.2f}; functional_upg {r['functional_upg']:+.3f} | "
              f"{r['functional_upg rho IBC']:+.2f}")  # fmt: skip

    median = float(np.median(horizon))
    (Y,) = batch(model, space, [X0], [np.full_like(horizon, median)], setting)
    at_median = face_of(Y, codes)
    print(f"\n3. every case read at the cases' median horizon {median:g} years (a diagnostic: a "
          f"case's code describes its own period): outcome_class "
          f"{at_median['outcome_class']:+.3f}, "
          f"functional_upg {at_median['functional_upg']:+.3f}")  # fmt: skip
    return {"fit": at_fit, "columns": columns, "skipped": skipped, "governance": governance,
            "codes_ibc": codes_ibc, "median_horizon": at_median}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fit", help="a v3 fit file (gvcdyn calibrate ... --out)")
    args = parser.parse_args(argv)
    fit_path = Path(args.fit)
    if not fit_path.is_file():
        parser.error(f"fit {fit_path}: no such file")
    with xr.open_dataset(fit_path) as ds:
        fit = ds.load()
    mismatch = model_mismatch(fit)
    if mismatch:
        parser.error(f"fit {fit_path}: {mismatch}")
    report(fit_path, fit)


if __name__ == "__main__":
    main()
