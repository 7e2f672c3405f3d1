"""A quick picture of what-if runs: chosen variables over time, one line per run.

Made for the terminal workflow and the README: one panel per variable, units in the
axis labels. Each scenario gets its own colour; in a sweep, the runs of one scenario
share that colour in shades from light (first sweep point) to dark (last), and a second
legend names the swept lever(s) and their values. The elements of a subscripted variable
are told apart by line style, and a legend in its panel names them. Uses matplotlib's
``Agg`` backend (a ``Figure`` on an Agg canvas, never pyplot's global state, so the
caller's own backend choice is left alone) and writes the file atomically like the netCDF
results, in the format its extension names.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from gvcdyn.errors import UnknownVariableError
from gvcdyn.io.output_files import PLOT_FORMATS, check_plot_path
from gvcdyn.io.results_io import atomic_write

__all__ = ["PLOT_FORMATS", "check_plot_path", "plot_runs", "runs_figure"]

#: Above this many runs the legend would hide the data; lines are coloured by run order.
MAX_LEGEND_RUNS = 12
#: At most this many sweep points are named in the shade legend (first, ..., last).
MAX_SHADE_ENTRIES = 6
#: Line styles of a subscripted variable's elements, in element order (then repeated).
LINE_STYLES: tuple[str | tuple[int, tuple[int, ...]], ...] = (
    "-",
    "--",
    ":",
    "-.",
    (0, (5, 1, 1, 1, 1, 1)),
    (0, (8, 2)),
)
#: A style legend entry names at most this many of the elements that share the style.
MAX_STYLE_NAMES = 3

#: File extensions a plot may have, and the matplotlib format each one is written in.

#: One colour per scenario (matplotlib's tab10, which stays readable in shades).
_SCENARIO_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def _palette(n: int) -> tuple[str, ...]:
    """``n`` distinct colours where possible: tab10, or tab20 for more than ten lines."""
    if n <= len(_SCENARIO_COLOURS):
        return _SCENARIO_COLOURS
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps["tab20"]
    return tuple(to_hex(cmap(i)) for i in range(cmap.N))


def _label(ds: xr.Dataset, name: str) -> str:
    units = str(ds[name].attrs.get("units", "") or "")
    return f"{name} [{units}]" if units else name


def _shade(colour: str, position: float) -> tuple[float, float, float]:
    """``colour`` mixed with white: ``position`` 0 is light, 1 the full colour."""
    base = np.array(to_rgb(colour))
    lightness = 0.65 * (1.0 - position)
    return tuple(base + (1.0 - base) * lightness)


def _swept(ds: xr.Dataset) -> list[str]:
    raw = ds.attrs.get("swept_levers", [])
    names = [raw] if isinstance(raw, str) else list(np.atleast_1d(raw))
    return [str(n) for n in names if str(n)] if "lever" in ds.coords else []


def _run_styles(ds: xr.Dataset) -> tuple[list[tuple[float, ...]], list[Line2D], list[Line2D], str]:
    """Colour of every run, legend handles for scenarios and sweep shades, shade title.

    Without a sweep each run (scenario) has its own colour. With one, the runs of a
    scenario share its colour and the sweep point picks the shade.
    """
    n_runs = ds.sizes.get("run", 1)
    labels = (
        [str(v) for v in ds["scenario"].values]
        if "scenario" in ds.coords
        else [f"run {r}" for r in range(n_runs)]
    )
    swept = _swept(ds)
    if not swept:
        palette = _palette(n_runs)
        colours = [to_rgb(palette[r % len(palette)]) for r in range(n_runs)]
        handles = [
            Line2D([], [], color=c, label=label) for c, label in zip(colours, labels, strict=True)
        ]
        return colours, handles, [], ""
    bases = (
        [str(v) for v in ds["base_scenario"].values]
        if "base_scenario" in ds.coords
        else ["runs"] * n_runs
    )
    scenario_order = list(dict.fromkeys(bases))
    levers = [str(v) for v in ds["lever"].values]
    values = ds["lever_value"].values[:, [levers.index(s) for s in swept]]
    points = list(dict.fromkeys(tuple(row) for row in values))  # sweep points, in run order
    colours = []
    for base, row in zip(bases, values, strict=True):
        colour = _SCENARIO_COLOURS[scenario_order.index(base) % len(_SCENARIO_COLOURS)]
        k = points.index(tuple(row))
        colours.append(_shade(colour, k / max(len(points) - 1, 1)))
    scenario_handles = [
        Line2D([], [], color=_SCENARIO_COLOURS[i % len(_SCENARIO_COLOURS)], label=name)
        for i, name in enumerate(scenario_order)
    ]
    shown = sorted(
        {0, len(points) - 1, *np.linspace(0, len(points) - 1, MAX_SHADE_ENTRIES).astype(int)}
    )
    shade_handles = [
        Line2D(
            [],
            [],
            color=_shade("#404040", k / max(len(points) - 1, 1)),
            label=", ".join(f"{v:.4g}" for v in points[k]),
        )
        for k in shown
    ]
    return colours, scenario_handles, shade_handles, " , ".join(swept)


def _style_legend(ax: Axes, dims: Sequence[object], cells: Sequence[object]) -> None:
    """A legend in a subscripted variable's panel: which line style is which element.

    Colours say the run, styles the element; the styles are grey here so that they are
    not read as a run. With more elements than styles, the elements that share a style
    are named together.
    """
    names: list[list[str]] = [[] for _ in range(min(len(cells), len(LINE_STYLES)))]
    for j, cell in enumerate(cells):
        parts = cell if isinstance(cell, tuple) else (cell,)
        names[j % len(LINE_STYLES)].append(", ".join(str(p) for p in parts))
    handles = [
        Line2D(
            [],
            [],
            color="#404040",
            linestyle=LINE_STYLES[s],
            label=" / ".join(group[:MAX_STYLE_NAMES])
            + (f" / ... ({len(group)})" if len(group) > MAX_STYLE_NAMES else ""),
        )
        for s, group in enumerate(names)
    ]
    ax.legend(
        handles=handles,
        title=", ".join(str(d) for d in dims),
        fontsize=7,
        title_fontsize=7,
        framealpha=0.6,
        handlelength=3.0,
    )


def plot_runs(
    ds: xr.Dataset,
    variables: Sequence[str],
    path: str | Path,
    *,
    title: str | None = None,
) -> Path:
    """Plot ``variables`` of every run against time and write the picture to ``path``.

    The format follows the extension (``PLOT_FORMATS``; ``PlotFormatError`` otherwise,
    before anything is drawn). Raises ``UnknownVariableError`` for a name not in the
    dataset (e.g. not saved).
    """
    file_format = check_plot_path(path)
    fig = runs_figure(ds, variables, title=title)

    def write(tmp: Path) -> None:
        fig.savefig(tmp, format=file_format, dpi=110)

    return atomic_write(path, write)


def runs_figure(ds: xr.Dataset, variables: Sequence[str], *, title: str | None = None) -> Figure:
    """The figure ``plot_runs`` writes: one panel per variable, one line per run (and cell).

    Subscripted variables are drawn per element: line styles distinguish the elements,
    and a legend in the panel names them (``LINE_STYLES`` in element order).
    """
    missing = [v for v in variables if v not in ds.data_vars]
    if missing:
        raise UnknownVariableError(
            f"cannot plot {missing[0]!r}: not in the results (saved variables: "
            f"{', '.join(list(map(str, ds.data_vars))[:8])}...)"
        )
    variables = list(variables)
    n = max(len(variables), 1)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(5.0 * ncols, 3.4 * nrows + 1.2))
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True)
    n_runs = ds.sizes.get("run", 1)
    colours, scenario_handles, shade_handles, shade_title = _run_styles(ds)
    time = ds["time"].values
    time_units = str(ds["time"].attrs.get("units", "") or "")
    styles = LINE_STYLES
    for k, name in enumerate(variables):
        ax = axes[k // ncols][k % ncols]
        var = ds[name]
        if "time" not in var.dims:
            var = var.expand_dims(time=time)
        extra = [d for d in var.dims if d not in ("run", "time")]
        if extra:
            var = var.stack(_cell=extra)
            cells = list(var["_cell"].values)
        else:
            cells = [None]
        for r in range(n_runs):
            for j, cell in enumerate(cells):
                series = var.isel(run=r)
                if cell is not None:
                    series = series.isel(_cell=j)
                ax.plot(
                    time,
                    np.asarray(series.transpose("time", ...).values, dtype=float),
                    color=colours[r],
                    linestyle=styles[j % len(styles)],
                    linewidth=1.6 if n_runs <= MAX_LEGEND_RUNS or shade_handles else 0.8,
                )
        ax.set_title(name, fontsize=10)
        ax.set_ylabel(_label(ds, name), fontsize=9)
        ax.grid(alpha=0.3)
        if extra:
            _style_legend(ax, extra, cells)
    for k in range(len(variables), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel(f"time [{time_units}]" if time_units else "time")
    rows_of_legend = 0
    if shade_handles:
        first = fig.legend(
            handles=scenario_handles[:MAX_LEGEND_RUNS],
            title="scenario",
            loc="lower left",
            ncol=min(3, len(scenario_handles)),
            fontsize=8,
            title_fontsize=8,
            frameon=False,
        )
        fig.add_artist(first)
        fig.legend(
            handles=shade_handles,
            title=f"{shade_title} (light to dark)",
            loc="lower right",
            ncol=min(3, len(shade_handles)),
            fontsize=8,
            title_fontsize=8,
            frameon=False,
        )
        rows_of_legend = 1 + math.ceil(max(len(scenario_handles), len(shade_handles)) / 3)
    elif n_runs <= MAX_LEGEND_RUNS:
        fig.legend(
            handles=scenario_handles,
            loc="lower center",
            ncol=min(4, n_runs),
            fontsize=8,
            frameon=False,
        )
        rows_of_legend = math.ceil(n_runs / 4)
    else:
        fig.text(0.5, 0.01, f"{n_runs} runs, coloured in run order", ha="center", fontsize=8)
        rows_of_legend = 1
    bottom = 0.03 + 0.035 * rows_of_legend
    fig.suptitle(title or f"{ds.attrs.get('model', 'model')}: {n_runs} run(s)", fontsize=11)
    fig.tight_layout(rect=(0, bottom / (1 + 0.3 * nrows), 1, 0.96))
    return fig
