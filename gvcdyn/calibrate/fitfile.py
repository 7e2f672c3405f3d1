"""A calibration fit file read back: its settings and the problem it was made on.

A fit file (``gvcdyn calibrate --out``) records what rebuilding its calibration problem
needs: the config and mapping texts, the model's and the case file's paths and SHA-256,
and the case revisions (their text, or for an older fit their path and SHA-256).
``predict`` rebuilds the problem to score new cases, ``gvcdyn reality-check --params`` and
the sensitivity sources read the fit's integration setting, and studies rebuild the very
problem to judge the fit. They all read it here (:func:`fit_problem`,
:func:`fit_case_table`, :func:`fit_integration`), so that each reads the same table and
refuses the same things (a changed case file or model, a file that is no fit) with the
same words, each a ``CalibrationConfigError`` naming the file and what to do.

Why a module of its own rather than part of ``predict``: prediction (draws, probabilities,
the CSV) is one reader of a fit among several, and a reality check or a study that only
rebuilds the fit's cases should not depend on the prediction code to do it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import xarray as xr

from gvcdyn.calibrate.cases import (
    CaseMapping,
    CaseTable,
    apply_mapping,
    file_sha256,
    parse_mapping,
    read_case_csv,
)
from gvcdyn.calibrate.config import CalibrationConfig, parse_config
from gvcdyn.calibrate.revisions import apply_revisions, fit_revisions
from gvcdyn.errors import CalibrationConfigError, CaseDataError
from gvcdyn.io.results_io import read_netcdf

if TYPE_CHECKING:
    from gvcdyn.calibrate.problem import CalibrationProblem
    from gvcdyn.model import Model

__all__ = [
    "FitCaseTable",
    "FitProblem",
    "fit_case_table",
    "fit_config",
    "fit_integration",
    "fit_mapping",
    "fit_method",
    "fit_problem",
    "read_fit",
    "recorded_file",
]


def read_fit(path: str | Path) -> xr.Dataset:
    """The fit file ``path``, loaded; refused when it is no calibration fit (no estimate or
    no recorded config), since nothing could be rebuilt from it."""
    path = Path(path)
    ds = read_netcdf(path, "fit file", CalibrationConfigError)
    if "estimate" not in ds or "config_text" not in ds.attrs:
        raise CalibrationConfigError(f"{path} is not a gvcdyn calibration fit (no estimate)")
    return ds


def fit_method(ds: xr.Dataset, config: CalibrationConfig) -> str:
    """The integration method the fit ``ds`` (whose stored config is ``config``) ran at,
    whatever the model declares now: the resolved method the fit records, else its
    config's; a fit that records neither predates both (commit 108fbe6), when a config
    without ``method`` meant Euler. Not the model's current default, which a settings file
    (``<stem>.settings.toml``) added or edited after the fit would change silently."""
    return str(ds.attrs.get("method") or config.method or "euler")


def fit_config(ds: xr.Dataset) -> CalibrationConfig:
    """The calibration config the fit ``ds`` records (its text, not the file as it is now),
    with the method it ran at (:func:`fit_method`)."""
    text = ds.attrs["config_text"]
    where = Path(ds.attrs.get("config_path") or ".")
    config = parse_config(tomllib.loads(text), path=where, text=text)
    return replace(config, method=fit_method(ds, config))


def fit_integration(path: str | Path) -> tuple[str, float | None] | None:
    """The integration method (:func:`fit_method`) and time step (None: the model's own)
    a calibration fit was computed at, read as ``predict`` reads a fit's settings, so a
    reality check or a sensitivity study of the fit runs where the fit ran; None when
    ``path`` is no full fit (the caller says what is wrong with it, or takes a bare
    ``estimate`` table at the model's own setting)."""
    try:
        ds = read_fit(path)
    except CalibrationConfigError:
        return None
    try:
        config = fit_config(ds)
    except (CalibrationConfigError, ValueError) as exc:  # ValueError: TOMLDecodeError
        raise CalibrationConfigError(
            f"fit {path}: the calibration config stored in it cannot be read ({exc}), so "
            "its integration setting is unknown: give --integration and --time-step "
            "(method= and time_step= in the library)"
        ) from exc
    return config.method, config.time_step


def fit_mapping(ds: xr.Dataset) -> CaseMapping:
    """The case -> lever mapping a fit was made with, from the text its file records (not
    the mapping file as it is now), so that whatever rebuilds the fit's cases (``predict``,
    a study judging the fit) maps them as the fit did, a variant mapping included."""
    return parse_mapping(
        tomllib.loads(ds.attrs["mapping_text"]),
        path=Path(ds.attrs["mapping_path"]),
        text=ds.attrs["mapping_text"],
    )


def recorded_file(
    recorded: str | Path, sha256: str | None, what: str, repo: Path | None = None
) -> Path:
    """The file a fit recorded at ``recorded`` (an absolute path in the checkout it was made
    in): there when it exists, else the file of the same folder and name in ``repo`` (a
    checkout of the project: its calibration/gvc_cases.csv, models/gvc_upgrading_v3.mdl)
    provided its SHA-256 is the recorded one, so that a fit made in another checkout is
    read on the very file it was made on. A ``CalibrationConfigError`` naming the file and
    what to do otherwise."""
    path = Path(recorded)
    if path.is_file():
        return path
    where = f"the fit's {what} {path} does not exist"
    if repo is None:
        raise CalibrationConfigError(
            f"{where}: run in the checkout the fit was made in, or restore the file"
        )
    local = repo / path.parent.name / path.name
    if not local.is_file():
        raise CalibrationConfigError(
            f"{where}, nor does {local}: run in the checkout the fit was made in"
        )
    if not sha256:
        raise CalibrationConfigError(
            f"{where}, and the fit records no SHA-256 to check {local} against: run in "
            "the checkout the fit was made in"
        )
    if file_sha256(local) != sha256:
        raise CalibrationConfigError(
            f"{where}, and {local} is not the file the fit was made on (SHA-256 differs): "
            "run in the checkout the fit was made in, or refit"
        )
    return local


@dataclass(frozen=True)
class FitCaseTable:
    """A case table read for a fit: the table (strings, as ``read_case_csv`` returns them)
    with the fit's revisions where they apply, the case file read, the revisions file
    applied ("" for none) and the words that name the table in an error."""

    frame: pd.DataFrame
    path: Path
    revisions: str
    source: str


def fit_case_table(
    ds: xr.Dataset,
    cases: str | Path | None = None,
    *,
    repo: Path | None = None,
    revise: bool | None = None,
    id_column: str = "id",
) -> FitCaseTable:
    """The case table of ``cases`` as the fit ``ds`` reads it, its revisions applied.

    ``cases`` None: the case file the fit was made on (:func:`recorded_file`, ``repo``'s
    when the recorded one is gone), refused when it changed since the fit (its SHA-256
    differs from ``case_file_sha256``): the table would not be the fitted one. Otherwise
    the file ``cases``, with the fit's revisions applied when ``revise`` is True, never
    when False, and by default (None) only when it is the very file the fit was made on
    (same SHA-256): the revisions name the fit's cases, not a table of new ones. A
    revisions file the fit recorded by path only is found as the case file is and refused
    when it changed (``revisions.fit_revisions``); ``apply_revisions`` refuses a revision
    whose coded value the table no longer holds."""
    attrs = dict(ds.attrs)
    recorded = str(attrs.get("case_file_sha256", "") or "")
    if cases is None:
        path = recorded_file(attrs["case_file"], recorded, "case file", repo)
        if recorded and file_sha256(path) != recorded:
            name = ds.encoding.get("source", "")
            raise CalibrationConfigError(
                f"case file {path} changed since the fit{' ' + name if name else ''} "
                "(SHA-256 differs): restore the file the fit was made on, or refit"
            )
        revise = True
    else:
        path = Path(cases)
        if revise is None:
            revise = bool(recorded) and file_sha256(path) == recorded
    frame = read_case_csv(path, id_column)
    source = f"case file {path}"
    if not revise or not attrs.get("case_revisions"):
        return FitCaseTable(frame, path, "", source)
    if not attrs.get("case_revisions_text"):
        sha = attrs.get("case_revisions_sha256")
        where = recorded_file(attrs["case_revisions"], sha, "case revisions file", repo)
        attrs["case_revisions"] = str(where)
    revisions, named = fit_revisions(attrs), attrs["case_revisions"]
    frame = apply_revisions(frame, revisions, id_column=id_column, source=named)
    return FitCaseTable(frame, path, named, f"{source} with the revisions of {named}")


def _checks_file(
    ds: xr.Dataset, config: CalibrationConfig, repo: Path | None, wanted: bool
) -> Path | None:
    """The reality-check file of the fit's config, found as its model and case file are
    (:func:`recorded_file`, ``repo``'s of the recorded SHA-256 when the recorded one is
    gone), so that a fit made in another checkout is not refused on the one file it
    recorded that the others are not looked up for; None when the config has none or the
    caller runs no model (``wanted`` False)."""
    if not wanted or config.checks is None:
        return None
    sha = ds.attrs.get("checks_sha256")
    return recorded_file(config.checks, sha, "checks file", repo)


@dataclass(frozen=True)
class FitProblem:
    """The calibration problem a fit was made on, rebuilt: the fit, its config (its method;
    ``cases`` the case file read), its mapping, the model, the case table with the fit's
    revisions (``table``), the mapped cases and the problem (None when no case could be
    mapped); ``model_current``: the model's SHA-256 is the fit's."""

    fit: xr.Dataset
    config: CalibrationConfig
    mapping: CaseMapping
    model: Model
    table: FitCaseTable
    cases: CaseTable
    problem: CalibrationProblem | None
    model_current: bool


def fit_problem(
    fit: str | Path | xr.Dataset,
    cases: str | Path | None = None,
    *,
    model: Model | None = None,
    repo: Path | None = None,
    strict: bool = True,
    checks: bool = True,
    changed_model: bool = False,
) -> FitProblem:
    """Rebuild the calibration problem of ``fit`` (a fit file, or one read by
    :func:`read_fit`) from what it records: its config (:func:`fit_config`), mapping
    (:func:`fit_mapping`), model, and the case table of :func:`fit_case_table` (``cases``
    None: the fit's own, refused when changed; else that file, new cases for ``predict``).

    ``model``: the model to use, else the recorded one (:func:`recorded_file`, ``repo``'s
    when the recorded one is gone); either is refused when its SHA-256 is not the fit's
    unless ``changed_model`` (``FitProblem.model_current`` then tells, for a study that
    runs no model). ``strict``: a case the mapping cannot map is an error (False: it is
    listed in ``cases.invalid`` and the rest kept, and a case without an outcome is
    allowed, as for new cases to predict). ``checks``: False leaves the config's reality
    checks out of the problem, for a caller that runs no model."""
    ds = fit if isinstance(fit, xr.Dataset) else read_fit(fit)
    config = fit_config(ds)
    mapping = fit_mapping(ds)
    if model is None:
        from gvcdyn.model import load  # lazy: the compiler, for a caller that passes none

        sha = ds.attrs.get("model_sha256")
        model = load(recorded_file(ds.attrs["model_path"], sha, "model", repo))
    current = model.ir.source_hash == ds.attrs["model_sha256"]
    if not current and not changed_model:
        raise CalibrationConfigError(
            f"the model {ds.attrs['model_path']} changed since the fit (SHA-256 differs); "
            "refit, or restore the model the fit was made with"
        )
    table = fit_case_table(ds, cases, repo=repo, id_column=mapping.id_column)
    config = replace(config, cases=table.path, checks=_checks_file(ds, config, repo, checks))
    mapped = apply_mapping(table.frame, mapping, model=model, strict=strict, source=table.source)
    if strict and len(mapped) == 0:
        raise CaseDataError(f"{table.source}: no case is left after the mapping")
    problem = None
    if len(mapped):
        from gvcdyn.calibrate.problem import CalibrationProblem  # lazy: scipy, the evaluator

        problem = CalibrationProblem(model, config, mapping, mapped, strict_outcomes=strict)
    return FitProblem(ds, config, mapping, model, table, mapped, problem, current)
