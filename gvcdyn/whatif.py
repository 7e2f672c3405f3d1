"""What-if runs: scenario files, ``--set`` and ``--sweep`` through one batch, to a dataset.

``run_what_if`` is the whole workflow behind ``gvcdyn run`` and ``gvcdyn demo``: read the
scenario files, load the model, lay out and validate every run (``scenarios.build_batch``;
a typo fails in a second, before any compile), run them in ONE ``Model.run`` call and
label the result (``annotate``): which scenario each run belongs to, the value of every
lever the request touched, what was swept, and how to reproduce it (command line and
working directory). Printing and writing files are the caller's business.

A large sweep takes the other road, ``prepare_what_if`` then ``run_in_chunks``: the runs
go through ``gvcdyn.execute`` (in this process or on a dask cluster) in chunks, each
finished chunk checkpointed next to the output so that an interrupted sweep resumes. The
numbers are bitwise those of the one batch. Results that would not fit in memory stream
to the netCDF output chunk by chunk; that file keeps every saved cell as ``NAME(run,
time)`` (``NAME[a,b]`` for a subscripted cell) and the same run labels and lever values.
"""

from __future__ import annotations

import itertools
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from gvcdyn.bundled import GVC_OUTCOMES
from gvcdyn.errors import OutputWriteError
from gvcdyn.execute import Checkpoint, Execution, NetCDFSink, TimeSeriesLayout, fingerprint
from gvcdyn.execute.jobs import map_runs
from gvcdyn.progress import Progress, kernel_message, silent
from gvcdyn.scenarios import Batch, build_batch, read_scenario

if TYPE_CHECKING:
    from gvcdyn.ir import Variable
    from gvcdyn.model import Model
    from gvcdyn.timegrid import TimeGrid

__all__ = [
    "STREAM_BYTES",
    "SweepRuns",
    "WhatIf",
    "annotate",
    "describe_request",
    "prepare_what_if",
    "run_batch",
    "run_in_chunks",
    "run_what_if",
    "shown_variables",
    "streams",
]

#: Results larger than this go to the output file chunk by chunk instead of into memory.
STREAM_BYTES = 2**30
#: Bytes of results per chunk of a chunked sweep (a chunk is held in memory twice).
CHUNK_BYTES = 32 * 2**20
#: Most runs in one chunk (small models: a chunk is then about a second of work).
MAX_CHUNK_RUNS = 8192

#: called with the number of runs finished since the last call
Advance = Callable[[int], None]


def run_what_if(
    model_path: str | Path,
    scenarios: Sequence[str | Path] = (),
    sets: Sequence[str] = (),
    sweeps: Sequence[str] = (),
    *,
    method: str = "euler",
    final_time: float | None = None,
    time_step: float | None = None,
    variables: Sequence[str] | None = None,
    allow_out_of_range: bool = False,
    data_files: Sequence[str | Path] = (),
    command_line: Sequence[str] | None = None,
    progress: Progress = silent,
) -> xr.Dataset:
    """Run every what-if of the request in one batch and return the labelled dataset.

    ``sets`` are ``NAME=VALUE`` strings, ``sweeps`` ``NAME=START:STOP:N`` strings (see
    ``gvcdyn.scenarios``); ``variables`` limits what is saved (default: everything);
    ``data_files`` are other runs' outputs the model's data variables read.
    """
    request = prepare_what_if(
        model_path,
        scenarios,
        sets,
        sweeps,
        method=method,
        final_time=final_time,
        time_step=time_step,
        variables=variables,
        allow_out_of_range=allow_out_of_range,
        data_files=data_files,
        command_line=command_line,
        progress=progress,
    )
    return run_batch(request, progress=progress)


@dataclass(frozen=True)
class WhatIf:
    """A validated what-if request: the model, every run's lever values, what to save.

    ``variables`` are the names asked for (None: every variable); ``grid`` is the time
    grid of every run and ``cells`` the kernel cells saved (what ``Model.run`` saves).
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
        columns = [self.batch.params[name] for name in self.batch.levers]
        return np.stack(columns, axis=1) if columns else np.zeros((self.n_runs, 0))

    def title(self, name: str) -> str:
        """What was varied, as ``describe_request`` says it, from the request itself."""
        return _sweep_title(name, {lever: self.batch.params[lever] for lever in self.batch.swept})


def prepare_what_if(
    model_path: str | Path,
    scenarios: Sequence[str | Path] = (),
    sets: Sequence[str] = (),
    sweeps: Sequence[str] = (),
    *,
    method: str = "euler",
    final_time: float | None = None,
    time_step: float | None = None,
    variables: Sequence[str] | None = None,
    allow_out_of_range: bool = False,
    data_files: Sequence[str | Path] = (),
    command_line: Sequence[str] | None = None,
    progress: Progress = silent,
) -> WhatIf:
    """Read and check everything a what-if needs, without running it (see ``run_what_if``)."""
    import gvcdyn

    read = [read_scenario(p) for p in scenarios]
    with progress(f"reading {model_path}"):
        model = gvcdyn.load(model_path, data_files=list(data_files))
    batch = build_batch(model, read, sets, sweeps, allow_out_of_range=allow_out_of_range)
    chosen = list(variables) if variables is not None else None
    if chosen is not None:
        for name in chosen:  # fail before compiling, with the close names
            model.output_columns([name])
    grid = model.grid(
        _rows_marking_varied(model, batch), final_time=final_time, time_step=time_step
    )
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


def _computed_variables(model: Model, variables: Sequence[str] | None) -> list[Variable]:
    """The variables the kernel saves for ``variables`` (constants come from the inputs)."""
    chosen, _ = model.output_columns(variables)
    return [v for v in chosen if model.parameter_columns(v) is None]


def _rows_marking_varied(model: Model, batch: Batch) -> np.ndarray:
    """Two parameter rows whose shared values are exactly the values all runs share.

    ``Model.grid`` evaluates the controls from the parameters equal in every row, so these
    two rows give the grid of the whole batch without building its full matrix.
    """
    rows = np.tile(model.defaults(), (2, 1))
    for name in batch.levers:
        column = batch.params[name]
        rows[:, model.parameter(name).column] = (column.min(), column.max())
    return rows


def run_batch(request: WhatIf, *, progress: Progress = silent) -> xr.Dataset:
    """Every run of ``request`` in ONE ``Model.run`` call, labelled (the small-job road)."""
    model = request.model
    with progress(kernel_message(model, request.method)):
        ds = model.run(
            request.batch.params,
            method=request.method,
            final_time=request.final_time,
            time_step=request.time_step,
            variables=list(request.variables) if request.variables is not None else None,
            allow_out_of_range=request.allow_out_of_range,
        )
    return annotate(
        ds,
        request.batch,
        model,
        command_line=request.command_line,
        allow_out_of_range=request.allow_out_of_range,
    )


class SweepRuns:
    """``f(X) -> (Y, status)`` of a sweep's chunk: lever values in, saved values out.

    ``X (n, levers)`` goes into the model's defaults as ``Model.run`` would place it;
    ``Y (n, cells * times)`` holds each saved cell's series one after the other (the
    layout ``TimeSeriesLayout`` streams). It pickles as the model (IR and kernel source),
    so a dask worker loads the compiled kernel from its cache.
    """

    def __init__(self, request: WhatIf) -> None:
        model = request.model
        self.model = model
        self.method = request.method
        self.grid = request.grid
        self.cells = request.cells
        self.lever_columns = np.array(
            [model.parameter(name).column for name in request.batch.levers], dtype=np.int64
        )

    def __call__(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        matrix = np.tile(self.model.defaults(), (len(X), 1))
        matrix[:, self.lever_columns] = X
        raw = self.model.simulate(matrix, method=self.method, grid=self.grid, columns=self.cells)
        Y = np.ascontiguousarray(raw.values.transpose(0, 2, 1)).reshape(len(X), -1)
        return Y, raw.status


def streams(request: WhatIf, output: Path | None) -> bool:
    """Whether the results go to ``output`` chunk by chunk: when they exceed
    ``STREAM_BYTES``; raises ``OutputWriteError`` if they do and there is no output."""
    if request.result_bytes <= STREAM_BYTES:
        return False
    if output is None:
        raise OutputWriteError(
            f"the {request.n_runs:,} runs make {request.result_bytes / 2**30:.1f} GiB of "
            "results, more than fit in memory: give --out FILE to stream them to disk "
            "(or save fewer variables with --vars)"
        )
    return True


def sweep_chunk_size(request: WhatIf) -> int:
    """Runs per chunk: about ``CHUNK_BYTES`` of results, whatever the executor (so that a
    sweep resumes with another ``--workers``)."""
    per_run = max(1, len(request.grid.save_times) * len(request.cells) * 8)
    return int(max(1, min(MAX_CHUNK_RUNS, CHUNK_BYTES // per_run, request.n_runs)))


def run_in_chunks(
    request: WhatIf,
    execution: Execution | None = None,
    *,
    stream: bool | None = None,
    chunk_size: int | None = None,
    advance: Advance | None = None,
) -> xr.Dataset:
    """The runs of ``request`` through ``gvcdyn.execute``, chunk by chunk; the same numbers
    as ``run_batch``.

    ``execution`` says where chunks run and, with an ``output``, checkpoints each finished
    chunk in ``<output>.job/`` (``resume`` continues from there; a changed model,
    scenario, sweep or setting is refused). ``stream`` (default: when the results exceed
    ``STREAM_BYTES``) writes them to ``execution.output`` chunk by chunk and returns that
    file opened lazily; otherwise the dataset is the one ``run_batch`` returns (and the
    caller writes it). ``advance(runs)`` is called as chunks finish.
    """
    execution = execution or Execution()
    stream = streams(request, execution.output) if stream is None else stream
    if stream and execution.output is None:
        raise OutputWriteError("a streamed sweep needs a file: give execution an output")
    X = request.lever_matrix()
    chunk = chunk_size or sweep_chunk_size(request)
    checkpoint = None
    if execution.output is not None:
        fp = fingerprint(
            model=request.model.ir.source_hash,
            config=_sweep_config(request),
            seed=None,
            n_runs=len(X),
            chunk_size=chunk,
            X=X,
        )
        checkpoint = Checkpoint.open(
            execution.output,
            fp,
            resume=execution.resume,
            resume_command=execution.resume_command,
            keep=execution.keep_checkpoint,
        )
    # runs per chunk; map_runs reports how many chunks are done, not which: the k-th report
    # adds the k-th size (only the last chunk is short, so the bar ends exactly at n_runs)
    sizes = [min(start + chunk, len(X)) - start for start in range(0, len(X), chunk)]

    def report(done: int, total: int) -> None:
        if advance is not None:
            advance(sizes[done - 1])

    sink = _stream_sink(request, execution.output) if stream else None
    result = map_runs(
        SweepRuns(request),
        X,
        executor=execution.executor,
        chunk_size=chunk,
        checkpoint=checkpoint,
        sink=sink,
        progress=report,
    )
    if stream:
        return xr.open_dataset(result.output)
    return _dataset(request, result.Y, result.status)


def _sweep_config(request: WhatIf) -> dict[str, Any]:
    """What a sweep's checkpoint must match besides the model and the lever values."""
    grid = request.grid
    return {
        "job": "what-if sweep",
        "method": request.method,
        "levers": list(request.batch.levers),
        "variables": list(request.variables) if request.variables is not None else None,
        "cells": [int(c) for c in request.cells],
        "grid": [grid.initial_time, grid.final_time, grid.time_step, grid.saveper],
    }


def _dataset(request: WhatIf, Y: np.ndarray, status: np.ndarray) -> xr.Dataset:
    """The chunks' results as the dataset ``run_batch`` builds from one batch."""
    from gvcdyn.dataset import build_dataset
    from gvcdyn.model import RawResult

    model = request.model
    n_times = len(request.grid.save_times)
    values = Y.reshape(len(Y), len(request.cells), n_times).transpose(0, 2, 1)
    cells = tuple(model.cells()[i] for i in request.cells)
    raw = RawResult(values, status, request.grid, cells)
    chosen, _ = model.output_columns(request.variables)
    shown = {v.name for v in chosen}
    chosen += [v for v in model.ir.variables if v.kind == "constant" and v.name not in shown]
    matrix = model.parameter_matrix(
        request.batch.params, allow_out_of_range=request.allow_out_of_range
    )
    ds = build_dataset(model, raw, chosen, matrix, request.method)
    return annotate(
        ds,
        request.batch,
        model,
        command_line=request.command_line,
        allow_out_of_range=request.allow_out_of_range,
    )


def cell_labels(var: Variable) -> list[str]:
    """Names of a variable's defined cells: ``Name``, or ``Name[a,b]`` per element."""
    if not var.dims:
        return [var.name]
    elements = itertools.product(*var.coords)
    return [
        f"{var.name}[{','.join(e)}]"
        for e, cell in zip(elements, var.cells, strict=True)
        if cell not in var.undefined
    ]


def _stream_sink(request: WhatIf, path: Path) -> NetCDFSink:
    """A netCDF file with one ``(run, time)`` variable per saved cell, labelled as
    ``annotate`` labels a dataset (the labels are coordinates when read by xarray)."""
    from gvcdyn.dataset import provenance
    from gvcdyn.model import RawResult
    from gvcdyn.results_io import netcdf_safe

    model = request.model
    labels: list[str] = []
    described: dict[str, dict[str, Any]] = {}
    for var in request.computed():
        for label in cell_labels(var):
            labels.append(label)
            described[label] = {"units": var.units, "description": var.doc, "kind": var.kind}
    described["time"] = {"units": model.ir.controls.time_units}
    extra = _run_coords(request.batch, model)
    attrs = provenance(model, RawResult(None, None, request.grid, ()), request.method)
    attrs.update(_request_attrs(request.batch, request.command_line, request.allow_out_of_range))
    attrs["layout"] = "every saved cell as NAME(run, time); streamed chunk by chunk"
    attrs["coordinates"] = " ".join(name for name in extra if name != "lever")
    attrs = netcdf_safe(xr.Dataset(attrs=attrs)).attrs
    return NetCDFSink(
        path,
        request.n_runs,
        layout=TimeSeriesLayout(labels, request.grid.save_times),
        attrs=attrs,
        extra=extra,
        variable_attrs={k: netcdf_safe(xr.Dataset(attrs=v)).attrs for k, v in described.items()},
    )


def annotate(
    ds: xr.Dataset,
    batch: Batch,
    model: Model,
    *,
    command_line: Sequence[str] | None = None,
    allow_out_of_range: bool = False,
) -> xr.Dataset:
    """Attach run labels, lever values, what was swept and provenance to a run's result.

    Lever values become coordinates ``lever_value(run, lever)`` indexed by the lever
    names: netCDF's ``coordinates`` attribute is space separated, so Vensim names with
    spaces cannot be coordinates of their own. ``scenario`` labels each run and
    ``base_scenario`` names the scenario it starts from (without the swept values).
    """
    ds = ds.copy()
    ds = ds.assign_coords(_run_coords(batch, model))
    ds.attrs.update(_request_attrs(batch, command_line, allow_out_of_range))
    ds.attrs["n_runs"] = int(ds.sizes["run"])
    ds.attrs.setdefault("title", f"gvcdyn what-if runs of {ds.attrs.get('model', 'a model')}")
    return ds


def _run_coords(batch: Batch, model: Model) -> dict[str, tuple]:
    """``name: (dims, values, attrs)`` of the run labels and lever values of a batch."""
    coords: dict[str, tuple] = {
        "scenario": (
            ("run",),
            np.array(batch.labels, dtype=str),
            {"description": "label of each run: scenario name and swept values"},
        ),
        "base_scenario": (
            ("run",),
            np.array(batch.bases, dtype=str),
            {"description": "the scenario (or 'default') each run starts from"},
        ),
        "scenario_description": (
            ("run",),
            np.array(batch.descriptions, dtype=str),
            {"description": "description from the scenario file"},
        ),
    }
    if batch.levers:
        params = [model.parameter(name) for name in batch.levers]
        coords["lever"] = (
            ("lever",),
            np.array(batch.levers, dtype=str),
            {"description": "model constants set by the what-if request"},
        )
        coords["lever_value"] = (
            ("run", "lever"),
            np.stack([batch.params[name] for name in batch.levers], axis=1),
            {
                "description": "value of each lever in each run (the model default where "
                "the run does not set it)"
            },
        )
        coords["lever_units"] = (
            ("lever",),
            np.array([p.units for p in params], dtype=str),
            {"description": "units of each lever"},
        )
        coords["lever_default"] = (
            ("lever",),
            np.array([p.default for p in params]),
            {"description": "the model's default value of each lever"},
        )
    return coords


def _request_attrs(
    batch: Batch, command_line: Sequence[str] | None, allow_out_of_range: bool
) -> dict[str, Any]:
    """How to reproduce a what-if: command line, working directory, what was swept."""
    argv = command_line if command_line is not None else [Path(sys.argv[0]).name, *sys.argv[1:]]
    return {
        "command_line": shlex.join(argv),
        "working_directory": os.getcwd(),
        "swept_levers": list(batch.swept),
        "allow_out_of_range": int(allow_out_of_range),
        "n_runs": int(batch.n_runs),
    }


def shown_variables(ds: xr.Dataset, variables: Sequence[str] | None, limit: int = 6) -> list[str]:
    """The variables a summary shows: the requested ones, else the main outcomes.

    The GVC model's main outcomes when present; otherwise the model's stocks (the state
    is what a modeler looks at first), at most ``limit``.
    """
    from gvcdyn.results_io import default_outcomes

    if variables is not None:
        return list(variables)
    return default_outcomes(ds, preferred=GVC_OUTCOMES, limit=limit)


def describe_request(ds: xr.Dataset, name: str) -> str:
    """A title that says what was varied: the model (or name) and the swept levers' ranges."""
    swept = [str(s) for s in np.atleast_1d(ds.attrs.get("swept_levers", [])) if str(s)]
    if not swept or "lever" not in ds.coords:
        return name
    levers = [str(v) for v in ds["lever"].values]
    return _sweep_title(
        name, {lever: ds["lever_value"].values[:, levers.index(lever)] for lever in swept}
    )


def _sweep_title(name: str, swept: dict[str, np.ndarray]) -> str:
    """``name: sweep of A 0 to 1 (5 values) x B ...`` (just ``name`` when nothing is swept)."""
    parts = []
    for lever, column in swept.items():
        values = np.unique(column)
        parts.append(f"{lever} {values.min():g} to {values.max():g} ({len(values)} values)")
    return f"{name}: sweep of " + " x ".join(parts) if parts else name
