"""A saved row of the one-function and adaptive kernels stores its cells with ``rt.scatter``.

Every visible cell goes into the run's ``vals`` buffer before the selected ones are
copied out. One array store per cell cost numba about 4 ms of compile time each (183
cells in gvc_upgrading); ``rt.scatter`` stores up to 16 consecutive cells per call, the
same values in the same slots, so what a run saves is unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from mdl_helpers import write_mdl

import gvcdyn
from gvcdyn.backend import adaptive, codegen

N_AUX = 21  # with the stock and the controls: more than one chunk, the last one partial


def _equations() -> str:
    lines = [f"aux {k} = Time * {k}\n\t~\t\n\t~\t\n\t|\n" for k in range(1, N_AUX + 1)]
    lines.append("level = INTEG(aux 1, 2)\n\t~\t\n\t~\t\n\t|\n")
    return "".join(lines)


@pytest.fixture
def model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> gvcdyn.Model:
    monkeypatch.setenv("GVCDYN_CACHE_DIR", str(tmp_path / "cache"))
    return gvcdyn.load(write_mdl(tmp_path, _equations(), final_time=4.0, time_step=0.5))


@pytest.mark.parametrize("module", ["fixed-step", "rk23"])
def test_every_cell_is_stored_in_its_slot_by_scatter(model: gvcdyn.Model, module: str) -> None:
    if module == "rk23":
        source = adaptive.generate(model.ir, "rk23")
        names = codegen.identifiers(model.ir, adaptive._OWN_NAMES)
        methods: tuple[str, ...] = ("rk23",)
    else:
        source = codegen.generate(model.ir, split=False)
        names = codegen.identifiers(model.ir)
        methods = codegen.METHODS
    assert not re.search(r"vals\[\d+\] =", source)  # no store per cell
    cells = codegen.visible_cells(model.ir)
    expected = [names[cell] for cell in cells]
    for method in methods:
        body = source.split(f"def batch_{method}(")[1].split("\ndef ")[0]  # the run inline
        calls = re.findall(r"rt\.scatter\(vp, (\d+), \(([^)]*)\)\)", body)
        assert len(calls) == -(-len(cells) // 16)  # ceil: at most 16 cells per call
        stored: list[str] = []
        for start, items in calls:
            assert int(start) == len(stored)  # consecutive slots, in the cells' order
            stored += [item.strip() for item in items.split(",") if item.strip()]
        assert stored == expected


@pytest.mark.parametrize("method", [*codegen.METHODS, "rk23"])
def test_saved_values_are_the_cells_values(model: gvcdyn.Model, method: str) -> None:
    result = model.run(method=method)
    time = result["time"].values
    np.testing.assert_array_equal(time, np.arange(0.0, 4.5, 0.5))
    for k in range(1, N_AUX + 1):
        np.testing.assert_array_equal(result[f"aux {k}"].values.ravel(), time * k)
    # level' = Time from 2: Euler sums dt * Time; RK4 is exact for it (dyadic values)
    level = result["level"].values.ravel()
    if method == "euler":
        expected = 2.0 + np.concatenate([[0.0], np.cumsum(0.5 * time[:-1])])
    else:
        expected = 2.0 + time**2 / 2.0
    if method == "rk23":  # its steps are its own: exact up to rounding
        np.testing.assert_allclose(level, expected, rtol=1e-12)
    else:
        np.testing.assert_array_equal(level, expected)
