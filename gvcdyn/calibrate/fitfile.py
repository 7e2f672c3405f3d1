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

import sys
import tomllib
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
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
    "missing_fit_parts",
    "read_fit",
    "recorded_file",
    "refuse_incomplete",
]


def read_fit(path: str | Path) -> xr.Dataset:
    """The fit file ``path``, loaded; refused when it is no calibration fit (no estimate or
    no recorded config), since nothing could be rebuilt from it. What a reader needs
    beyond those is checked where it is read (:func:`fit_problem` the model it was made
    for, ``predict`` the cutpoints: :func:`missing_fit_parts`), as a study that reads
    only a fit's draws takes stand-in fits without them."""
    path = Path(path)
    ds = read_netcdf(path, "fit file", CalibrationConfigError)
    if "estimate" not in ds or "config_text" not in ds.attrs:
        raise CalibrationConfigError(f"{path} is not a gvcdyn calibration fit (no estimate)")
    return ds


def refuse_incomplete(path: str | Path, missing: list[str]) -> None:
    """``CalibrationConfigError`` naming the fit file ``path`` and the ``missing`` parts
    (:func:`missing_fit_parts`), if any."""
    if missing:
        raise CalibrationConfigError(
            f"fit file {path} lacks {', '.join(missing)} (every fit 'gvcdyn calibrate' "
            "writes records them): it was edited or damaged; refit"
        )


#: what every fit file records beside its estimate and config for its problem to be
#: rebuilt (its model), checked by :func:`fit_problem`
FIT_ATTRS = ("model_path", "model_sha256")
#: what scoring cases from a fit reads (``predict``): the model it was made for, its
#: cutpoints, its parameters' names, and the cutpoints each set of draws is read with
PREDICTION_PARTS = (*FIT_ATTRS, "cutpoint", "parameter")
DRAW_COMPANIONS = {
    "predictive_estimate": "predictive_cutpoint",
    "bootstrap_estimate": "bootstrap_cutpoint",
}


def missing_fit_parts(
    ds: xr.Dataset, parts: tuple[str, ...] = PREDICTION_PARTS, *, draws: bool = True
) -> list[str]:
    """The attributes or variables of ``parts`` that the fit ``ds`` lacks, and with
    ``draws`` the cutpoints of a set of draws it holds (:data:`DRAW_COMPANIONS`): a
    reader took them for granted and ended in a KeyError traceback on a fit without one
    (a study that rebuilds only the problem reads no cutpoints, and its stand-in fits
    hold none)."""
    missing = [name for name in parts if name not in ds.attrs and name not in ds.variables]
    if not draws:
        return missing
    return missing + [
        companion
        for held, companion in DRAW_COMPANIONS.items()
        if held in ds and companion not in ds
    ]


def fit_method(ds: xr.Dataset, config: CalibrationConfig) -> str:
    """The integration method the fit ``ds`` (whose stored config is ``config``) ran at,
    whatever the model declares now: the resolved method the fit records, else its
    config's; a fit that records neither predates both (commit 108fbe6), when a config
    without ``method`` meant Euler. Not the model's current default, which a settings file
    (``<stem>.settings.toml``) added or edited after the fit would change silently."""
    return str(ds.attrs.get("method") or config.method or "euler")


def fit_name(ds: xr.Dataset) -> str:
    """The fit file ``ds`` was read from, in words for a message ("the fit" when it was
    built in memory)."""
    source = ds.encoding.get("source", "")
    return f"fit {source}" if source else "the fit"


def _stored(ds: xr.Dataset, what: str, read, remedy: str):
    """``read()`` of a text the fit file stores (its config, its mapping), a text that
    cannot be parsed (a TOML error, a missing attribute, an option this gvcdyn does not
    know) being a ``CalibrationConfigError`` naming the fit file and ``remedy``: the
    reader's own error would name a config or mapping path the user cannot fix, since the
    text read is the fit's copy."""
    try:
        return read()
    except (ValueError, KeyError, TypeError) as exc:  # TOMLDecodeError is a ValueError
        why = f"it records no {exc.args[0]}" if type(exc) is KeyError else str(exc)
        raise CalibrationConfigError(
            f"{fit_name(ds)}: the {what} stored in it cannot be read ({why}): {remedy}"
        ) from exc


#: What to do about a fit whose stored config or mapping cannot be read.
DAMAGED = "the file is damaged or was not written by 'gvcdyn calibrate'; refit"


def fit_config(ds: xr.Dataset, *, remedy: str = DAMAGED) -> CalibrationConfig:
    """The calibration config the fit ``ds`` records (its text, not the file as it is now),
    with the method it ran at (:func:`fit_method`); one that cannot be parsed is refused
    naming the fit file and ``remedy``."""

    def parse() -> CalibrationConfig:
        text = ds.attrs["config_text"]
        where = Path(ds.attrs.get("config_path") or ".")
        return parse_config(tomllib.loads(text), path=where, text=text)

    config = _stored(ds, "calibration config", parse, remedy)
    return replace(config, method=fit_method(ds, config))


def fit_integration(path: str | Path) -> tuple[str, float | None] | None:
    """The integration method (:func:`fit_method`) and time step (None: the model's own)
    a calibration fit was computed at, read as ``predict`` reads a fit's settings, so a
    reality check or a sensitivity study of the fit runs where the fit ran; None when
    ``path`` is no full fit (the caller says what is wrong with it, or takes a bare
    ``estimate`` table at the model's own setting)."""
    try:  # the config alone: the model file the fit names is not read here
        ds = read_fit(path)
    except CalibrationConfigError:
        return None
    unknown = (
        "its integration setting is unknown: give --integration and --time-step "
        "(method= and time_step= in the library)"
    )
    config = fit_config(ds, remedy=unknown)
    return config.method, config.time_step


def fit_mapping(ds: xr.Dataset) -> CaseMapping:
    """The case -> lever mapping a fit was made with, from the text its file records (not
    the mapping file as it is now), so that whatever rebuilds the fit's cases (``predict``,
    a study judging the fit) maps them as the fit did, a variant mapping included; one
    that cannot be parsed is refused naming the fit file."""

    def parse() -> CaseMapping:
        text = ds.attrs["mapping_text"]
        path = Path(ds.attrs.get("mapping_path") or ".")
        return parse_mapping(tomllib.loads(text), path=path, text=text)

    return _stored(ds, "case mapping", parse, DAMAGED)


def recorded_file(
    recorded: str | Path,
    sha256: str | None,
    what: str,
    repo: Path | None = None,
    *,
    changed: bool = False,
) -> Path:
    """The file a fit recorded at ``recorded`` (an absolute path in the checkout it was made
    in), or the file of the same folder and name in ``repo`` (a checkout of the project:
    its calibration/gvc_cases.csv, models/gvc_upgrading_v3.mdl), so that a fit made in
    another checkout is read on the very file it was made on.

    The one whose SHA-256 is the recorded ``sha256`` is taken, the recorded path first:
    a recorded path that still exists is not proof of the file, since the checkout the fit
    was made in moves on (a model edited, columns added to the case table) while ``repo``
    may hold the very file, and taking the moved-on one would refuse the fit, or judge it
    on inputs it was not made on, with its own file at hand. When neither holds the
    recorded SHA-256 (or none is recorded), the recorded file is taken if it exists, and
    the caller refuses it or notes it as before (a changed model, a case table checked
    value by value); with ``changed`` (a caller that checks the content, the case file)
    so is ``repo``'s when the recorded one is gone. A ``CalibrationConfigError`` naming
    the file and what to do otherwise."""
    path = Path(recorded)
    local = None if repo is None else repo / path.parent.name / path.name
    if sha256:
        for candidate in (path, local):
            if candidate is not None and candidate.is_file() and file_sha256(candidate) == sha256:
                return candidate
    if path.is_file():
        return path
    where = f"the fit's {what} {path} does not exist"
    if local is None:
        raise CalibrationConfigError(
            f"{where}: run in the checkout the fit was made in, or restore the file"
        )
    if not local.is_file():
        raise CalibrationConfigError(
            f"{where}, nor does {local}: run in the checkout the fit was made in"
        )
    if changed:
        return local
    if not sha256:
        raise CalibrationConfigError(
            f"{where}, and the fit records no SHA-256 to check {local} against: run in "
            "the checkout the fit was made in"
        )
    raise CalibrationConfigError(
        f"{where}, and {local} is not the file the fit was made on (SHA-256 differs): "
        "run in the checkout the fit was made in, or refit"
    )


@dataclass(frozen=True)
class FitCaseTable:
    """A case table read for a fit: the table (strings, as ``read_case_csv`` returns them)
    with the fit's revisions where they apply, the case file read, the revisions file
    applied ("" for none), the words that name the table in an error, and the note
    printed about it ("" for none: a changed case file whose values are the fit's, a
    table of new cases the fit's revisions name cases of); ``mapped``, the cases the
    content check of a changed file mapped (not strictly, with the fit's mapping and the
    model the caller gave), for :func:`fit_problem` to take rather than map them again
    (None: not checked, or checked with the fit's model the caller did not give)."""

    frame: pd.DataFrame
    path: Path
    revisions: str
    source: str
    note: str = ""
    mapped: CaseTable | None = field(default=None, repr=False, compare=False)


def fit_case_table(
    ds: xr.Dataset,
    cases: str | Path | None = None,
    *,
    repo: Path | None = None,
    revise: bool | None = None,
    id_column: str = "id",
    model: Model | None = None,
    own: bool = False,
) -> FitCaseTable:
    """The case table of ``cases`` as the fit ``ds`` reads it, its revisions applied.

    ``cases`` None, or ``own`` (a study that reads the repository's copy of the fit's
    table): the case table the fit was made on (None: :func:`recorded_file`, ``repo``'s
    when the recorded one is gone or changed), with the fit's revisions. When its SHA-256
    is not the fit's ``case_file_sha256`` it is taken, with a note naming it, only when
    every value the fit read is the same (:func:`fit_table_difference`: two columns
    added that the mapping does not read change the bytes, not the fit's problem), and
    refused naming the first case and value that differ otherwise.

    Otherwise the file ``cases`` (new cases, for ``predict``), with the fit's revisions
    applied when ``revise`` is True, never when False, and by default (None) when it is
    the fit's own table: the same SHA-256, or a changed file that passes the same check.
    A table of other cases is read as it is (the revisions name the fit's cases, not new
    ones), with a note naming the revisions file when they name some of its ids.

    ``model``: the model whose lever defaults fill the levers a case does not set, for
    the check (else the fit's, :func:`recorded_file`). A revisions file the fit recorded
    by path only is found as the case file is and refused when it changed
    (``revisions.fit_revisions``); ``apply_revisions`` refuses a revision whose coded
    value the table no longer holds."""
    attrs = dict(ds.attrs)
    recorded = str(attrs.get("case_file_sha256", "") or "")
    if cases is None:
        path = recorded_file(attrs["case_file"], recorded, "case file", repo, changed=True)
        own = True
    else:
        path = Path(cases)
    frame = read_case_csv(path, id_column)  # first: it refuses a missing file or a folder
    changed = bool(recorded) and file_sha256(path) != recorded
    if own or revise is True or (revise is None and not changed):
        table = _revised(ds, frame, path, repo, id_column)
        if own and changed:
            return _checked(ds, table, model, repo)
        return table
    plain = FitCaseTable(frame, path, "", f"case file {path}")
    if revise is False:
        return plain
    if ds.attrs.get("case_revisions") and _same_ids(ds, frame, id_column):
        try:
            table = _revised(ds, frame, path, repo, id_column)
        except (CaseDataError, CalibrationConfigError):  # a revision it cannot take, or
            table = None  # an older fit's revisions file gone: new cases need none
        if table is not None:
            difference, mapped = _difference(ds, table, model, repo)
            if difference is None:
                return _noted(ds, table, mapped)
    return _new_cases(ds, plain, repo, id_column)


def _revised(
    ds: xr.Dataset, frame: pd.DataFrame, path: Path, repo: Path | None, id_column: str
) -> FitCaseTable:
    """``frame`` (read from ``path``) with the fit's revisions applied, if it has any."""
    source = f"case file {path}"
    if not ds.attrs.get("case_revisions"):
        return FitCaseTable(frame, path, "", source)
    revisions, named = _revisions(ds, repo)
    frame = apply_revisions(frame, revisions, id_column=id_column, source=named)
    return FitCaseTable(frame, path, named, f"{source} with the revisions of {named}")


def _revisions(ds: xr.Dataset, repo: Path | None) -> tuple[pd.DataFrame, str]:
    """The fit's revisions and the file that holds them: its recorded text, else the
    file it recorded by path only, found as the case file is (:func:`recorded_file`)
    and refused when it changed (``revisions.fit_revisions``)."""
    attrs = dict(ds.attrs)
    if not attrs.get("case_revisions_text"):
        sha = attrs.get("case_revisions_sha256")
        where = recorded_file(attrs["case_revisions"], sha, "case revisions file", repo)
        attrs["case_revisions"] = str(where)
    return fit_revisions(attrs), attrs["case_revisions"]


def _since(ds: xr.Dataset) -> str:
    """ "since the fit <its file>", or "since the fit" for one built in memory."""
    source = ds.encoding.get("source", "")
    return f"since the fit {source}" if source else "since the fit"


def _checked(
    ds: xr.Dataset, table: FitCaseTable, model: Model | None, repo: Path | None
) -> FitCaseTable:
    """``table``, a case file of another SHA-256 than the fit's, taken as the fit's own
    with one printed note when every value the fit read is the same; refused naming the
    file, the first case and value that differ, and what to do, otherwise."""
    difference, mapped = _difference(ds, table, model, repo)
    if difference is None:
        return _noted(ds, table, mapped)
    recorded = Path(str(ds.attrs.get("case_file", "")))
    if table.path == recorded or recorded.is_file():
        raise CalibrationConfigError(
            f"case file {table.path} changed {_since(ds)} (SHA-256 differs) and the cases "
            f"it maps to are not the fit's: {difference}; restore the file the fit was "
            "made on, or refit"
        )
    raise CalibrationConfigError(  # repo's, standing in for a recorded file that is gone
        f"the fit's case file {recorded} does not exist, and {table.path} is not the file "
        "the fit was made on (SHA-256 differs) nor are the cases it maps to the fit's: "
        f"{difference}; run in the checkout the fit was made in, or refit"
    )


def _noted(ds: xr.Dataset, table: FitCaseTable, mapped: CaseTable | None) -> FitCaseTable:
    """``table``, whose SHA-256 is not the fit's but every value the fit read is, with
    its note, printed once: a reader that takes it says which file it took; and the
    cases its check ``mapped``, kept for :func:`fit_problem`."""
    note = (
        f"case file {table.path} changed since the fit, but every value the fit read is "
        f"the same (its SHA-256 is not the one recorded in {fit_name(ds)}; the cases, "
        "their levers, outcomes, weights and horizons are)"
    )
    print(f"note: {note}", file=sys.stderr)
    return replace(table, note=note, mapped=mapped)


def _same_ids(ds: xr.Dataset, frame: pd.DataFrame, id_column: str) -> bool:
    """Every case the fit recorded is a row of ``frame``: else it cannot be the fit's
    table, and mapping it to compare would be wasted (a table of 40,000 new cases)."""
    if "case" not in ds.coords:
        return False
    have = set(frame[id_column])
    return all(str(case) in have for case in ds["case"].values)


def _new_cases(
    ds: xr.Dataset, plain: FitCaseTable, repo: Path | None, id_column: str
) -> FitCaseTable:
    """``plain``, a table of other cases than the fit's, read without the fit's revisions;
    a note naming the revisions file when they name some of its ids that are the fit's
    cases too, whose rows here are then read as coded, not as the fit read them."""
    if not ds.attrs.get("case_revisions") or "case" not in ds.coords:
        return plain
    try:
        revised = set(_revisions(ds, repo)[0]["id"])
    except (CalibrationConfigError, CaseDataError):  # the note only: new cases need none
        return plain
    fitted = {str(case) for case in ds["case"].values}
    common = [i for i in dict.fromkeys(plain.frame[id_column]) if i in fitted and i in revised]
    if not common:
        return plain
    shown = ", ".join(common[:5]) + (f" and {len(common) - 5} more" if len(common) > 5 else "")
    note = (
        f"{plain.path} is not the case table the fit was made on, so the fit's revisions "
        f"({ds.attrs['case_revisions']}) are not applied to it, though they revise "
        f"{len(common)} of its cases that the fit has ({shown}): those rows are read as the "
        "file codes them; predict on the fit's own case table to have them revised"
    )
    print(f"note: {note}", file=sys.stderr)
    return replace(plain, note=note)


#: The variables a fit records of its cases, compared by :func:`fit_table_difference`.
CASE_VARIABLES = ("lever_value", "observed", "weight", "horizon")


def fit_table_difference(
    ds: xr.Dataset, table: FitCaseTable, model: Model | None = None, repo: Path | None = None
) -> str | None:
    """The first difference between the cases the fit ``ds`` recorded (its ``case`` ids,
    ``lever_value``, ``observed``, ``weight`` and ``horizon``) and those ``table`` maps
    to with the fit's mapping and config, in words ("case X: its Shock Year is 15 in
    the fit, 40 now"); None when every one is the same, exactly (NaN equal to NaN).

    Why the values rather than the bytes: the fit's problem is these values and nothing
    else of the file, so a table that gained columns the mapping does not read, or had
    a cell edited the mapping sends to the same value, is still the fit's table; and
    why every value exactly: a difference anywhere, however small, is another problem.
    ``model`` (else the fit's, :func:`recorded_file`, or the one there now when it
    changed: a study that runs no model takes one): its defaults fill a lever a case
    does not set, as the fit's problem filled it."""
    return _difference(ds, table, model, repo)[0]


def _difference(
    ds: xr.Dataset, table: FitCaseTable, model: Model | None, repo: Path | None
) -> tuple[str | None, CaseTable | None]:
    """:func:`fit_table_difference`, and the cases ``table`` maps to with ``model`` (not
    strictly), which :func:`fit_problem` takes rather than mapping the table a second
    time (1.1 s of CPU on 10,000 rows of v3's mapping); None when the fit records
    nothing to compare them with, or no ``model`` was given (they are mapped with the
    fit's)."""
    given = model is not None
    missing = [name for name in CASE_VARIABLES if name not in ds]
    if missing or "case" not in ds.coords or "lever" not in ds.coords:
        what = ", ".join(missing) or "case ids"
        return f"the fit records no {what} to compare them with", None
    if model is None:
        from gvcdyn.model import load  # lazy: the compiler, only for a changed file

        sha = ds.attrs.get("model_sha256")
        model = load(recorded_file(ds.attrs["model_path"], sha, "model", repo, changed=True))
    mapping, config = fit_mapping(ds), fit_config(ds)
    mapped = apply_mapping(table.frame, mapping, model=model, strict=False, source=table.source)
    return _mapped_difference(ds, mapped, model, config), mapped if given else None


def _mapped_difference(
    ds: xr.Dataset, mapped: CaseTable, model: Model, config: CalibrationConfig
) -> str | None:
    """The first difference between the cases the fit ``ds`` recorded and the ``mapped``
    ones, in words (:func:`fit_table_difference`); None when there is none."""
    from gvcdyn.calibrate.problem import case_weights, observed_levels  # lazy, as below

    ids = [str(case) for case in ds["case"].values]
    found = _id_difference(ids, list(mapped.ids), mapped)
    if found:
        return found
    levers = [str(lever) for lever in ds["lever"].values]
    if list(mapped.levers) != levers:
        return f"the mapped levers are {list(mapped.levers)}, the fit's {levers}"
    base = model.parameter_matrix({})[0]
    defaults = base[[model.parameter(lever).column for lever in levers]]
    now = {
        "lever_value": np.where(np.isnan(mapped.values), defaults, mapped.values),
        "observed": observed_levels(mapped, config.outcomes, strict=False),
        "horizon": mapped.horizon,
    }
    try:
        now["weight"] = case_weights(mapped, config)
    except CaseDataError as exc:
        return f"a weight cannot be read ({exc})"
    named = {
        "lever_value": [(lever, _shown) for lever in levers],
        "observed": [(o.column, partial(_level, o.levels)) for o in config.outcomes],
        "weight": [("weight", _shown)],
        "horizon": [("horizon", _shown)],
    }
    for i, case in enumerate(ids):
        for name in CASE_VARIABLES:
            fit_row = np.atleast_1d(ds[name].values[i])
            now_row = np.atleast_1d(now[name][i])
            for (label, show), was, is_ in zip(named[name], fit_row, now_row, strict=True):
                if was == is_ or (np.isnan(float(was)) and np.isnan(float(is_))):
                    continue
                return f"case {case}: its {label} is {show(was)} in the fit, {show(is_)} now"
    return None


def _id_difference(fitted: list[str], now: list[str], mapped: CaseTable) -> str | None:
    """The first difference between the fit's case ids and those mapped now, in words;
    None when they are the same, in the same order (the folds of a cross-validation
    follow the order)."""
    if fitted == now:
        return None
    have = set(now)
    gone = [case for case in fitted if case not in have]
    if gone:
        why = {x.case_id: f"{x.column}: {x.message}" for x in (*mapped.invalid, *mapped.excluded)}
        reason = f" ({why[gone[0]]})" if gone[0] in why else ""
        return f"case {gone[0]} of the fit is not mapped now{reason}"
    known = set(fitted)
    extra = [case for case in now if case not in known]
    if extra:
        return f"case {extra[0]} is mapped now but is not one of the fit's cases"
    k = next(k for k, (a, b) in enumerate(zip(fitted, now, strict=True)) if a != b)
    return f"the cases are in another order (case {k + 1} is {now[k]} now, {fitted[k]} in the fit)"


def _level(levels: tuple[str, ...], index: object) -> str:
    """An observed level index as the level it stands for ("blank": -1)."""
    return repr(levels[int(index)]) if int(index) >= 0 else "blank"


def _shown(value: object) -> str:
    """A recorded value in words, every digit that tells it apart (repr of the float)."""
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


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
    checks out of the problem, for a caller that judges no candidate by them (``predict``,
    a study that runs no model)."""
    ds = fit if isinstance(fit, xr.Dataset) else read_fit(fit)
    missing = missing_fit_parts(ds, FIT_ATTRS, draws=False)
    refuse_incomplete(ds.encoding.get("source") or "(in memory)", missing)
    config = fit_config(ds)
    mapping = fit_mapping(ds)
    if model is None:
        from gvcdyn.model import load  # lazy: the compiler, for a caller that passes none

        sha = ds.attrs.get("model_sha256")
        model = load(recorded_file(ds.attrs["model_path"], sha, "model", repo))
    current = model.ir.source_hash == ds.attrs["model_sha256"]
    if not current and not changed_model:
        raise CalibrationConfigError(_changed_model(ds, model))
    table = fit_case_table(ds, cases, repo=repo, id_column=mapping.id_column, model=model)
    config = replace(config, cases=table.path, checks=_checks_file(ds, config, repo, checks))
    mapped = table.mapped  # a changed file's, mapped once by its check (not strictly)
    if mapped is None or (strict and mapped.invalid):  # strict: the same error as ever
        mapped = apply_mapping(
            table.frame, mapping, model=model, strict=strict, source=table.source
        )
    if strict and len(mapped) == 0:
        raise CaseDataError(f"{table.source}: no case is left after the mapping")
    problem = None
    if len(mapped):
        from gvcdyn.calibrate.problem import CalibrationProblem  # lazy: scipy, the evaluator

        problem = CalibrationProblem(model, config, mapping, mapped, strict_outcomes=strict)
    return FitProblem(ds, config, mapping, model, table, mapped, problem, current)


def _changed_model(ds: xr.Dataset, model: Model) -> str:
    """The refusal of a model whose SHA-256 is not the fit's, naming the model loaded (the
    one given, or ``repo``'s in place of a recorded one), the file to restore or replace,
    beside the recorded path when it is another."""
    recorded = str(ds.attrs.get("model_path", ""))
    loaded = getattr(model, "path", None)
    if loaded is not None and Path(loaded).resolve() == Path(recorded).resolve():
        return (
            f"the model {loaded} changed {_since(ds)} (SHA-256 differs); refit, or restore "
            "the model the fit was made with"
        )
    name = "the model given" if loaded is None else f"the model {loaded}"
    return (
        f"{name} is not the one {fit_name(ds)} was made with ({recorded}; SHA-256 "
        "differs); refit, or give the model the fit was made with"
    )
