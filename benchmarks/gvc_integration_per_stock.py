"""The shipped GVC model's integration error per stock, at its declared setting, against a
converged run (models/README.md, "Time step: the model's integration and its error").

Why: the model runs rk23 at tolerance 1e-5 (its settings file; TIME STEP 1/64 is only the
first step). ``benchmarks/integration_accuracy.py`` chose that setting by the worst error
over all stocks; this prints the error of every stock, for the shipped setting and, for
comparison, Euler at the .mdl's TIME STEP 1/64 (what Vensim runs), at the .mdl defaults
over five designs:

- the defaults (one run);
- each scenario file of models/scenarios (one run each; each scenario is judged by its
  own run's scale, as the README's old Euler-vs-RK4 table did);
- the 41 cases of calibration/gvc_cases.csv with their mapped levers
  (calibration/case_levers.toml), the other constants at the defaults;
- ``--runs`` Latin-hypercube settings of the 18 levers (studies/lever_sweeps.py's) over
  their documented ranges (scipy's qmc, ``--seed``);
- ``--runs`` Latin-hypercube settings of every constant with a finite documented range
  (``integration_accuracy.lever_design``, the benchmark's design).

The error of a stock is the benchmark's (imported): its largest absolute deviation from
the reference at the yearly saved times over the design's runs, divided by its scale, the
largest absolute reference value over the design's runs and times. The reference is RK4
at ``--reference-step`` (1/512), itself compared with rk45 at a tolerance of 1e-10
(printed: the worst stock's error of that comparison).

    nice -n 5 python benchmarks/gvc_integration_per_stock.py [--runs 200] [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from pathlib import Path

import numpy as np
import xarray as xr

import gvcdyn

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "gvc_upgrading.mdl"
SCENARIOS = sorted((REPO / "models" / "scenarios").glob("*.toml"))
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "studies"))
import integration_accuracy as ia  # noqa: E402  (sibling script: one error measure)

#: label -> (method, TIME STEP); None: the model's own (settings file / .mdl)
SETTINGS = {"shipped": (None, None), "euler 1/64": ("euler", 1 / 64)}
Design = dict[str, np.ndarray]


def scenario(path: Path) -> Design:
    """A scenario file's lever settings as a one-run design."""
    values = tomllib.loads(path.read_text(encoding="utf-8"))["parameters"]
    return {name: np.array([float(v)]) for name, v in values.items()}


def case_design(model: gvcdyn.Model) -> Design:
    """The case library's cases with their mapped levers (calibration's mapping), the
    levers a case does not set and every other constant at the .mdl defaults."""
    from gvcdyn.calibrate.cases import apply_mapping, read_case_csv, read_mapping

    mapping = read_mapping(REPO / "calibration" / "case_levers.toml")
    table = apply_mapping(
        read_case_csv(REPO / "calibration" / "gvc_cases.csv"), mapping, model=model
    )
    design = {}
    for j, lever in enumerate(table.levers):
        column = np.asarray(table.values[:, j], dtype=float)
        design[lever] = np.where(np.isnan(column), model.parameter(lever).default, column)
    return design


def lever_lhs(model: gvcdyn.Model, runs: int, seed: int) -> Design:
    """``runs`` Latin-hypercube settings of the 18 levers over their documented ranges
    (the v3 studies' ``lhs_levers``, as columns)."""
    from v3_fit_measures import lhs_levers  # lazy: a study script, read only for this

    table = lhs_levers(model, runs, seed)
    return {p: table[p].to_numpy() for p in table.columns}


def stock_errors(run: xr.Dataset, reference: xr.Dataset, stocks: list[str]) -> dict[str, float]:
    """Each stock's error (``integration_accuracy.worst_error``'s measure, per stock)."""
    return {s: ia.worst_error(run, reference, [s])[0] for s in stocks}


def errors(
    model: gvcdyn.Model, design: Design, reference_step: float
) -> tuple[float, dict[str, tuple[dict[str, float], int]]]:
    """(reference vs rk45 at 1e-10, {setting: ({stock: error}, failed runs)})."""
    stocks = ia.stock_names(model)

    def run(method: str | None, dt: float | None) -> xr.Dataset:
        return model.run(
            design, method=method, time_step=dt, saveper=1.0, variables=stocks,
            allow_out_of_range=True,
        )  # fmt: skip

    reference = run("rk4", reference_step)
    check, _ = ia.worst_error(run("rk45:1e-10", 1 / 64), reference, stocks)
    out = {}
    for label, (method, dt) in SETTINGS.items():
        result = run(method, dt)
        out[label] = (stock_errors(result, reference, stocks), int((result["status"] != 0).sum()))
    return check, out


def designs(model: gvcdyn.Model, runs: int, seed: int) -> dict[str, list[tuple[str, Design]]]:
    """Design label -> its parts (a scenario per part for the scenario files)."""
    return {
        "defaults": [("defaults", {})],
        f"{len(SCENARIOS)} scenarios": [(p.stem, scenario(p)) for p in SCENARIOS],
        "41 cases": [("cases", case_design(model))],
        f"LHS levers x {runs}": [("lhs", lever_lhs(model, runs, seed))],
        f"LHS all x {runs}": [("lhs", ia.lever_design(model, runs, seed))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="Latin-hypercube settings")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reference-step", type=float, default=1 / 512)
    args = parser.parse_args()
    model = gvcdyn.load(MODEL)
    stocks = ia.stock_names(model)
    shipped = model.run({}, saveper=1.0, variables=stocks[:1]).attrs  # its own setting
    print(
        f"{MODEL.name}: {len(stocks)} stocks; shipped setting {shipped['method']} (first "
        f"step 1/{round(1 / shipped['time_step'])}); reference RK4 at "
        f"1/{round(1 / args.reference_step)}; load average {os.getloadavg()[0]:.1f}"
    )
    table: dict[str, dict[str, dict[str, tuple[float, str]]]] = {s: {} for s in SETTINGS}
    for label, parts in designs(model, args.runs, args.seed).items():
        checks, failed = [], dict.fromkeys(SETTINGS, 0)
        for part, design in parts:
            check, result = errors(model, design, args.reference_step)
            checks.append(check)
            for setting, (per_stock, bad) in result.items():
                failed[setting] += bad
                cell = table[setting].setdefault(label, {})
                for stock, e in per_stock.items():
                    if stock not in cell or e > cell[stock][0]:
                        cell[stock] = (e, part)
        print(
            f"{label}: reference vs rk45 1e-10 worst {max(checks):.1e}; failed runs "
            + ", ".join(f"{s} {n}" for s, n in failed.items())
        )
    for setting, cells in table.items():
        print(f"\n{setting}: max relative error per stock (%)")
        print("| stock | " + " | ".join(cells) + " |")
        print("|---" * (len(cells) + 1) + "|")
        for stock in stocks:
            row = []
            for label, cell in cells.items():
                e, part = cell[stock]
                where = f" ({part})" if "scenarios" in label else ""
                row.append(f"{100 * e:.4f}{where}")
            print(f"| {stock} | " + " | ".join(row) + " |")
        worst = [max(cell.values()) for cell in cells.values()]
        print("| worst | " + " | ".join(f"{100 * e:.4f}" for e, _ in worst) + " |")


if __name__ == "__main__":
    main()
