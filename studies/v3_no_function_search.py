"""Which v3 cases have no function-directed search at all, and four candidate equations
refitted (issue 20; models/gvc_upgrading_v3.md "Cases with no function-directed search").

Why a script: the all-41 v3 fits put Innovation Learning Rate on (or 0.8% above) its lower
bound, and face validity for ``functional_upg`` over all 41 stays near 0. This shows the
structural reason and tests, by refitting, two readings of [S sec.7]'s captive-to-balanced
path that could give those cases a route to new functions, and two more candidates
(``CANDIDATES``: one aimed at those cases, stated after the finding, one at the sweeps).
It prints

1. at a v3 fit (default ``results/fit_v3_checks_post.nc``, at the fit's integration):
   per case, the largest ``Functional Search`` over the period and ``Functional
   Upgrading`` at the period's end, at the estimate and with Innovation Learning Rate at
   its upper bound (3): cases whose Functional Search stays 0 cannot upgrade functionally
   whatever that rate, because in v3 only shocks and state-led starts direct search to new
   functions (``function pressure``), and the coded levels of those cases;
2. with ``--refit``: each candidate of ``CANDIDATES`` (an equation replaced in a copy of
   gvc_upgrading_v3.mdl, its form and source stated before it was measured) refitted with
   the fit's config without its posterior (about 77 s CPU each), and its objective,
   estimates and face validity (Spearman rho over all 41 and the 31 not started by buyers,
   foreign firms or a domestic TNC); a candidate under which no parameter set satisfies
   the checks is reported as such.

    python studies/v3_no_function_search.py [FIT] [--refit]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "calibration"))
sys.path.insert(0, str(REPO / "studies"))
import face_validity as fv  # noqa: E402  (sibling scripts, not packages)
import v3_face_validity_residuals as residuals  # noqa: E402
from v3_started_cases import STARTED  # noqa: E402

FIT = REPO / "results" / "fit_v3_checks_post.nc"
CONFIG = REPO / "calibration" / "config_v3_checks_post.toml"
#: Innovation Learning Rate's upper bound in the v3 configs.
HIGH_RATE = 3.0
#: A largest Functional Search below this counts as none (it starts at exactly 0).
NO_SEARCH = 1e-9

#: Candidate -> {equation: new right-hand side}. The first two read [S sec.7]: balanced "modular
#: production networks" have "their origin in captive networks", have "the entire range
#: of required production skills" and require "only limited innovation by the
#: suppliers"; v3's ``comprehensive capability`` is production x Innovation Capability,
#: so a captive cluster with little innovation capability cannot start the path.
CANDIDATES: dict[str, dict[str, str]] = {
    # production AND innovation (design/gvc-model.md, sector 4), on the capability scale
    # the Balancing Threshold is stated in: the geometric mean instead of the product,
    # which is far below either part when both are below 1
    "geometric_mean": {
        "comprehensive capability": (
            "((Process Capability+Product Capability)/2*Innovation Capability)^0.5"
        )
    },
    # production alone: "requiring only limited innovation" read as none
    "production_only": {"comprehensive capability": "(Process Capability+Product Capability)/2"},
    # not sec.7's path but its other half: balanced networks are "based on sharing of
    # competences and focussed on developing new products"; [S sec.4, sec.5, sec.8]'s
    # buyers that inhibit new functions are captive ones. So an adopting buyer's demands
    # direct search to new functions in the part of the relation that is not captive
    # (1 - Buyer Control); the captive part stays production-directed
    "buyer_shares_where_balanced": {
        "function pressure": (
            "1-(1-shock pressure^Search Response Exponent)*(1-state push)"
            "*(1-buyer adoption*Buyer Challenge*Production Gap*(1-Buyer Control))"
        )
    },
    # for the sweeps, not the 11: lead firms "try to prevent them acquiring such new
    # competences" [S sec.5]: blocking answers the supplier's attempts (its
    # function-directed search), not only the capability it has already gained
    "blocking_answers_attempts": {"supplier move": "Functional Search"},
}


def no_search_cases(search_max: pd.Series) -> pd.Index:
    """The cases whose function-directed search never leaves 0."""
    return search_max.index[search_max < NO_SEARCH]


def case_values(model_path: Path, params: dict[str, float], setting) -> pd.DataFrame:
    """Largest Functional Search and Functional Upgrading at each case's period end."""
    import gvcdyn
    from gvcdyn.calibrate.cases import apply_mapping, read_case_csv, read_mapping

    model = gvcdyn.load(model_path)
    table = apply_mapping(read_case_csv(fv.CASES), read_mapping(fv.MAPPING), model=model)
    space = gvcdyn.ParameterSpace(model, table.levers, base=dict(params))
    base = space.base[space.columns]
    X = np.where(np.isnan(table.values), base, table.values)
    outcomes = [
        gvcdyn.Outcome("Functional Search", "max", at="run"),
        gvcdyn.Outcome("Functional Upgrading", "value", at="run"),
    ]
    method, time_step = setting
    evaluate = model.evaluator(space, outcomes, method=method, time_step=time_step)
    Y, status = evaluate(X, times=table.horizon)
    if (status != 0).any():
        raise RuntimeError(f"runs failed: {[table.ids[i] for i in np.flatnonzero(status)]}")
    return pd.DataFrame(
        Y, index=pd.Index(table.ids, name="id"), columns=["search max", "Functional Upgrading"]
    )


def show_no_search(fit: Path) -> None:
    est = residuals.estimate(fit.name) if fit.parent == residuals.RESULTS else None
    if est is None:
        raise SystemExit(f"{fit}: give a fit file in {residuals.RESULTS}")
    setting = residuals.fit_setting(fit.name)
    cases = residuals.cases_table()
    codes = fv.observed_codes(cases.reset_index())
    at_fit = case_values(residuals.V3, est, setting)
    at_high = case_values(residuals.V3, {**est, "Innovation Learning Rate": HIGH_RATE}, setting)
    stuck = no_search_cases(at_fit["search max"])
    print(f"== {fit.name}: Innovation Learning Rate {est['Innovation Learning Rate']:.3f}")
    print(f"{len(stuck)} of {len(at_fit)} cases never search for new functions:")
    frame = pd.DataFrame(
        {
            "trigger": cases.loc[stuck, "trigger"],
            "governance": cases.loc[stuck, "governance"],
            "FU at fit": at_fit.loc[stuck, "Functional Upgrading"].round(4),
            f"FU at rate {HIGH_RATE:g}": at_high.loc[stuck, "Functional Upgrading"].round(4),
            "coded f": codes.loc[stuck, "functional_upg"],
            "coded outcome": cases.loc[stuck, "outcome_class"],
        }
    )
    print(frame.to_string())
    others = at_fit.index.difference(stuck)
    print(
        f"coded functional_upg mean: these {codes.loc[stuck, 'functional_upg'].mean():.2f}, "
        f"the other {len(others)} {codes.loc[others, 'functional_upg'].mean():.2f}; largest "
        f"|FU change| of these between the two rates "
        f"{(at_high.loc[stuck] - at_fit.loc[stuck])['Functional Upgrading'].abs().max():.1e}"
    )


def refit_candidates() -> None:
    import gvcdyn
    from gvcdyn.calibrate.config import as_config
    from gvcdyn.calibrate.study import calibrate
    from gvcdyn.errors import CalibrationInfeasibleError

    cfg = dataclasses.replace(as_config(CONFIG), posterior=None)
    cases = residuals.cases_table()
    codes = fv.observed_codes(cases.reset_index())
    with tempfile.TemporaryDirectory() as tmp:
        for name, equations in CANDIDATES.items():
            text = residuals.V3.read_text(encoding="utf-8")
            for equation, rhs in equations.items():
                text = residuals.replace_equation(text, equation, rhs)
            path = Path(tmp) / f"gvc_upgrading_v3_{name}.mdl"
            path.write_text(text, encoding="utf-8")
            try:
                ds = calibrate(cfg, model=gvcdyn.load(path))
            except CalibrationInfeasibleError as exc:
                print(f"== {name}: no feasible fit: {str(exc).splitlines()[0]}")
                continue
            est = {str(k): float(v) for k, v in ds["estimate"].to_series().items()}
            vals = residuals.case_frame(path, est, (cfg.method, cfg.time_step))
            keep = ~vals.index.isin(STARTED)
            cells = [
                f"{code} {residuals.rho(vals[var], codes.loc[vals.index, code]):+.3f} (41) "
                f"{residuals.rho(vals[var][keep], codes.loc[vals.index[keep], code]):+.3f} (31)"
                for code, var in residuals.OUTCOMES.items()
            ]
            print(f"== {name}: objective {float(ds.attrs['objective']):.4f}; " + "; ".join(cells))
            print("   " + ", ".join(f"{k} {v:.4g}" for k, v in est.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fit", nargs="?", type=Path, default=FIT)
    parser.add_argument("--refit", action="store_true")
    args = parser.parse_args()
    show_no_search(args.fit.resolve())
    if args.refit:
        refit_candidates()


if __name__ == "__main__":
    main()
