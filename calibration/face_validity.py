"""Face validity of the GVC upgrading model before any fitting (issue 10).

With the declared case -> lever mapping (``case_levers.toml``) and the model's default
parameters, each of the 41 coded cases is run (one compiled batch) and its four
measurement variables are read at the case's own period length. The script prints the
Spearman rank correlation of each with the observed code (``outcome_class``,
``functional_upg``, ``process_upg``, ``product_upg``) and draws the scatter plot in
``face_validity.png``. A model whose quantities rank the cases the wrong way round would
be fitted to a wrong structure, so this is checked before calibration.

Usage: python calibration/face_validity.py [--out PATH]
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import spearmanr

HERE = Path(__file__).resolve().parent
MAPPING = HERE / "case_levers.toml"
CASES = HERE / "gvc_cases.csv"

#: Observed code -> the model's measurement variable it is read from (models/README.md).
MEASURES = {
    "outcome_class": "Cluster Market Position",
    "functional_upg": "Functional Upgrading",
    "process_upg": "Process Upgrading",
    "product_upg": "Product Upgrading",
}
OUTCOME_ORDER = ("decline", "treadmilling", "incremental", "leap-forward")


def case_runs(params: Mapping[str, float] | None = None) -> tuple[Any, Any]:
    """The mapped cases (``gvcdyn.calibrate.cases``, the reader calibration uses) and
    their measurement variables read at each case's own horizon, all cases in one batch
    through the evaluator seam (``Outcome(name, "value", at="run")``)."""
    import gvcdyn
    from gvcdyn.calibrate.cases import apply_mapping, read_case_csv, read_mapping

    mapping = read_mapping(MAPPING)
    model = gvcdyn.load(mapping.model)
    table = apply_mapping(read_case_csv(CASES), mapping, model=model)
    space = gvcdyn.ParameterSpace(model, table.levers, base=dict(params or {}) or None)
    base = space.base[space.columns]
    X = np.where(np.isnan(table.values), base, table.values)  # NaN: lever not set by the case
    outcomes = [gvcdyn.Outcome(v, "value", at="run") for v in MEASURES.values()]
    Y, status = model.evaluator(space, outcomes)(X, times=table.horizon)
    if (status != 0).any():
        raise RuntimeError(f"runs failed: {[table.ids[i] for i in np.flatnonzero(status)]}")
    return table, pd.DataFrame(
        Y, index=pd.Index(table.ids, name="id"), columns=list(MEASURES.values())
    )


def rho_under_draws(n: int, spread: float, seed: int = 20261201) -> pd.DataFrame:
    """Spearman rho per outcome for ``n`` draws of all non-lever constants within
    +-``spread`` of their defaults (clipped to their ranges): n x 41 runs in ONE batch.

    Face validity that holds only at the defaults would say little; this shows how far
    the ranking depends on the unestimated constants.
    """
    import gvcdyn
    from gvcdyn.calibrate.cases import apply_mapping, read_case_csv, read_mapping

    mapping = read_mapping(MAPPING)
    model = gvcdyn.load(mapping.model)
    table = apply_mapping(read_case_csv(CASES), mapping, model=model)
    levers = set(table.levers) | set(mapping.canonical(model).unmapped)
    constants = [
        p
        for p in model.parameters
        if p.name not in levers
        and p.minimum < p.maximum
        and p.name not in ("FINAL TIME", "INITIAL TIME", "SAVEPER", "TIME STEP")
    ]
    space = gvcdyn.ParameterSpace(model, [*table.levers, *(p.name for p in constants)])
    rng = np.random.default_rng(seed)
    defaults = np.array([p.default for p in constants])
    low = np.array([p.minimum for p in constants])
    high = np.array([p.maximum for p in constants])
    draws = np.clip(defaults * (1 + rng.uniform(-spread, spread, (n, len(constants)))), low, high)
    lever_base = space.base[space.columns[: len(table.levers)]]
    cases = np.where(np.isnan(table.values), lever_base, table.values)
    C = len(table)
    X = np.hstack([np.tile(cases, (n, 1)), np.repeat(draws, C, axis=0)])
    outcomes = [gvcdyn.Outcome(v, "value", at="run") for v in MEASURES.values()]
    Y, status = model.evaluator(space, outcomes)(X, times=np.tile(table.horizon, n))
    obs = observed_codes(pd.read_csv(CASES)).loc[list(table.ids)]
    rows = []
    for d in range(n):
        y = Y[d * C : (d + 1) * C]
        ok = (status[d * C : (d + 1) * C] == 0).all()
        rows.append(
            {
                code: spearmanr(y[:, j], obs[code]).statistic if ok else np.nan
                for j, code in enumerate(MEASURES)
            }
        )
    return pd.DataFrame(rows)


def observed_codes(cases: pd.DataFrame) -> pd.DataFrame:
    """The observed ordinal codes as numbers (outcome_class 0..3 in its order)."""
    codes = cases.set_index("id")[list(MEASURES)].copy()
    codes["outcome_class"] = codes["outcome_class"].map(OUTCOME_ORDER.index)
    return codes


def face_validity(params: Mapping[str, float] | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """Model quantities and observed codes per case, and Spearman rho per outcome."""
    table, model = case_runs(params)
    if table.excluded:
        print(f"excluded by the mapping: {[str(issue) for issue in table.excluded]}")
    obs = observed_codes(pd.read_csv(CASES)).loc[model.index]
    frame = model.join(obs)
    rho = pd.Series(
        {k: spearmanr(frame[v], frame[k]).statistic for k, v in MEASURES.items()}, name="rho"
    )
    return frame, rho


def plot(frame: pd.DataFrame, rho: pd.Series, out: Path) -> None:
    """One panel per outcome: model quantity (x) against the observed code (y, jittered)."""
    fig, axes = plt.subplots(1, len(MEASURES), figsize=(4.0 * len(MEASURES), 3.6))
    rng = np.random.default_rng(0)
    for ax, (code, var) in zip(axes, MEASURES.items(), strict=True):
        y = frame[code].to_numpy(dtype=float) + rng.uniform(-0.12, 0.12, len(frame))
        ax.scatter(frame[var], y, s=18, alpha=0.7)
        ax.set_xlabel(f"{var} at the case's period end [Dmnl]", fontsize=8)
        labels = OUTCOME_ORDER if code == "outcome_class" else ("0 none", "1 some", "2 strong")
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.set_title(f"{code}: Spearman rho = {rho[code]:.2f} (n = {len(frame)})", fontsize=9)
        ax.grid(alpha=0.3)
    fig.suptitle("Face validity: default parameters, declared case -> lever mapping", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)


def main() -> None:
    """Command-line entry: print the Spearman correlations and write the scatter plot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "face_validity.png")
    parser.add_argument(
        "--draws", type=int, default=0, help="also: rho over N draws of the non-lever constants"
    )
    parser.add_argument("--spread", type=float, default=0.2, help="+- fraction for --draws")
    args = parser.parse_args()
    frame, rho = face_validity()
    print(f"{len(frame)} cases, default parameters, declared mapping (case_levers.toml)")
    for code, var in MEASURES.items():
        print(f"  {code:15s} <- {var:24s} Spearman rho = {rho[code]:+.3f}")
    plot(frame, rho, args.out)
    print(f"wrote {args.out}")
    if args.draws:
        rhos = rho_under_draws(args.draws, args.spread)
        print(f"{args.draws} draws of the non-lever constants within +-{args.spread:.0%}:")
        for code in MEASURES:
            r = rhos[code]
            print(
                f"  {code:15s} rho median {r.median():+.3f}, 5-95% [{r.quantile(0.05):+.3f}, "
                f"{r.quantile(0.95):+.3f}], > 0.3 in {(r > 0.3).mean():.0%}"
            )


if __name__ == "__main__":
    main()
