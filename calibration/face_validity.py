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
import math
import tomllib
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


def _match(mapping: Mapping[str, Any], cell: str, prefix: bool) -> Mapping[str, float] | None:
    """Lever settings for one cell: exact key, or the longest matching prefix."""
    values = mapping.get("values", {})
    if not prefix:
        return values.get(cell)
    keys = [k for k in values if cell.startswith(k)]
    return values[max(keys, key=len)] if keys else None


def case_levers(cases: pd.DataFrame, spec: Mapping[str, Any]) -> tuple[pd.DataFrame, list[str]]:
    """Apply the declared mapping: one row of lever values per mappable case.

    Returns the lever table (indexed by case id, with a ``horizon`` column in years) and
    the ids excluded by the mapping. A cell no rule covers is an error naming the case,
    the column and the value, since a silent default would hide a hole in the mapping.
    """
    case = spec["case"]
    rows, excluded = {}, []
    for _, rec in cases.iterrows():
        cid = rec[case["id"]]
        levers: dict[str, float] = {}
        skip = False
        for rule in spec["map"]:
            col = rule["column"]
            raw = rec[col]
            blank = raw is None or (isinstance(raw, float) and math.isnan(raw))
            if "lever" in rule:
                if blank:
                    value = float(rule["missing"])
                else:
                    value = float(raw) - (float(rec[rule["offset"]]) if "offset" in rule else 0)
                    if "clip" in rule:
                        lo, hi = rule["clip"]
                        value = min(max(value, lo), hi)
                levers[rule["lever"]] = value
                continue
            cell = str(int(raw)) if isinstance(raw, (int, np.integer, float)) else str(raw)
            if cell in rule.get("exclude", {}):
                skip = True
                break
            settings = _match(rule, cell, rule.get("match") == "prefix")
            if settings is None:
                raise ValueError(f"case {cid}: column {col!r} value {cell!r} has no mapping")
            levers.update({k: float(v) for k, v in settings.items()})
        if skip:
            excluded.append(cid)
            continue
        levers["horizon"] = float(rec[case["end"]] - rec[case["start"]])
        rows[cid] = levers
    return pd.DataFrame.from_dict(rows, orient="index"), excluded


def measure(table: pd.DataFrame, params: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Run every case in one batch and read the measurement variables at its horizon."""
    import gvcdyn

    spec = tomllib.loads(MAPPING.read_text(encoding="utf-8"))
    model = gvcdyn.load((MAPPING.parent / spec["model"]).resolve())
    levers = table.drop(columns="horizon")
    for name, value in (params or {}).items():
        levers[name] = value
    final = float(np.ceil(table["horizon"].max()))
    ds = model.run(
        levers.reset_index(drop=True),
        final_time=final,
        saveper=1.0,
        variables=list(MEASURES.values()),
    )
    if (ds["status"].values != 0).any():
        raise RuntimeError(f"runs failed: {np.flatnonzero(ds['status'].values)}")
    times = ds["time"].values
    idx = np.searchsorted(times, table["horizon"].to_numpy())
    out = {v: ds[v].values[np.arange(len(table)), idx] for v in MEASURES.values()}
    return pd.DataFrame(out, index=table.index)


def observed_codes(cases: pd.DataFrame) -> pd.DataFrame:
    """The observed ordinal codes as numbers (outcome_class 0..3 in its order)."""
    codes = cases.set_index("id")[list(MEASURES)].copy()
    codes["outcome_class"] = codes["outcome_class"].map(OUTCOME_ORDER.index)
    return codes


def face_validity(params: Mapping[str, float] | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """Model quantities and observed codes per case, and Spearman rho per outcome."""
    spec = tomllib.loads(MAPPING.read_text(encoding="utf-8"))
    cases = pd.read_csv(CASES)
    table, _ = case_levers(cases, spec)
    model = measure(table, params)
    obs = observed_codes(cases).loc[model.index]
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
    args = parser.parse_args()
    frame, rho = face_validity()
    print(f"{len(frame)} cases, default parameters, declared mapping (case_levers.toml)")
    for code, var in MEASURES.items():
        print(f"  {code:15s} <- {var:24s} Spearman rho = {rho[code]:+.3f}")
    plot(frame, rho, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
