"""Run plots say which line style is which element of a subscripted variable.

Colours tell the runs apart; the elements of a subscripted variable are drawn solid,
dashed, dotted, ... and a legend in the variable's panel names them. Checked on the
figure's artists (matplotlib Agg), not on an image.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from gvcdyn.io.plotting import LINE_STYLES, MAX_STYLE_NAMES, runs_figure


def _dataset(regions: list[str], sectors: list[str] | None = None) -> xr.Dataset:
    rng = np.random.default_rng(0)
    data = {
        "output": (("run", "time", "Region"), rng.random((2, 4, len(regions)))),
        "total": (("run", "time"), rng.random((2, 4))),
    }
    coords: dict[str, object] = {
        "time": [0.0, 1.0, 2.0, 3.0],
        "Region": regions,
        "scenario": ("run", ["base", "high"]),
    }
    if sectors is not None:
        data["flow"] = (("run", "time", "Region", "Sector"), rng.random((2, 4, 2, len(sectors))))
        coords["Sector"] = sectors
    return xr.Dataset(data, coords=coords)


def _legend(ax) -> tuple[str, list[str], list[object]]:
    legend = ax.get_legend()
    assert legend is not None, f"no legend in the panel of {ax.get_title()}"
    return (
        legend.get_title().get_text(),
        [t.get_text() for t in legend.get_texts()],
        [_style(h) for h in legend.legend_handles],
    )


def _style(line) -> tuple[object, ...]:
    """A line's style: its name ('--' for every custom dash too) and its dash pattern."""
    return (line.get_linestyle(), line._unscaled_dash_pattern)  # no public getter


def test_a_subscripted_panel_names_the_element_of_each_line_style() -> None:
    fig = runs_figure(_dataset(["north", "south", "east"]), ["output", "total"])
    output, total = fig.axes[:2]
    title, labels, styles = _legend(output)
    assert title == "Region"
    assert labels == ["north", "south", "east"]
    # the legend's styles are those of the drawn lines: per run, the elements in order
    drawn = [_style(line) for line in output.get_lines()]
    assert drawn[:3] == styles and drawn[3:] == styles
    assert len(set(styles)) == 3
    assert total.get_legend() is None  # a scalar variable's lines are the runs only


def test_two_subscripts_are_named_together_and_shared_styles_list_their_elements() -> None:
    sectors = [f"s{i}" for i in range(5)]  # 2 x 5 = 10 cells, more than the styles
    fig = runs_figure(_dataset(["north", "south"], sectors), ["flow"])
    title, labels, styles = _legend(fig.axes[0])
    assert title == "Region, Sector"
    assert len(labels) == len(LINE_STYLES) == len(set(map(str, styles)))
    assert labels[0] == "north, s0 / south, s1"  # cells 0 and 6 share the first style
    assert labels[-1] == "south, s0"
    cells = [name for label in labels for name in label.split(" / ")]
    assert len(cells) == 10 and len(set(cells)) == 10


def test_a_style_shared_by_many_elements_is_named_short() -> None:
    regions = [f"r{i}" for i in range(len(LINE_STYLES) * (MAX_STYLE_NAMES + 2))]
    fig = runs_figure(_dataset(regions), ["output"])
    _, labels, _ = _legend(fig.axes[0])
    assert labels[0].startswith(" / ".join(regions[:: len(LINE_STYLES)][:MAX_STYLE_NAMES]))
    assert labels[0].endswith(f"/ ... ({MAX_STYLE_NAMES + 2})")
