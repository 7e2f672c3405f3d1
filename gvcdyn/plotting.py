"""A quick picture of what-if runs: chosen variables over time, one line per run.

Made for the terminal workflow and the README: one panel per variable, units in the
axis labels, the scenario labels in one legend. Uses matplotlib's ``Agg`` backend (no
display needed: a ``Figure`` on an Agg canvas, never pyplot's global state, so the
caller's own backend choice is left alone) and writes the PNG atomically like the netCDF results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gvcdyn.errors import UnknownVariableError
from gvcdyn.results_io import atomic_write

__all__ = ["plot_runs"]

#: Above this many runs the legend would hide the data; lines are coloured by run order.
MAX_LEGEND_RUNS = 12


def _label(ds: xr.Dataset, name: str) -> str:
    units = str(ds[name].attrs.get("units", "") or "")
    return f"{name} [{units}]" if units else name


def plot_runs(
    ds: xr.Dataset,
    variables: Sequence[str],
    path: str | Path,
    *,
    title: str | None = None,
) -> Path:
    """Plot ``variables`` of every run against time and write a PNG to ``path``.

    Subscripted variables are drawn per element (dashed styles distinguish elements).
    Raises ``UnknownVariableError`` for a name not in the dataset (e.g. not saved).
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
    fig = Figure(figsize=(5.0 * ncols, 3.4 * nrows + 0.9))
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True)
    labels = (ds["scenario"].values if "scenario" in ds.coords
              else np.array([f"run {r}" for r in ds["run"].values]))
    n_runs = ds.sizes.get("run", 1)
    cmap = matplotlib.colormaps["tab10" if n_runs <= 10 else "viridis"]
    colors = [cmap(i if n_runs <= 10 else i / max(n_runs - 1, 1)) for i in range(n_runs)]
    time = ds["time"].values
    time_units = str(ds["time"].attrs.get("units", "") or "")
    styles = ["-", "--", ":", "-."]
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
                ax.plot(time, np.asarray(series.values, dtype=float),
                        color=colors[r], linestyle=styles[j % len(styles)],
                        linewidth=1.6 if n_runs <= MAX_LEGEND_RUNS else 0.8,
                        label=str(labels[r]) if j == 0 else None)
        ax.set_title(name, fontsize=10)
        ax.set_ylabel(_label(ds, name), fontsize=9)
        ax.grid(alpha=0.3)
    for k in range(len(variables), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel(f"time [{time_units}]" if time_units else "time")
    if n_runs <= MAX_LEGEND_RUNS:
        handles, names = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, names, loc="lower center", ncol=min(4, n_runs), fontsize=8,
                   frameon=False)
        bottom = 0.06 + 0.035 * math.ceil(n_runs / 4)
    else:
        bottom = 0.06
        fig.text(0.5, 0.01, f"{n_runs} runs, coloured in run order", ha="center", fontsize=8)
    fig.suptitle(title or f"{ds.attrs.get('model', 'model')}: {n_runs} run(s)", fontsize=11)
    fig.tight_layout(rect=(0, bottom / (1 + 0.3 * nrows), 1, 0.96))

    def write(tmp: Path) -> None:
        fig.savefig(tmp, format="png", dpi=110)

    return atomic_write(path, write)
