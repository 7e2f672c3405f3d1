"""The report of a sensitivity study (a netCDF file written by ``gvcdyn sensitivity``), any model.

The study's settings and provenance, the inputs and the ranges (or distributions and
groups) they were sampled over, then per output the indices of every input with their
confidence intervals at each time read, ranked by the total index (Sobol') or the mean
absolute elementary effect (Morris), the strongest second-order pairs when the study has
them, and the figure of ``gvcdyn.sensitivity.plots`` written beside the report. Variables
and attributes are those of ``gvcdyn.sensitivity.dataset`` (see ``docs/sensitivity.md``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from gvcdyn.reports.document import Bullets, Image, Report, Section, Table, Text, fmt
from gvcdyn.sensitivity.plots import plot_indices

__all__ = ["MAX_TIMES", "is_study", "ranking", "sensitivity_report", "shown_times"]

#: Times tabulated per output; a study read at more times shows this many, evenly spread
#: (the last always), and says so (the figure draws them all; the file holds them all).
MAX_TIMES = 6
#: Attributes that say how the design was made, listed when the study has them
#: (``gvcdyn.sensitivity.dataset``: timing levers, groups, evidence sources).
DESIGN_NOTES = (
    "timing_levers_varied",
    "timing_levers_fixed",
    "timing_levers_drawn",
    "timing_note",
    "groups",
    "cases_source",
    "cases_note",
    "posterior_source",
    "posterior_note",
)
#: Second-order pairs listed per output.
TOP_PAIRS = 5


def is_study(ds: xr.Dataset) -> bool:
    """Whether ``ds`` is a sensitivity study: Sobol' or Morris indices over (parameter,
    output, time)."""
    dims = {"parameter", "output", "time"}
    has = set(ds.data_vars)
    return dims <= set(ds.dims) and ({"S1", "ST"} <= has or {"mu", "mu_star"} <= has)


def missing_parts(ds: xr.Dataset) -> list[str]:
    """The variables and coordinates a study's report reads that ``ds`` lacks: the
    coordinates of its dimensions and each index's companions (Sobol': S1, ST and their
    ``_conf``, ``S2_conf`` with ``S2``; Morris: ``sigma``); a study without one is damaged
    or edited, which is said rather than ending in a KeyError."""
    wanted = ["parameter", "output", "time"]
    if {"S1", "ST"} <= set(ds.data_vars):
        wanted += ["S1_conf", "ST_conf"] + (["S2_conf"] if "S2" in ds else [])
    else:
        wanted += ["sigma"]
    return [part for part in wanted if part not in ds.variables]


def shown_times(times: np.ndarray, limit: int = MAX_TIMES) -> list[int]:
    """Indices of the times tabulated: all when at most ``limit``, else ``limit`` evenly
    spread with the first and the last."""
    n = len(times)
    if n <= limit:
        return list(range(n))
    return sorted({round(float(x)) for x in np.linspace(0, n - 1, limit)})


def ranking(ds: xr.Dataset, output: str, time_index: int) -> list[int]:
    """Parameter indices at (output, time) ranked by ST (Sobol') or mu_star (Morris),
    largest first, NaN last."""
    main = "ST" if "ST" in ds else "mu_star"
    values = ds[main].sel(output=output).isel(time=time_index).values
    return [int(i) for i in np.argsort(-np.nan_to_num(values, nan=-np.inf), kind="stable")]


def sensitivity_report(
    ds: xr.Dataset, folder: Path, stem: str, *, generated_by: str = "gvcdyn report"
) -> Report:
    """The report of the study ``ds``; its figure is written to
    ``folder/<stem>_indices.png`` (named in ``Report.files``)."""
    sobol = "ST" in ds
    report = Report(str(ds.attrs.get("title", "Sensitivity report")))
    report.opening += _provenance(ds, generated_by)
    report.add(_inputs(ds))
    path = plot_indices(ds, folder / f"{stem}_indices.png")
    report.files.append(path)
    times = ds["time"].values
    shown = shown_times(times)
    units = ds["time"].attrs.get("units", "")
    legend = (
        "ST: total-order index (the share of the output's variance that involves the input, "
        "alone or with others); S1: first-order index (the share it explains alone); "
        if sobol
        else "mu*: mean absolute elementary effect (ranks importance); mu: mean elementary "
        "effect (its sign is the direction when |mu| is close to mu*); sigma: spread of the "
        "effects (interactions, non-linearity); "
    )
    level = _level(ds)
    note = (
        f"{legend}± is the half-width of the {level} bootstrap confidence interval. Inputs "
        f"ranked by {'ST' if sobol else 'mu*'}."
    )
    if len(shown) < len(times):
        note += (
            f" {len(shown)} of the {len(times)} times read are tabulated "
            f"({', '.join(f'{times[i]:g}' for i in shown)}); the figure and the file hold all."
        )
    figure = Section("figure", "Indices").add(Text(note), Image(path.name, "Sensitivity indices"))
    report.add(figure)
    for output in (str(o) for o in ds["output"].values):
        section = report.add(Section(f"output/{output}", output))
        for t in shown:
            section.add(Text(f"**At time {times[t]:g}{f' {units}' if units else ''}.**"))
            section.add(_index_table(ds, output, t, sobol))
            if sobol:
                s1 = ds["S1"].sel(output=output).isel(time=t).values
                section.add(
                    Text(f"Sum of S1: {fmt(np.nansum(s1))} (1: additive; less: interactions).")
                )
        if "S2" in ds:
            section.add(_pairs(ds, output, times, units))
    report.add(_caveats(ds, sobol))
    return report


def _level(ds: xr.Dataset) -> str:
    level = ds.attrs.get("conf_level")
    return f"{100 * float(level):g}%" if level is not None else "95%"


def _provenance(ds: xr.Dataset, generated_by: str) -> list:
    a = ds.attrs
    method = str(a.get("method", "sobol"))
    design = (
        f"Sobol' (Saltelli sampling), N = {a.get('N', '?')}"
        + (", second order" if int(a.get("second_order", 0) or 0) else "")
        if method == "sobol"
        else f"Morris, {a.get('N', '?')} trajectories, {a.get('num_levels', '?')} levels"
    )
    items = [
        f"model: `{a.get('model', '?')}` (`{a.get('model_file', '?')}`, SHA-256 "
        f"`{str(a.get('model_sha256', ''))[:16]}...`)",
        f"design: {design}; seed {a.get('seed', '?')}; {a.get('num_resamples', '?')} bootstrap "
        f"resamples, {_level(ds)} intervals",
        f"runs: {int(a.get('n_runs', 0)):,}, of which {a.get('n_failed_runs', 0)} failed "
        f"({a.get('n_dropped_groups', 0)} base samples left out)",
        f"base: {a.get('base', '?')}; inputs: {a.get('levers_from', '?')}",
        f"integration: {a.get('integration_method', '?')}, time step {a.get('time_step', '?')}",
    ]
    for key in DESIGN_NOTES:
        if a.get(key):
            items.append(f"{key.replace('_', ' ')}: {a[key]}")
    return [
        Text(
            f"Generated by `{generated_by}` from a study made by `{a.get('command_line', '?')}` "
            f"on {a.get('created', '?')} (gvcdyn {a.get('gvcdyn_version', '?')})."
        ),
        Bullets(items),
    ]


def _inputs(ds: xr.Dataset) -> Section:
    section = Section("inputs", "Inputs")
    columns = ["input", "min", "max", "units"]
    coords = ds["parameter"].coords
    extra = [c for c in ("parameter_distribution", "parameter_members") if c in coords]
    columns += [c.removeprefix("parameter_") for c in extra]
    rows = []
    for i, name in enumerate(str(p) for p in ds["parameter"].values):
        row = [name]
        for key in ("parameter_min", "parameter_max"):
            row.append(fmt(ds[key].values[i], 4) if key in coords else "")
        row.append(str(ds["parameter_units"].values[i]) if "parameter_units" in coords else "")
        row += [str(ds[c].values[i]) for c in extra]
        rows.append(row)
    return section.add(
        Text(f"{len(rows)} inputs, each sampled over the range (or distribution) shown."),
        Table(columns, rows),
    )


def _pm(value: float, half: float) -> str:
    return f"{value:.3f} ± {half:.3f}" if np.isfinite(value) else ""


def _index_table(ds: xr.Dataset, output: str, t: int, sobol: bool) -> Table:
    one = ds.sel(output=output).isel(time=t)
    rows = []
    for rank, i in enumerate(ranking(ds, output, t), start=1):
        name = str(ds["parameter"].values[i])
        if sobol:
            cells = [
                _pm(float(one["ST"].values[i]), float(one["ST_conf"].values[i])),
                _pm(float(one["S1"].values[i]), float(one["S1_conf"].values[i])),
            ]
        else:
            conf = float(one["mu_star_conf"].values[i]) if "mu_star_conf" in one else np.nan
            cells = [
                _pm(float(one["mu_star"].values[i]), conf),
                fmt(float(one["mu"].values[i])),
                fmt(float(one["sigma"].values[i])),
            ]
        rows.append([str(rank), name, *cells])
    columns = ["rank", "input", *(["ST", "S1"] if sobol else ["mu*", "mu", "sigma"])]
    return Table(columns, rows)


def _pairs(ds: xr.Dataset, output: str, times: np.ndarray, units: str) -> Text | Table:
    s2 = ds["S2"].sel(output=output).isel(time=-1).values
    conf = ds["S2_conf"].sel(output=output).isel(time=-1).values
    names = [str(p) for p in ds["parameter"].values]
    pairs = [
        (s2[i, j], conf[i, j], names[i], names[j])
        for i in range(len(names))
        for j in range(i + 1, len(names))
        if np.isfinite(s2[i, j])
    ]
    pairs.sort(key=lambda p: -p[0])
    if not pairs:
        return Text("No second-order index could be estimated.")
    rows = [[a, b, _pm(v, c)] for v, c, a, b in pairs[:TOP_PAIRS]]
    when = f"{times[-1]:g}{f' {units}' if units else ''}"
    return Table([f"pair at time {when}", "with", "S2 (largest first)"], rows)


def _caveats(ds: xr.Dataset, sobol: bool) -> Section:
    section = Section("caveats", "How far to trust it")
    main = "ST" if sobol else "mu_star"
    conf = ds.get(f"{main}_conf")
    items = []
    if conf is not None:
        for output in (str(o) for o in ds["output"].values):
            widest = float(np.nanmax(conf.sel(output=output).values))
            items.append(
                f"{output}: widest {_level(ds)} interval of {'ST' if sobol else 'mu*'}: "
                f"±{widest:.3f}"
            )
    items += [
        "Indices depend on the ranges sampled: a narrow range makes an input look unimportant.",
        "Sobol' indices rank contributions to variance, not the size or sign of an effect; "
        "Morris' mu gives the direction."
        if sobol
        else "Morris screens: it ranks inputs cheaply; Sobol' indices say how much of the "
        "variance each carries.",
    ]
    return section.add(Bullets(items))
