"""A what-if request, read and checked before anything runs: the model, every run's lever
values (``scenarios.build_batch``: a typo fails in a second, before any compile), the
time grid and the cells saved."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gvcdyn.dataset import build_dataset
from gvcdyn.model import Model, RawResult, load
from gvcdyn.progress import Progress, silent
from gvcdyn.whatif.labels import annotate, sweep_title
from gvcdyn.whatif.scenarios import (
    Batch,
    Scenario,
    SetsLike,
    SweepsLike,
    build_batch,
    read_scenario,
)

if TYPE_CHECKING:
    import xarray as xr

    from gvcdyn.backend.timegrid import TimeGrid
    from gvcdyn.language.ir import Variable

__all__ = ["WhatIf", "prepare_what_if"]


@dataclass(frozen=True)
class WhatIf:
    """A validated what-if request: the model, every run's lever values, what to save.

    ``variables`` are the names asked for, as the model spells them (None: every
    variable); ``grid`` is the time grid of every run and ``cells`` the kernel cells
    saved (what ``Model.run`` saves).
    """

    model: Model
    batch: Batch
    method: str
    final_time: float | None
    time_step: float | None
    variables: tuple[str, ...] | None
    allow_out_of_range: bool
    command_line: tuple[str, ...] | None
    grid: TimeGrid
    cells: np.ndarray

    @property
    def n_runs(self) -> int:
        return self.batch.n_runs

    @property
    def result_bytes(self) -> int:
        """Size of the saved values of every run (what one batch holds in memory)."""
        return self.n_runs * len(self.grid.save_times) * len(self.cells) * 8

    def computed(self) -> list[Variable]:
        """The variables the kernel saves, in the order of ``cells`` (as ``Model.run``)."""
        return _computed_variables(self.model, self.variables)

    def lever_matrix(self) -> np.ndarray:
        """``(runs, levers)``: each run's value of every lever the request touched."""
        return self.batch.lever_matrix()

    def simulate(self, X: np.ndarray | None = None) -> tuple[RawResult, np.ndarray]:
        """The kernel's results for the lever values ``X`` (default: every run's) and the
        parameter matrix they ran with; nothing is looked up or checked again."""
        matrix = self.batch.matrix(X)
        raw = self.model.simulate(
            matrix, method=self.method, grid=self.grid, columns=self.cells, checked=True
        )
        return raw, matrix

    def dataset(self, raw: RawResult, matrix: np.ndarray) -> xr.Dataset:
        """The labelled dataset of ``raw``, the results of ``matrix`` (as ``Model.run``
        builds it, then ``labelled``)."""
        reported = self.model.reported_variables(self.variables)
        return self.labelled(build_dataset(self.model, raw, reported, matrix, self.method))

    def labelled(self, ds: xr.Dataset) -> xr.Dataset:
        """``ds``, a result of this request, labelled by ``annotate`` (scenario, swept
        levers, provenance): the same labels whichever road ran it."""
        return annotate(
            ds,
            self.batch,
            self.model,
            command_line=self.command_line,
            allow_out_of_range=self.allow_out_of_range,
        )

    def title(self, name: str) -> str:
        """What was varied, as ``describe_request`` says it, from the request itself."""
        return sweep_title(name, {lever: self.batch.params[lever] for lever in self.batch.swept})


def prepare_what_if(
    model: str | Path | Model,
    scenarios: Sequence[str | Path | Scenario] = (),
    sets: SetsLike = (),
    sweeps: SweepsLike = (),
    *,
    method: str | None = None,  # None: the model's declared method
    final_time: float | None = None,
    time_step: float | None = None,
    variables: Sequence[str] | None = None,
    allow_out_of_range: bool = False,
    data_files: Sequence[str | Path] = (),
    command_line: Sequence[str] | None = None,
    progress: Progress = silent,
) -> WhatIf:
    """Read and check everything a what-if needs, without running it (see ``what_if``).

    ``model``: a model file, or a model already loaded (``data_files`` are then its own);
    ``scenarios``: scenario files, or scenarios already read (``read_scenario``); ``sets``
    and ``sweeps``: the command line's texts or mappings (``build_batch``)."""

    read = [s if isinstance(s, Scenario) else read_scenario(s) for s in scenarios]
    if not isinstance(model, Model):
        path = model
        with progress.stage(f"reading {path}"):
            model = load(path, data_files=list(data_files))
    method = model.integration_method(method)
    batch = build_batch(model, read, sets, sweeps, allow_out_of_range=allow_out_of_range)
    chosen = _model_names(model, variables) if variables is not None else None
    grid = model.grid(  # of every run, from the values all share (no matrix built)
        batch.shared_row()[None, :],
        varying=batch.varying(),
        final_time=final_time,
        time_step=time_step,
    )
    notice = saved_times_notice(grid)
    if notice is not None:
        warnings.warn(notice, stacklevel=2)
    computed = _computed_variables(model, chosen)
    _, cells = model.output_columns([v.name for v in computed])
    return WhatIf(
        model,
        batch,
        method,
        final_time,
        time_step,
        tuple(chosen) if chosen is not None else None,
        allow_out_of_range,
        tuple(command_line) if command_line is not None else None,
        grid,
        cells,
    )


def saved_times_notice(grid: TimeGrid) -> str | None:
    """What a user reading the results should know when the saved times are not every
    SAVEPER from INITIAL TIME up to FINAL TIME, else None.

    A value is saved where a step lands on SAVEPER's grid, and the last step may end past
    FINAL TIME (PySD's rule, ``gvcdyn.backend.timegrid``): a TIME STEP that does not divide
    SAVEPER (``--time-step 0.3`` under SAVEPER 1) saves every 3, and one longer than the
    run saves its end past FINAL TIME, which the summary then calls the final values.
    """
    t0, final, dt, saveper = grid.initial_time, grid.final_time, grid.time_step, grid.saveper
    times = np.asarray(grid.save_times)
    expected = t0 + saveper * np.arange(math.floor((final - t0) / saveper + 1e-9) + 1)
    if times.shape == expected.shape and np.allclose(times, expected, rtol=0, atol=1e-6 * dt):
        return None
    shown = ", ".join(f"{t:.6g}" for t in times[:3])
    shown += (
        f", ..., {times[-1]:.6g}" if times.size > 4 else "".join(f", {t:.6g}" for t in times[3:])
    )
    ratio = saveper / dt
    if abs(ratio - round(ratio)) > 1e-6 * max(ratio, 1.0):
        why = f"TIME STEP {dt:g} does not divide SAVEPER {saveper:g}"
        advice = f"give a TIME STEP that divides it (e.g. {saveper / math.ceil(ratio):g})"
    else:
        why = f"steps of {dt:g} do not end at FINAL TIME {final:g}"
        advice = "give a TIME STEP that divides the run's length"
    return (
        f"{why}: values are saved at {shown} (where a step lands on SAVEPER's grid; the "
        f"last step ends at {t0 + grid.n_steps * dt:.6g}), not every {saveper:g} from "
        f"{t0:g} to FINAL TIME {final:g}; {advice}"
    )


def _model_names(model: Model, variables: Sequence[str]) -> list[str]:
    """The model's own spelling of each name asked for, once each, in the order given.

    Names are looked up as the model reads them (case, spaces and underscores ignored),
    so ``stock`` finds ``Stock``; the results carry the model's spelling, and a caller
    who shows or plots ``variables`` by the user's spelling would not find them there.
    An unknown name fails here, before compiling, with the close names."""
    return list(dict.fromkeys(model.variable(name).name for name in variables))


def _computed_variables(model: Model, variables: Sequence[str] | None) -> list[Variable]:
    """The variables the kernel saves for ``variables``, as ``Model.run`` saves them."""
    return model.computed_variables(model.reported_variables(variables))
