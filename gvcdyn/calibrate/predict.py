"""``predict``: outcome probabilities for new cases from a fit file.

The fit file carries what prediction needs: the estimates, cutpoints, posterior draws or
bootstrap replicates, the mapping text, the outcome definitions and the model's path and
hash. Each case's probabilities are averaged over the fit's parameter uncertainty: its
posterior draws when it has them (the posterior predictive probabilities, each draw with
the cutpoints profiled at it), else the point estimate and its bootstrap replicates (each
with its own refitted cutpoints), else the point estimate alone; ``point=True`` asks for
the estimate alone. With draws, each probability also gets its 2.5% and 97.5% quantiles
over the draws (columns ``<column>_low`` and ``<column>_high``). Which draws were used is
recorded in the companion JSON written next to the CSV.

Cases whose context cannot be mapped (a blank or unknown value, a bad year) are
reported by id and column; every other case still gets its prediction. The fit's problem
(config, mapping, model, the case table with the fit's revisions when it is the fit's own
file) is rebuilt by ``fitfile.fit_problem``, the reader the studies of a fit share.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from gvcdyn.calibrate.cases import CaseIssue
from gvcdyn.calibrate.fitfile import fit_problem, missing_fit_parts, read_fit, refuse_incomplete
from gvcdyn.calibrate.likelihood import level_probabilities
from gvcdyn.calibrate.problem import FAILED, CalibrationProblem
from gvcdyn.errors import CalibrationInfeasibleError, OutputWriteError
from gvcdyn.io.results_io import atomic_write
from gvcdyn.limits import chunk_rows

__all__ = [
    "Prediction",
    "predict",
    "prediction_paths",
    "probability_columns",
    "write_predictions",
]


@dataclass
class Prediction:
    table: pd.DataFrame
    problems: list[CaseIssue]
    meta: dict


def probability_columns(column: str, levels: list[str], categorical_unique: bool) -> list[str]:
    """Column names: ``p_<level>`` for a categorical outcome, ``p<level>_<column>`` otherwise."""
    if all(level.isdigit() for level in levels) or not categorical_unique:
        return [f"p{level}_{column}" for level in levels]
    return [f"p_{level}" for level in levels]


def predict(
    fit_path: str | Path,
    cases_path: str | Path,
    *,
    model=None,
    point: bool = False,
    ds: xr.Dataset | None = None,
) -> Prediction:
    """Probabilities of every outcome level for each case of ``cases_path``, averaged over
    the fit's draws (see the module docstring); ``point``: the estimate alone.

    ``ds``: ``fit_path`` as :func:`read_fit` read it, for a caller that read it first
    (``gvcdyn predict``, to learn the files its model reads), so that the file is read
    once and what was checked is what is predicted from; ``fit_path`` still names it in
    messages and in the metadata."""
    if ds is None:
        ds = read_fit(fit_path)
    refuse_incomplete(fit_path, missing_fit_parts(ds))
    if float(ds.attrs.get("objective", 0.0)) >= FAILED:
        raise CalibrationInfeasibleError(
            f"{fit_path} records no fit: its objective {ds.attrs['objective']:.4g} is the "
            "failure sentinel (no parameter set held every reality check, or every "
            "candidate's runs failed; written by a gvcdyn that did not refuse it)",
            hint="run 'gvcdyn calibrate' again: it now says which checks cannot hold",
        )
    # checks=False: no candidate is judged here, so the config's reality checks (their
    # file found and parsed, a runner built: half of a predict call) are not read
    rebuilt = fit_problem(ds, cases_path, model=model, strict=False, checks=False)
    config, frame, cases = rebuilt.config, rebuilt.table.frame, rebuilt.cases
    problems = list(cases.invalid) + list(cases.excluded)
    names = [str(n) for n in ds["parameter"].values]
    outcomes = config.outcomes
    labels = [o.column for o in outcomes]
    categorical = [o for o in outcomes if not all(v.isdigit() for v in o.levels)]
    unique = len(categorical) <= 1
    columns = {o.column: probability_columns(o.column, list(o.levels), unique) for o in outcomes}
    table = pd.DataFrame({"id": list(frame[rebuilt.mapping.id_column])})
    for o in outcomes:
        for c in columns[o.column]:
            table[c] = np.nan
        table[f"pred_{o.column}"] = ""
    # one note per case id, by a dict (a comparison of the whole id column per problem
    # was quadratic: 84 s for 40,000 unmappable rows)
    notes = {issue.case_id: f"{issue.column}: {issue.message}" for issue in problems}
    table["note"] = [notes.get(case_id, "") for case_id in table["id"]]
    meta = {
        "fit": str(fit_path),
        "cases": str(cases_path),
        "case_revisions": rebuilt.table.revisions,
        "n_cases": len(frame),
        "n_predicted": len(cases),
        "parameters": names,
        "outcomes": labels,
        "problems": [str(p) for p in problems],
    }
    if len(cases) == 0:
        meta["uncertainty"] = "none: no case could be mapped"
        return Prediction(table, problems, meta)
    problem = rebuilt.problem
    thetas, cuts, meta["uncertainty"] = _draws(ds, config, point)
    thetas = np.clip(thetas, problem.bounds[:, 0], problem.bounds[:, 1])
    probs, low, high, failed = _probabilities(problem, thetas, cuts)
    rows = table.index[table["id"].isin(cases.ids)]
    order = {cid: i for i, cid in enumerate(cases.ids)}
    case_rows = np.array([order[cid] for cid in table.loc[rows, "id"]])
    for k, o in enumerate(outcomes):
        for j, c in enumerate(columns[o.column]):
            table.loc[rows, c] = probs[k][case_rows, j]
            if len(thetas) > 1:
                table.loc[rows, f"{c}_low"] = low[k][case_rows, j]
                table.loc[rows, f"{c}_high"] = high[k][case_rows, j]
        best = np.argmax(np.nan_to_num(probs[k], nan=-1.0), axis=1)
        table.loc[rows, f"pred_{o.column}"] = [
            o.levels[b] if not failed[i] else ""
            for i, b in zip(case_rows, best[case_rows], strict=True)
        ]
    failed_ids = {cases.ids[i] for i in np.flatnonzero(failed)}
    table.loc[table["id"].isin(failed_ids), "note"] = "model run failed (non-finite value)"
    meta["n_draws"] = len(thetas)
    return Prediction(table, problems, meta)


def _draws(ds: xr.Dataset, config, point: bool) -> tuple[np.ndarray, list[np.ndarray], str]:
    """The parameter draws ``(draws, k)`` to average over, their cutpoints per outcome
    ``(draws, J-1)``, and a sentence saying which they are."""
    posterior = ds.sizes.get("sample", 0) if "predictive_estimate" in ds else 0
    replicates = ds.sizes.get("replicate", 0) if "bootstrap_estimate" in ds else 0
    sizes = [len(o.levels) - 1 for o in config.outcomes]
    estimate = ds["estimate"].values[None, :]
    point_cuts = [ds["cutpoint"].values[k, :n][None, :] for k, n in enumerate(sizes)]
    held = [f"{posterior} posterior draws"] if posterior else []
    held += [f"{replicates} bootstrap replicates"] if replicates else []
    if point or not held:
        why = f", as asked (the fit's {' and '.join(held)} not used)" if held else ""
        why = why or " (the fit has neither posterior draws nor bootstrap replicates)"
        return estimate, point_cuts, f"point estimate only{why}"
    if posterior:
        cuts = [ds["predictive_cutpoint"].values[:, k, :n] for k, n in enumerate(sizes)]
        verdict = "" if ds.attrs.get("posterior_converged", 0) else " (NOT CONVERGED)"
        return (
            ds["predictive_estimate"].values,
            cuts,
            f"posterior predictive: averaged over {posterior} posterior draws{verdict}, "
            "each with the cutpoints profiled at it",
        )
    boot = [ds["bootstrap_cutpoint"].values[:, k, :n] for k, n in enumerate(sizes)]
    return (
        np.vstack([estimate, ds["bootstrap_estimate"].values]),
        [np.vstack([p, b]) for p, b in zip(point_cuts, boot, strict=True)],
        f"averaged over the point estimate and {replicates} case-bootstrap replicates "
        "(each with its own cutpoints)",
    )


def _probabilities(
    problem: CalibrationProblem, thetas: np.ndarray, cuts: list[np.ndarray]
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Each outcome's level probabilities ``(C, J)`` averaged over the draws ``thetas``,
    their 2.5% and 97.5% quantiles over the draws (NaN for a case with a failed run), and
    which cases failed ``(C,)``.

    The cases go through the model a block at a time, every draw of a block in one
    batch: a table of a million cases never holds all draws x cases runs at once (9.4
    GiB for 21 draws), and each case's numbers are those of one batch."""
    n_cases, draws = len(problem.cases), len(thetas)
    m = len(problem.outcomes)
    per_case = draws * (problem.run_bytes + (thetas.shape[1] + 2 * m + 8) * 8)
    block = chunk_rows(per_case, n_cases)
    probs, low, high = (
        [np.full((n_cases, len(o.levels)), np.nan) for o in problem.outcomes] for _ in range(3)
    )
    failed = np.zeros(n_cases, dtype=bool)
    for start in range(0, n_cases, block):
        rows = np.arange(start, min(start + block, n_cases))
        s, status = problem.quantities(thetas, cases=rows)
        failed[rows] = np.any(status != 0, axis=0)
        for k, o in enumerate(problem.outcomes):
            eta = s[:, :, k] / o.scale  # (draws, cases of the block)
            each = np.stack([level_probabilities(eta[d], cuts[k][d]) for d in range(draws)])
            each[:, failed[rows]] = np.nan
            probs[k][rows] = each.mean(axis=0)
            low[k][rows], high[k][rows] = np.quantile(each, [0.025, 0.975], axis=0)
    return probs, low, high, failed


def prediction_paths(out: str | Path) -> tuple[Path, Path]:
    """The predictions CSV ``out`` and its companion JSON (``out`` with ``.json``).

    An ``out`` that ends in ``.json`` is refused: the JSON would be written over the
    predictions (the same path), losing them."""
    out = Path(out)
    if out.suffix.lower() == ".json":
        raise OutputWriteError(
            f"--out {out}: the predictions are a CSV and their metadata goes to the same "
            f"name with .json, which would overwrite them; give a .csv name such as "
            f"{out.with_suffix('.csv')}"
        )
    return out, out.with_suffix(".json")


def write_predictions(prediction: Prediction, out: str | Path) -> tuple[Path, Path]:
    """Write the CSV and its companion JSON atomically; returns both paths."""

    out, meta_path = prediction_paths(out)
    atomic_write(out, lambda tmp: prediction.table.to_csv(tmp, index=False, float_format="%.6g"))
    atomic_write(meta_path, lambda tmp: tmp.write_text(json.dumps(prediction.meta, indent=2)))
    return out, meta_path
