"""Evidence sources of a sensitivity study: rows of known lever settings, one input each.

Two kinds of evidence say which lever values are credible together, and a study can vary
over them instead of over assumed ranges:

- ``cases = "calibration/config.toml"`` (or a shipped config's name): each row is one
  case's mapped context, the levers the calibration's case mapping sets for it
  (``gvcdyn.calibrate.cases.apply_mapping``). A lever a case leaves unset keeps the
  study's base value for that case, as in the calibration. The case's period (horizon)
  is not used: the study reads its outputs at its own ``--at`` times.
- ``posterior = "results/fit.nc"``: each row is one draw of the estimated parameters:
  the fit's ``posterior_draw (chain, draw, parameter)``, else its
  ``predictive_estimate (sample, parameter)``, else (said so) its case-bootstrap
  replicates ``bootstrap_estimate (replicate, parameter)``.

A source enters the Sobol' design as ONE input, a selector ``u`` uniform on ``[0, 1]``
that picks row ``floor(u * rows)``: the design stays independent uniform inputs (what
the Saltelli estimators assume), and the source's index is the share of the output's
variance due to which case (or which posterior draw) a run takes, all its levers moving
together. Every run's source levers are one row's, never a mixture of rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gvcdyn.bundled import resolve_calibration_config
from gvcdyn.calibrate.cases import apply_mapping, read_mapping
from gvcdyn.calibrate.config import load_config
from gvcdyn.calibrate.fitfile import fit_integration
from gvcdyn.calibrate.revisions import read_revised_cases
from gvcdyn.errors import GvcdynError, SensitivityDesignError
from gvcdyn.io.results_io import read_netcdf

if TYPE_CHECKING:
    from gvcdyn.model import Model

__all__ = ["EvidenceSource", "case_source", "pick_rows", "posterior_source"]

CASES_INPUT = "case context"
POSTERIOR_INPUT = "posterior draw"


@dataclass(frozen=True)
class EvidenceSource:
    """Rows of lever settings a study draws whole: ``rows[i, j]`` sets ``levers[j]``
    (NaN: keep the base value)."""

    name: str  # the input's name in the results ("case context", "posterior draw")
    kind: str  # "cases" or "posterior"
    path: str
    levers: tuple[str, ...]
    rows: np.ndarray
    row_ids: tuple[str, ...]
    note: str  # what the rows are, for the results' attributes
    #: the integration method the rows were made at (a fit's), which a study that names
    #: none runs at: a posterior's draws fit the cases and hold the checks there only
    method: str | None = None

    @property
    def always_set(self) -> tuple[str, ...]:
        """The levers every row sets (a base value for them would never be used)."""
        full = ~np.isnan(self.rows).any(axis=0)
        return tuple(lv for lv, f in zip(self.levers, full, strict=True) if f)


def pick_rows(u: np.ndarray, n_rows: int) -> np.ndarray:
    """Row ``floor(u * n_rows)`` for a selector ``u`` in ``[0, 1]`` (1 picks the last)."""
    index = np.floor(np.asarray(u, dtype=np.float64) * n_rows).astype(np.int64)
    return np.clip(index, 0, n_rows - 1)


def case_source(model: Model, config: str | Path, *, where: str = "") -> EvidenceSource:
    """The mapped contexts of a calibration config's cases, as lever rows."""

    try:
        path = resolve_calibration_config(config)
        cfg = load_config(path)
        mapping = read_mapping(cfg.mapping)
        frame, source = read_revised_cases(cfg.cases, cfg.revisions, mapping.id_column)
        cases = apply_mapping(frame, mapping, model=model, source=source)
    except GvcdynError as exc:
        raise SensitivityDesignError(f"{where}cases = {str(config)!r}: {exc}") from None
    if len(cases) == 0 or not cases.levers:
        raise SensitivityDesignError(
            f"{where}cases = {str(config)!r}: no case with mapped levers is left after the mapping"
        )
    revised = f" with the revisions of {Path(cfg.revisions).name}" if cfg.revisions else ""
    note = (
        f"{len(cases)} cases of {Path(cfg.cases).name}{revised} mapped by "
        f"{Path(cfg.mapping).name} "
        f"({len(cases.excluded)} excluded by the mapping); levers a case leaves unset keep "
        "the base value"
    )
    return EvidenceSource(
        CASES_INPUT,
        "cases",
        str(path),
        tuple(cases.levers),
        np.array(cases.values, dtype=np.float64),
        tuple(str(i) for i in cases.ids),
        note,
    )


def posterior_source(model: Model, fit: str | Path, *, where: str = "") -> EvidenceSource:
    """A fit's posterior draws of its estimated parameters (bootstrap replicates when it
    has no posterior, said so in the note)."""
    path = Path(fit)
    ds = read_netcdf(
        path,
        f"{where}posterior = {str(fit)!r}: fit file",
        SensitivityDesignError,
        hint="run 'gvcdyn calibrate' with a [posterior] table first",
    )
    converged = " (NOT CONVERGED)" if not ds.attrs.get("posterior_converged", 0) else ""
    if "posterior_draw" in ds:
        array = ds["posterior_draw"].transpose(..., "parameter")
        note = f"posterior draws (emcee walkers x draws) of {path.name}{converged}"
    elif "predictive_estimate" in ds:
        array = ds["predictive_estimate"].transpose(..., "parameter")
        note = f"predictive posterior draws of {path.name}{converged}"
    elif "bootstrap_estimate" in ds:
        array = ds["bootstrap_estimate"].transpose(..., "parameter")
        note = (
            f"case-bootstrap replicates of {path.name}: the fit has no posterior draws, so "
            "these stand in for them (an approximation of the estimates' uncertainty)"
        )
    elif "estimate" not in ds:  # a run's results or a study, not a fit
        raise SensitivityDesignError(
            f"{where}posterior = {str(fit)!r}: not a calibration fit (no 'estimate'); give "
            "a fit written by 'gvcdyn calibrate --out' with a [posterior] table"
        )
    else:
        raise SensitivityDesignError(
            f"{where}posterior = {str(fit)!r}: the fit has neither posterior draws nor "
            "bootstrap replicates; add a [posterior] table to the calibration config and "
            "calibrate again"
        )
    names = [str(n) for n in array["parameter"].values]
    values = np.asarray(array.values, dtype=np.float64).reshape(-1, len(names))
    values = values[np.all(np.isfinite(values), axis=1)]
    if len(values) == 0:
        raise SensitivityDesignError(f"{where}posterior = {str(fit)!r}: no finite draw")
    try:
        levers = tuple(model.parameter(n).name for n in names)
    except GvcdynError as exc:
        raise SensitivityDesignError(
            f"{where}posterior = {str(fit)!r}: {exc} (was the fit made for this model?)"
        ) from None
    made_for = ds.attrs.get("model_sha256")
    if made_for and made_for != model.ir.source_hash:
        note += "; the fit was made for another model version"
    ids = tuple(f"draw {i}" for i in range(len(values)))
    # the method the fit ran at, read as predict reads it (a bare draws file: its
    # attribute, if any)
    setting = fit_integration(path)
    method, time_step = setting if setting else (ds.attrs.get("method"), None)
    if method is not None:
        note += f"; made at {method}"
    if time_step is not None:
        note += f" with time step {time_step:g} (a study runs at the model's TIME STEP)"
    return EvidenceSource(
        POSTERIOR_INPUT,
        "posterior",
        str(path),
        levers,
        values,
        ids,
        f"{len(values)} {note}",
        None if method is None else str(method),
    )


def source_bounds(model: Model, source: EvidenceSource, base: np.ndarray) -> dict:
    """Space bounds of a source's levers: the documented range when finite, else the span
    of the rows and the base value (the space only checks values against them)."""
    bounds = {}
    for j, lever in enumerate(source.levers):
        param = model.parameter(lever)
        lo, hi = param.minimum, param.maximum
        finite = lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi)
        if finite and lo < hi:
            bounds[lever] = (float(lo), float(hi))
            continue
        column = source.rows[:, j]
        span = np.concatenate([column[np.isfinite(column)], [base[param.column]]])
        low, high = float(span.min()), float(span.max())
        pad = 1e-9 * max(1.0, abs(high))
        bounds[lever] = (low, high + pad)
    return bounds
