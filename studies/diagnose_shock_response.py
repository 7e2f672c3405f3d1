"""Does the response to a shock depend on the sources of learning? (model v2.1 diagnosis)

The sensitivity study of model v2 gave every source of learning a total Sobol' index
below 0.01 for Functional Upgrading, against the claim of [PF] that what a shock of
market vulnerability leads to depends on the sources of learning. This script measures
the three things the diagnosis in ``models/README.md`` ("v2.1") rests on, for any model
file and parameter set:

1. **Shock contrast.** One cluster hit by a shock (size 0.6 in year 0, as the case
   mapping codes a shock), captive and market-based, with the sources of learning weak or
   strong as the mapping codes them (0.1 or 0.6 each; state participation 0.1 or 0.7):
   Functional Upgrading at 10 and 20 years, Cluster Market Position at 10 years, the
   upgrading search summed over the 20 years (v2: Search Effort x upgrading share of
   search; v2.1: the Upgrading Search stock), and the share of all search that is
   upgrading search 1 and 10 years after the shock, with Search Effort at 10 years.
2. **The adaptation path cut.** The same contrast on a patched copy of the model in which
   the sources no longer speed adaptation to the shock (in ``shock adaptation rate`` the
   external learning sources are replaced by 0.5, for weak and strong sources alike). If
   the sources' effect grows, that path was working against them.
3. **The design space.** 2,000 lever settings drawn as the Sobol' study draws them
   (captive scenario, Shock Year and Initial Buyer Control fixed, every other lever
   uniform over its range): how Functional Upgrading at 40 years is distributed (a
   variable at its ceiling leaves no variance for the sources), and how the combined
   innovation learning sources are distributed (1 - prod(1 - source) of three uniform
   sources is above 0.8 in most draws).

Usage::

    python studies/diagnose_shock_response.py                   # this model, its defaults
    python studies/diagnose_shock_response.py --fit results/fit.nc
    git show 4901882:models/gvc_upgrading.mdl > /tmp/gvc_v2.mdl   # model v2
    python studies/diagnose_shock_response.py --model /tmp/gvc_v2.mdl --fit OLD_FIT.nc
"""

from __future__ import annotations

import argparse
import tempfile
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

import gvcdyn

MODELS = Path(__file__).resolve().parents[1] / "models"
SOURCES = {
    "weak": {
        "Initial Institutional Capacity": 0.1,
        "Business Association Strength": 0.1,
        "University Research Strength": 0.1,
        "FDI Learning": 0.1,
        "State Participation": 0.1,
    },
    "strong": {
        "Initial Institutional Capacity": 0.6,
        "Business Association Strength": 0.6,
        "University Research Strength": 0.6,
        "FDI Learning": 0.1,
        "State Participation": 0.7,
    },
}
CHAINS = {"captive": 0.9, "market-based": 0.1}
SHOCK = {"Shock Size": 0.6, "Shock Year": 0.0, "National Market Share": 0.1, "Buyer Support": 0.7}
FIXED_IN_DESIGN = ("Initial Buyer Control", "Shock Year")


def upgrading_search(model: gvcdyn.Model, ds) -> np.ndarray:
    """The search that goes into new functions, per run and year, in either version."""
    names = {v.name for v in model.variables}
    if "Upgrading Search" in names:
        return ds["Upgrading Search"].values
    return ds["Search Effort"].values * ds["upgrading share of search"].values


def shock_contrast(model: gvcdyn.Model, base: dict[str, float]) -> pd.DataFrame:
    """Measurement 1 for one parameter set: one row per chain and source strength."""
    names = {v.name for v in model.variables}
    search = ["Search Effort", "upgrading share of search"]
    search += ["Upgrading Search"] if "Upgrading Search" in names else []
    keys, rows = [], []
    for chain, control in CHAINS.items():
        for label, sources in SOURCES.items():
            keys.append((chain, label))
            rows.append({**base, **SHOCK, **sources, "Initial Buyer Control": control})
    ds = model.run(
        pd.DataFrame(rows),
        final_time=20.0,
        saveper=1.0,
        variables=["Functional Upgrading", "Cluster Market Position", *search],
    )
    times = ds["time"].values

    def at(name: str, t: float) -> np.ndarray:
        return ds[name].values[:, times == t][:, 0]

    return pd.DataFrame(
        {
            "FU@10": at("Functional Upgrading", 10.0),
            "FU@20": at("Functional Upgrading", 20.0),
            "position@10": at("Cluster Market Position", 10.0),
            "upgrading search, sum 0-20": upgrading_search(model, ds).sum(axis=1),
            "upgrading share@1": at("upgrading share of search", 1.0),
            "upgrading share@10": at("upgrading share of search", 10.0),
            "search@10": at("Search Effort", 10.0),
        },
        index=pd.MultiIndex.from_tuples(keys, names=["chain", "sources"]),
    )


def adaptation_path_cut(model_path: Path, directory: Path) -> Path:
    """A copy of the model in which the sources of learning no longer speed adaptation
    to a shock (measurement 2); the patched equation must exist exactly once."""
    text = model_path.read_text(encoding="utf-8")
    old = "Learning Adaptation Rate*Search Effort*external learning sources"
    if text.count(old) != 1:
        raise SystemExit(f"{model_path}: the adaptation equation is not '{old}'")
    copy = directory / model_path.name
    copy.write_text(text.replace(old, "Learning Adaptation Rate*Search Effort*0.5"), "utf-8")
    return copy


def design_space(model: gvcdyn.Model, base: dict[str, float], n: int, seed: int) -> pd.DataFrame:
    """Measurement 3: Functional Upgrading at 40 years and the combined innovation
    learning sources over ``n`` lever settings drawn as the Sobol' study draws them."""
    from gvcdyn.sensitivity.levers import choose_levers

    scenario = tomllib.loads((MODELS / "scenarios" / "captive.toml").read_text())["parameters"]
    levers = [name for name in choose_levers(model).names if name not in FIXED_IN_DESIGN]
    rng = np.random.default_rng(seed)
    table = pd.DataFrame([{**base, **scenario}] * n)
    for name in levers:
        p = model.parameter(name)
        table[name] = rng.uniform(p.minimum, p.maximum, n)
    ds = model.run(
        table, saveper=1.0, variables=["Functional Upgrading", "innovation learning sources"]
    )
    return pd.DataFrame(
        {
            "FU@40": ds["Functional Upgrading"].sel(time=40.0).values,
            "innovation learning sources": ds["innovation learning sources"].sel(time=0.0).values,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=MODELS / "gvc_upgrading.mdl")
    parser.add_argument("--fit", type=Path, help="a calibration fit: use its estimates")
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    model = gvcdyn.load(args.model)
    base: dict[str, float] = {}
    if args.fit is not None:
        from gvcdyn.sensitivity.fits import fit_estimates

        base = {model.parameter(k).name: float(v) for k, v in fit_estimates(args.fit).items()}
    print(f"model {args.model}; parameters: {'fit ' + str(args.fit) if base else 'defaults'}")
    pd.set_option("display.width", 120)

    print("\n1. A shock (0.6, year 0) with weak or strong sources of learning")
    print(shock_contrast(model, base).round(3).to_string())
    print("\n2. The same with the adaptation path cut (sources replaced by 0.5 in adaptation)")
    with tempfile.TemporaryDirectory() as tmp:
        cut = gvcdyn.load(adaptation_path_cut(args.model, Path(tmp)))
        print(shock_contrast(cut, base).round(3).to_string())

    space = design_space(model, base, args.draws, args.seed)
    q = [0.05, 0.25, 0.5, 0.75, 0.95]
    print(f"\n3. The Sobol' design space, captive scenario ({args.draws} lever settings)")
    for column in space.columns:
        values = np.quantile(space[column], q).round(3).tolist()
        share = float((space[column] > 0.9).mean())
        print(f"  {column}: quantiles 5/25/50/75/95% {values}; share above 0.9: {share:.0%}")


if __name__ == "__main__":
    main()
