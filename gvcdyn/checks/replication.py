"""Is a model simulated right? Compare gvcdyn's run with Vensim's output or with PySD.

``check_model`` runs the model with its own settings (the integration its .mdl declares,
which Vensim used, not gvcdyn's settings file's; its TIME STEP and SAVEPER; Euler
against PySD, which integrates with Euler only) and compares every shared column under
the reference suite's rule ``numpy.isclose(sim, ref, rtol, atol)``. Without a Vensim
output it runs PySD on a copy of the model, because ``pysd.read_vensim`` writes a ``.py``
file next to the ``.mdl`` and must never write into the user's (or a read-only) folder.
The files the model reads (GET XLS/DIRECT ..., named relative to the model's folder) are
copied next to the copy at the same relative places, so PySD finds them as it would
beside the original.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gvcdyn.backend.compiler import kernel_message
from gvcdyn.errors import CheckError, ModelFileNotFoundError
from gvcdyn.io.reference import (
    Comparison,
    check_tolerances,
    compare,
    compare_frames,
    dataset_columns,
    read_reference,
)
from gvcdyn.model import load
from gvcdyn.progress import Progress, silent

if TYPE_CHECKING:
    import pandas as pd


__all__ = ["check_model", "pysd_reference"]


def pysd_reference(
    model_path: str | Path,
    data_files: Sequence[str | Path] = (),
    read_files: Sequence[str | Path] = (),
) -> pd.DataFrame:
    """Run PySD on a copy of the model in a temporary folder and return its output frame.

    ``data_files``: other runs' outputs the model's data variables read. ``read_files``:
    the files its GET XLS/DIRECT functions read (``Model.ir.data_files`` lists them),
    copied beside the copy at their places relative to the model. Raises
    ``ModelFileNotFoundError`` for a missing file and ``CheckError`` (with PySD's own
    message) when PySD cannot translate or run the model.
    """
    model_path = Path(model_path)
    if not model_path.is_file():
        raise ModelFileNotFoundError(f"model file not found: {model_path}")
    import pysd

    with tempfile.TemporaryDirectory(prefix="gvcdyn_check_") as tmp:
        copy = _copy_with_files(model_path, read_files, Path(tmp))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                files = [str(Path(f).resolve()) for f in data_files]
                return pysd.read_vensim(str(copy), data_files=files or None).run()
        except Exception as exc:  # PySD raises many kinds; report, do not crash
            detail = " ".join(str(exc).split())[:300]
            raise CheckError(
                f"PySD could not run {model_path} for the comparison: "
                f"{type(exc).__name__}: {detail}; give a Vensim output with --reference"
            ) from exc


def check_model(
    model_path: str | Path,
    reference: str | Path | None = None,
    *,
    rtol: float = 1e-3,
    atol: float = 1e-6,
    data_files: Sequence[str | Path] = (),
    progress: Progress = silent,
) -> Comparison:
    """Simulate a model with its own settings and compare with Vensim's output or PySD.

    ``reference``: a Vensim export (``.tab``/``.csv``); ``None`` compares with a PySD run
    of the same model. The reference file is read first, so a bad one fails before any
    compile. ``data_files`` are other runs' outputs the model's data variables read.
    Returns a ``gvcdyn.io.reference.Comparison``.
    """

    check_tolerances(rtol, atol)  # a mistyped tolerance costs a second, not a compile
    ref = read_reference(reference) if reference is not None else None
    with progress.stage(f"reading {model_path}"):
        model = load(model_path, data_files=list(data_files))
    read = {Path(name).resolve() for name, _ in model.ir.data_files}
    for path in data_files:
        if Path(path).resolve() not in read:  # as gvcdyn run says it (cli.whatif)
            warnings.warn(
                f"--data {path}: the model read nothing from it (none of its data variables "
                "is in it, or an earlier --data file holds them); the check does not depend "
                "on it",
                stacklevel=2,
            )
    # Vensim ran the model with the integration its .mdl declares (not the one of gvcdyn's
    # settings file beside it); PySD integrates with Euler only
    method = model.integration_method(vensim=True) if ref is not None else "euler"
    with progress.stage(kernel_message(model, method)):
        ds = model.run(None, method=method)
    time, columns = dataset_columns(ds)
    if ref is not None:
        return compare(columns, ref, time=time, rtol=rtol, atol=atol)
    with progress.stage("running PySD on a copy of the model for the comparison"):
        read = [file for file, _ in model.ir.data_files]
        frame = pysd_reference(model_path, data_files, read)
    return compare_frames(columns, frame, time=time, rtol=rtol, atol=atol)


def _copy_with_files(model_path: Path, files: Sequence[str | Path], folder: Path) -> Path:
    """Copy the model into ``folder`` with each of ``files`` at its place relative to it.

    A file above the model's folder (``../data/x.xlsx``) needs the copy as deep in
    ``folder`` as the name climbs: the copy goes into the model's own last folder names,
    so ``../model/x.csv`` finds itself too. A file on another drive keeps its place.
    Returns the copy's path.
    """
    home = model_path.resolve().parent
    relative: list[tuple[Path, Path]] = []
    for file in files:
        try:
            relative.append((Path(file), Path(os.path.relpath(Path(file).resolve(), home))))
        except ValueError:  # another drive (Windows): PySD reads it where it is
            continue
    climb = max((rel.parts.count("..") for _, rel in relative), default=0)
    climb = min(climb, len(home.parts) - 1)  # never the root itself (an absolute join)
    place = folder.joinpath(*home.parts[len(home.parts) - climb :]) if climb else folder
    place.mkdir(parents=True, exist_ok=True)
    copy = place / model_path.name
    shutil.copy(model_path, copy)
    for source, rel in relative:
        target = Path(os.path.normpath(place / rel))
        if target == copy or not target.is_relative_to(folder):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    return copy
