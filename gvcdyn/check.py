"""Is a model simulated right? Compare gvcdyn's run with Vensim's output or with PySD.

``check_model`` runs the model with its own settings (Euler, its TIME STEP and SAVEPER)
and compares every shared column under the reference suite's rule
``numpy.isclose(sim, ref, rtol, atol)``. Without a Vensim output it runs PySD on a copy of
the model, because ``pysd.read_vensim`` writes a ``.py`` file next to the ``.mdl`` and
must never write into the user's (or a read-only) folder.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gvcdyn.errors import CheckError, ModelFileNotFoundError
from gvcdyn.progress import Progress, kernel_message, silent

if TYPE_CHECKING:
    import pandas as pd

    from gvcdyn.reference import Comparison

__all__ = ["check_model", "pysd_reference"]


def pysd_reference(model_path: str | Path, data_files: Sequence[str | Path] = ()) -> pd.DataFrame:
    """Run PySD on a copy of the model in a temporary folder and return its output frame.

    ``data_files``: other runs' outputs the model's data variables read. Raises
    ``ModelFileNotFoundError`` for a missing file and ``CheckError`` (with PySD's own
    message) when PySD cannot translate or run the model.
    """
    model_path = Path(model_path)
    if not model_path.is_file():
        raise ModelFileNotFoundError(f"model file not found: {model_path}")
    import pysd

    with tempfile.TemporaryDirectory(prefix="gvcdyn_check_") as tmp:
        copy = Path(tmp) / model_path.name
        shutil.copy(model_path, copy)
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
    Returns a ``gvcdyn.reference.Comparison``.
    """
    import gvcdyn
    from gvcdyn.reference import compare, compare_frames, dataset_columns, read_reference

    ref = read_reference(reference) if reference is not None else None
    with progress(f"reading {model_path}"):
        model = gvcdyn.load(model_path, data_files=list(data_files))
    with progress(kernel_message(model, "euler")):
        ds = model.run(None, method="euler")
    time, columns = dataset_columns(ds)
    if ref is not None:
        return compare(columns, ref, time=time, rtol=rtol, atol=atol)
    with progress("running PySD on a copy of the model for the comparison"):
        frame = pysd_reference(model_path, data_files)
    return compare_frames(columns, frame, time=time, rtol=rtol, atol=atol)
