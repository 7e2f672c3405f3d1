"""What decides a computation's numbers, part by named part: what a checkpoint must match.

A resumed job reuses chunks computed by an earlier process, so each chunk's numbers must
come from the very same computation as the chunks still to run. Everything that decides
a run's numbers besides its row of the design is listed here, in ONE place, for every
kind of job (a sensitivity study's or a calibration's ``Evaluator``, a sweep's chunk
function): the functions ``map_runs`` maps expose it as ``identity()``, and
``Execution.checkpoint`` takes it from them, so no command can leave a part out.

- ``model_sha256``: the ``.mdl`` file's bytes;
- ``kernel_sha256``: the generated source of the kernel module that runs ``method`` (the
  Euler/RK4 module, or an adaptive method's own, which holds its step control and
  tolerance): every equation, lookup table and the SHA-256 of every data file the model
  read (GET DIRECT/XLS ..., data variables), so a changed data file changes it even when
  the ``.mdl`` file did not change;
- ``data_files``: those data files' hashes again, by file, so a refusal can name the file;
- ``gvcdyn``: the version (the kernel's runtime functions are not in its source);
- ``method``, ``time_grid``: the integration method and the steps and saved times;
- ``fixed_parameters``: the whole parameter row every run starts from (model defaults,
  data-file constants, a scenario, a fit's estimates), by parameter name;
- ``varied_parameters``: the columns the design's values go into;
- ``outputs``: what is read from the runs and how.

Values are plain JSON (floats keep every bit: ``json`` writes ``repr``), so a manifest
shows them and a refused resume can say ``'k': was 0.5, now 0.7``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gvcdyn._version import __version__
from gvcdyn.errors import CheckpointError

if TYPE_CHECKING:
    from gvcdyn.backend.timegrid import TimeGrid
    from gvcdyn.model import Model

__all__ = ["computation_identity", "identity_of"]


def computation_identity(
    model: Model,
    *,
    method: str,
    grid: TimeGrid,
    base: np.ndarray,
    varied: Iterable[int],
    outputs: Sequence[Any],
) -> dict[str, Any]:
    """The identity of runs of ``model`` with ``method`` on ``grid``: every parameter at
    ``base`` except the ``varied`` columns (the design's), reading ``outputs`` (any
    JSON-able description: outcome specs, kernel cells)."""
    varied = [int(c) for c in varied]
    names = [p.name for p in model.parameters]
    base = np.asarray(base, dtype=np.float64)
    skip = set(varied)
    fixed = {names[j]: float(base[j]) for j in range(len(names)) if j not in skip}
    return {
        "model_sha256": model.ir.source_hash,
        "kernel_sha256": hashlib.sha256(model.kernel_source(method).encode()).hexdigest(),
        "data_files": _data_files(model.ir.data_files),
        "gvcdyn": __version__,
        "method": method,
        "time_grid": {
            "initial_time": float(grid.initial_time),
            "final_time": float(grid.final_time),
            "time_step": float(grid.time_step),
            "saveper": float(grid.saveper),
            "n_steps": int(grid.n_steps),
            "saved_times": len(grid.save_times),
        },
        "fixed_parameters": fixed,
        "varied_parameters": [names[j] for j in varied],
        "outputs": list(outputs),
    }


def identity_of(f: Any) -> dict[str, Any]:
    """``f.identity()``: what decides the numbers of a job's function, or an error that
    says what a checkpointed function must provide."""
    identity = getattr(f, "identity", None)
    if not callable(identity):
        raise CheckpointError(
            f"{type(f).__name__} cannot be checkpointed: a resumed job may reuse its saved "
            "chunks only if it says what decides its numbers; give it an identity() method "
            "(see gvcdyn.identity.computation_identity), as Evaluator has"
        )
    return dict(identity())


def _data_files(files: Sequence[tuple[str, str]]) -> dict[str, str]:
    """``{file: sha256}``, by file name (a moved project folder is the same data), by
    full path where two files share a name."""
    names = [Path(file).name for file, _ in files]
    return {
        (name if names.count(name) == 1 else file): digest
        for name, (file, digest) in zip(names, files, strict=True)
    }
