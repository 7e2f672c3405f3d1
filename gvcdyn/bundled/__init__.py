"""The GVC upgrading model and its scenario files, shipped with gvcdyn.

The files live in the repository's ``models/`` folder and are installed as the package
``gvcdyn.bundled_models`` (``setup.py`` maps that package onto ``models/``), so
``gvcdyn demo`` finds them after ``pip install .`` as well as in an editable install.
What is specific to the GVC model (its file name, its main outcomes) lives here, not in
the generic modules.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from gvcdyn.errors import ModelFileNotFoundError

__all__ = ["GVC_MODEL_FILE", "GVC_OUTCOMES", "bundled_models_dir", "gvc_model"]

#: File name of the GVC upgrading model inside the bundled folder.
GVC_MODEL_FILE = "gvc_upgrading.mdl"

#: The main outcomes of the GVC upgrading model, shown first by ``run`` and ``demo``.
GVC_OUTCOMES = (
    "Unit Value",
    "Value Capture Share",
    "Market Position",
    "Innovation Gap",
    "Market Share",
    "Innovation Capability",
)


def bundled_models_dir() -> Path:
    """The folder holding the bundled model files (installed package data, or the source tree).

    An install made before the package mapping existed has no ``gvcdyn.bundled_models``;
    then the source tree's ``models/`` beside ``gvcdyn/`` is used.
    """
    spec = importlib.util.find_spec("gvcdyn.bundled_models")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(__file__).resolve().parents[1] / "models"


def gvc_model() -> tuple[Path, list[Path]]:
    """The GVC model file and its scenario files (sorted), both checked to exist."""
    from gvcdyn.scenarios import scenario_files

    root = bundled_models_dir()
    model = root / GVC_MODEL_FILE
    if not model.is_file():
        raise ModelFileNotFoundError(
            f"the GVC model shipped with gvcdyn is missing ({model}); reinstall gvcdyn "
            "(pip install gvcdyn, or pip install . in a clone)"
        )
    scenarios = scenario_files(root / "scenarios")
    if not scenarios:
        raise ModelFileNotFoundError(
            f"no scenario files (*.toml) in {root / 'scenarios'}; reinstall gvcdyn"
        )
    return model, scenarios
