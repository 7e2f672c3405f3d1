"""``gvcdyn.load``: a model file, or a shipped model by name, read and compiled.

``gvcdyn.model.load`` reads a path; the names of the shipped models are known here, in
the analyses layer, which may import the model (the seam below it may not import this
package). So ``gvcdyn.load("gvc_upgrading")`` takes the name that ``what_if``,
``sensitivity`` and every command take, by the same rule (:func:`resolve_model`: a file
that exists wins, else the shipped model of that name).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gvcdyn.bundled import resolve_model
from gvcdyn.model import Model
from gvcdyn.model import load as load_file

__all__ = ["load"]


def load(path: str | Path, data_files: Sequence[str | Path] = ()) -> Model:
    """Read a Vensim ``.mdl`` file, or the model shipped with gvcdyn that ``path`` names
    (``"gvc_upgrading"``; ``gvcdyn models`` lists them), and prepare its compiled kernel
    (cached per machine); see :func:`gvcdyn.model.load` for ``data_files`` and the
    model's settings file. A file that exists wins over a shipped name; neither is
    ``ModelFileNotFoundError`` naming the shipped models."""
    return load_file(resolve_model(path), data_files)
