"""Pictures of sensitivity results: ranked indices with intervals, and indices over time.

One row of panels per output: on the left the parameters ranked by total index (Sobol')
or mean absolute elementary effect (Morris) at the last time analysed, with the
first-order index beside it and the confidence intervals as error bars; on the right,
when several times were analysed, the total index of the leading parameters over time
with its interval shaded. matplotlib's ``Agg`` canvas, no pyplot state; written
atomically in the format the extension names.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gvcdyn.io.output_files import PLOT_FORMATS, check_plot_path
from gvcdyn.io.results_io import atomic_write

__all__ = ["FORMATS", "check_plot_path", "indices_figure", "plot_indices"]

FORMATS = PLOT_FORMATS
#: Parameters drawn over time per output (the rest would be an unreadable tangle).
TOP_OVER_TIME = 6


def _measures(ds: xr.Dataset) -> tuple[str, str | None, str]:
    """(main index, secondary index or None, axis label) of a Sobol' or Morris dataset."""
    if "ST" in ds:
        return "ST", "S1", "Sobol' index (total ST, first order S1)"
    return "mu_star", None, "Morris mu* (mean absolute elementary effect)"


def indices_figure(ds: xr.Dataset) -> Figure:
    """The figure for a sensitivity dataset (see the module docstring)."""
    main, second, label = _measures(ds)
    outputs = [str(o) for o in ds.output.values]
    over_time = ds.sizes["time"] > 1
    n_param = ds.sizes["parameter"]
    height = max(2.5, 0.32 * n_param + 1.2)
    fig = Figure(figsize=(12 if over_time else 6.5, height * len(outputs)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(outputs), 2 if over_time else 1, squeeze=False)
    last = float(ds.time.values[-1])
    for row, output in enumerate(outputs):
        one = ds.sel(output=output)
        _ranked(axes[row, 0], one.isel(time=-1), main, second, label)
        axes[row, 0].set_title(f"{output} at time {last:g}", fontsize=10)
        if over_time:
            _over_time(axes[row, 1], one, main)
            axes[row, 1].set_title(f"{output}: {main} over time", fontsize=10)
    method = ds.attrs.get("method", "")
    fig.suptitle(
        f"{method} sensitivity of {ds.attrs.get('model', '')} "
        f"(N = {ds.attrs.get('N', '?')}, base: {ds.attrs.get('base', '')})",
        fontsize=11,
    )
    return fig


def _ranked(ax, one: xr.Dataset, main: str, second: str | None, label: str) -> None:
    values = one[main].values
    order = np.argsort(np.nan_to_num(values, nan=-np.inf))  # largest at the top
    names = [str(one.parameter.values[i]) for i in order]
    y = np.arange(len(order))
    conf = f"{main}_conf"
    ax.barh(
        y + (0.2 if second else 0),
        values[order],
        height=0.4 if second else 0.7,
        xerr=one[conf].values[order] if conf in one else None,
        color="#1f77b4",
        label=main,
        capsize=2,
    )
    if second:
        ax.barh(
            y - 0.2,
            one[second].values[order],
            height=0.4,
            xerr=one[f"{second}_conf"].values[order],
            color="#ff7f0e",
            label=second,
            capsize=2,
        )
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xlabel(label, fontsize=9)
    ax.axvline(0, color="0.5", lw=0.5)
    ax.legend(fontsize=8, loc="lower right")


def _over_time(ax, one: xr.Dataset, main: str) -> None:
    values = one[main]
    conf = one.get(f"{main}_conf")
    strength = np.nan_to_num(values.max("time").values, nan=-np.inf)
    for i in np.argsort(-strength)[:TOP_OVER_TIME]:
        series = values.isel(parameter=i)
        line = ax.plot(one.time.values, series.values, label=str(one.parameter.values[i]))[0]
        if conf is not None:
            half = conf.isel(parameter=i).values
            ax.fill_between(
                one.time.values,
                series.values - half,
                series.values + half,
                color=line.get_color(),
                alpha=0.15,
                lw=0,
            )
    ax.set_xlabel(f"time [{one.time.attrs.get('units', '')}]", fontsize=9)
    ax.set_ylabel(main, fontsize=9)
    ax.legend(fontsize=7, loc="best")


def plot_indices(ds: xr.Dataset, path: str | Path) -> Path:
    """Draw :func:`indices_figure` and write it to ``path`` atomically."""
    fmt = check_plot_path(path)
    fig = indices_figure(ds)
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=110))
