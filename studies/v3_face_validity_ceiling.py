"""How high can face validity go on this case table, for a score that reads the case
context the way the seeds do? (issue 20: Spearman rho >= 0.6 for ``outcome_class`` and
``functional_upg`` at the fit)

Why: ten steps moved v3's face validity from about 0 to +0.376 / +0.167 without reaching
0.6, and the diagnoses (models/gvc_upgrading_v3.md, "Why face validity stays below 0.6") point at
the codes rather than at one mechanism. This script asks the question without the model:
over the same case context the model sees (each case's mapped lever values, as
``gvcdyn.calibrate.cases.apply_mapping`` gives them, and its period length), what is the
largest in-sample Spearman rho any *additive* score ``sum_k w_k x_k`` reaches

- with free weights (the most a linear reading of the context can rank, fitted to the
  codes themselves, 41 cases and a dozen weights: an optimistic ceiling), and
- with the seeds' signs: every lever ``v3_fit_measures.SEED_SIGNS`` gives a direction on
  the outcome's model quantity (Functional Upgrading for ``functional_upg``, Cluster
  Market Position for ``outcome_class``) gets a weight of that sign or 0; the rest stay
  free.

The same two ceilings over a sparse reading of the context: the sparse baseline's
covariates of calibration/config_v3_later.toml (kind of start, captive governance, number
of sources of learning present; ``SPARSE_SIGNS`` gives the seeds' sign of each) and the
period length. Fewer weights, so less room to fit the codes by chance.

It also prints, per context column, the rank correlation of its value with the coded
level, next to the seeds' sign and (given a fit) to its rank correlation with the
model's quantity at the fit: where the codes and the seeds disagree, a model that follows
the seeds gives up that part of the codes' ranking; where the model leans on a column
much more or less than the codes do, that column's mechanism is where its ranking goes
wrong.

What it is not: a bound on v3. The model is not additive (a shock's effect depends on
the sources of learning present [PF], the start's on governance [S s.5]), so it can rank
cases no additive score can, and it is fitted on a likelihood, not on rho. The ceiling
says how far the bar is from what the case context, read additively and in the seeds'
directions, can explain at all.

The search: the sign-bounded least-squares fit of the outcome's ranks on the standardised
context (``scipy.optimize.lsq_linear``) as the first point, then a seeded random local
search on rho itself, kept inside the sign cone; several restarts. Deterministic for a
seed. The lever values come from the fit's mapping and case table when ``FIT`` is given
(the mapping and revisions it records), from calibration/case_levers_v3_later.toml and
the revised table otherwise.

    python studies/v3_face_validity_ceiling.py [results/fit_v3_later.nc] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy.optimize import lsq_linear
from scipy.stats import rankdata, spearmanr

import gvcdyn
from gvcdyn.calibrate.cases import CaseMapping, apply_mapping, read_mapping
from gvcdyn.calibrate.config import load_config
from gvcdyn.calibrate.crossval import covariate_columns
from gvcdyn.calibrate.fitfile import read_fit
from gvcdyn.calibrate.revisions import read_revised_cases
from gvcdyn.errors import CalibrationConfigError

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "studies"))
sys.path.insert(0, str(REPO / "calibration"))
import face_validity as fv  # noqa: E402  (sibling scripts, not packages)
import v3_fit_measures as fm  # noqa: E402
from v3_fit_measures import SEED_SIGNS, V3  # noqa: E402

PERIOD = "period length"
CONFIG = REPO / "calibration" / "config_v3_later.toml"

#: The seeds' sign of each sparse covariate (its name in CONFIG's [[crossval.sparse]])
#: on each coded outcome, with the section; a covariate the seeds do not sign on an
#: outcome is left free there.
SPARSE_SIGNS = {
    "buyer-led start": {"functional_upg": (-1, "S s.5, s.8")},
    "FDI- or TNC-led start": {"functional_upg": (-1, "S s.8 concern 3; PF")},
    "state-led start": {"functional_upg": (+1, "PF")},
    "captive governance": {"functional_upg": (-1, "S s.5, s.8")},
    "sources of learning present": {"functional_upg": (+1, "PF"), "outcome_class": (+1, "PF")},
}
RESTARTS = 8
STEPS = 400  # local-search rounds per restart
BATCH = 64  # candidate moves per round


def seed_signs(quantity: str) -> dict[str, int]:
    """Lever -> the seeds' sign on ``quantity`` (SEED_SIGNS; a lever listed twice with
    different signs would be a contradiction in SEED_SIGNS itself, refused)."""
    signs: dict[str, int] = {}
    for lever, _, _, out, sign, _ in SEED_SIGNS:
        if out == quantity:
            if signs.get(lever, sign) != sign:
                raise ValueError(f"SEED_SIGNS gives {lever} both signs on {quantity}")
            signs[lever] = sign
    return signs


def spearman_columns(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman rho of each column of ``scores`` (n, m) with ``y`` (n,), average ranks;
    a constant column scores 0 (it ranks nothing)."""
    ranks = np.apply_along_axis(rankdata, 0, scores)
    ranks = ranks - ranks.mean(axis=0)
    target = rankdata(y)
    target = target - target.mean()
    norm = np.sqrt((ranks**2).sum(axis=0) * (target**2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (ranks * target[:, None]).sum(axis=0) / norm
    return np.where(norm > 0, rho, 0.0)


def max_rank_correlation(
    Z: np.ndarray,
    y: np.ndarray,
    signs: np.ndarray,
    seed: int,
    restarts: int = RESTARTS,
    steps: int = STEPS,
) -> tuple[float, np.ndarray]:
    """The largest in-sample Spearman rho of ``Z @ w`` with ``y`` found over weight vectors
    ``w`` with ``sign_k * w_k >= 0`` where ``signs[k]`` is +-1 (free where 0), and that
    ``w``. ``Z`` standardised columns (n, k). A lower bound on the true maximum (a
    search), exact enough to compare two cones searched the same way."""
    rng = np.random.default_rng(seed)
    lo = np.where(signs > 0, 0.0, -np.inf)
    hi = np.where(signs < 0, 0.0, np.inf)
    target = rankdata(y)
    first = lsq_linear(Z, (target - target.mean()) / target.std(), bounds=(lo, hi)).x

    def project(w: np.ndarray) -> np.ndarray:
        return np.clip(w, lo, hi)

    best_rho, best_w = -np.inf, first
    for restart in range(restarts):
        w = first if restart == 0 else project(rng.standard_normal(Z.shape[1]))
        rho = float(spearman_columns((Z @ w)[:, None], y)[0])
        scale = 1.0
        for _ in range(steps):
            size = scale * max(float(np.abs(w).max()), 1e-12)
            moves = project(w + size * rng.standard_normal((BATCH, Z.shape[1])))
            rhos = spearman_columns(Z @ moves.T, y)
            k = int(np.argmax(rhos))
            if rhos[k] > rho:
                w, rho = moves[k], float(rhos[k])
            else:
                scale = max(scale * 0.9, 0.02)
        if rho > best_rho:
            best_rho, best_w = rho, w
    return best_rho, best_w


def case_inputs(fit: xr.Dataset | None) -> tuple[pd.DataFrame, CaseMapping]:
    """The case table and mapping the context is read with: the fit's (the revisions and
    mapping it records, ``v3_fit_measures.fit_cases`` and ``fit_mapping``, which print
    which they are) when ``fit`` is given, the revised table with the later-shock
    mapping otherwise."""
    if fit is None:
        cases, _ = read_revised_cases(fv.CASES, REPO / "calibration" / "case_revisions.csv")
        return cases, read_mapping(REPO / "calibration" / "case_levers_v3_later.toml")
    return fm.fit_cases(fit), fm.fit_mapping(fit)


def case_context(
    model: gvcdyn.Model, cases: pd.DataFrame, mapping: CaseMapping
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Each case's mapped lever values (defaults where the mapping sets none) and period
    length; its sparse covariates (CONFIG's) and period length; its observed codes.
    ``cases`` and ``mapping`` from ``case_inputs``."""
    table = apply_mapping(cases, mapping, model=model)
    defaults = np.array([model.parameter(p).default for p in table.levers])
    values = np.where(np.isnan(table.values), defaults, table.values)
    index = pd.Index(table.ids, name="id")
    mapped = pd.DataFrame(values, index=index, columns=list(table.levers))
    mapped[PERIOD] = table.horizon
    covariates = load_config(CONFIG).cv_sparse
    rows = cases.set_index("id").loc[index].reset_index()
    sparse = pd.DataFrame(
        covariate_columns(rows, covariates), index=index, columns=[c.name for c in covariates]
    )
    sparse[PERIOD] = table.horizon
    codes = fv.observed_codes(cases).apply(pd.to_numeric).loc[index]
    return mapped, sparse, codes


def model_quantities(
    model: gvcdyn.Model,
    fit: xr.Dataset,
    setting: tuple[str, float | None],
    cases: pd.DataFrame,
    mapping: CaseMapping,
    index: pd.Index,
) -> pd.DataFrame:
    """The model's measurement variables per case at the fit (its estimates, integration
    ``setting``, case table and mapping: ``v3_fit_measures.case_frame``)."""
    values = {str(k): float(v) for k, v in fit["estimate"].to_series().items()}
    frame = fm.case_frame(model, values, setting, cases, mapping)
    return frame.loc[index, list(fv.MEASURES.values())]


def standardised(context: pd.DataFrame) -> pd.DataFrame:
    """The columns of ``context`` that vary over the cases, each to mean 0 and sd 1."""
    varying = context.loc[:, context.std() > 0]
    return (varying - varying.mean()) / varying.std()


def ceilings(
    Z: pd.DataFrame, y: np.ndarray, signs: dict[str, int], seed: int
) -> dict[str, tuple[float, pd.Series]]:
    """The free and the seeds-signed ceiling over the columns of ``Z``, with the weights."""
    sign_vector = np.array([signs.get(c, 0) for c in Z.columns], dtype=float)
    found = {}
    for label, cone in (("free", np.zeros_like(sign_vector)), ("seeds", sign_vector)):
        rho, w = max_rank_correlation(Z.to_numpy(), y, cone, seed)
        found[label] = (rho, pd.Series(w, index=Z.columns))
    return found


def leans(
    context: pd.DataFrame, y: np.ndarray, signs: dict[str, int], quantity: pd.Series | None
) -> pd.DataFrame:
    """Per context column: the seeds' sign (0: none), rho with the coded level and, given
    the model's ``quantity`` per case, rho with it."""
    rows = {}
    for column in context.columns[context.std() > 0]:
        rows[column] = {
            "seeds": signs.get(column, 0),
            "codes": float(spearmanr(context[column], y).statistic),
            "model": np.nan
            if quantity is None
            else float(spearmanr(context[column], quantity).statistic),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def report(
    mapped: pd.DataFrame,
    sparse: pd.DataFrame,
    codes: pd.DataFrame,
    quantities: pd.DataFrame | None,
    seed: int,
) -> dict[str, dict]:
    """Print and return, per outcome: each column's lean (codes, model, seeds' sign) and
    the free and seeds-signed ceilings over the mapped and the sparse context."""
    print(f"{len(mapped)} cases; mapped context: {int((mapped.std() > 0).sum())} varying "
          f"columns; sparse: {', '.join(sparse.columns)}")  # fmt: skip
    found: dict[str, dict] = {}
    for code in ("outcome_class", "functional_upg"):
        quantity = fv.MEASURES[code]
        y = codes[code].to_numpy(dtype=float)
        model = None if quantities is None else quantities[quantity]
        signs = seed_signs(quantity)
        sparse_signs = {k: v[code][0] for k, v in SPARSE_SIGNS.items() if code in v}
        head = code
        if model is not None:
            head += f" (the model at the fit: rho {spearmanr(model, y).statistic:+.3f})"
        print(
            f"\n{head}\n  rho with each context column: codes | model at the fit | the seeds' sign"
        )
        for label, context, sign_map in (
            ("mapped", mapped, signs),
            ("sparse", sparse, sparse_signs),
        ):
            table = leans(context if label == "mapped" else context.drop(columns=PERIOD),
                          y, sign_map, model)  # fmt: skip
            for column, row in table.iterrows():
                seeds = {1: "+", -1: "-", 0: " "}[int(row["seeds"])]
                against = "  (codes against the seeds)" if row["seeds"] * row["codes"] < 0 else ""
                print(f"    {label:6s} {column:32s} {row['codes']:+.2f} | {row['model']:+.2f} "
                      f"| {seeds}{against}")  # fmt: skip
        found[code] = {}
        for label, context, sign_map in (
            ("mapped", mapped, signs),
            ("sparse", sparse, sparse_signs),
        ):
            result = ceilings(standardised(context), y, sign_map, seed)
            found[code][label] = {k: v[0] for k, v in result.items()}
            print(f"  ceiling over the {label} context ({int((context.std() > 0).sum())} columns),"
                  f" additive score in-sample: free {result['free'][0]:+.3f}; "
                  f"the seeds' signs {result['seeds'][0]:+.3f}")  # fmt: skip
            for cone, (_, w) in result.items():
                share = (w.abs() / max(w.abs().sum(), 1e-12)).sort_values(ascending=False)
                top = [f"{k} {'+' if w[k] >= 0 else '-'}{share[k]:.0%}" for k in share.index[:5]]
                print(f"    {cone}: " + ", ".join(top))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fit", nargs="?", help="a v3 fit file (its mapping and case table)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    fit_path = Path(args.fit) if args.fit else None
    try:  # read once: its case table, mapping and estimates serve context and quantities
        fit = None if fit_path is None else read_fit(fit_path)
    except CalibrationConfigError as exc:  # no such file, or not a calibration fit
        parser.error(str(exc))
    model = gvcdyn.load(V3)
    cases, mapping = case_inputs(fit)
    mapped, sparse, codes = case_context(model, cases, mapping)
    quantities = None
    if fit is not None:
        setting = fm.fit_setting(fit_path)
        quantities = model_quantities(model, fit, setting, cases, mapping, mapped.index)
    report(mapped, sparse, codes, quantities, args.seed)


if __name__ == "__main__":
    main()
