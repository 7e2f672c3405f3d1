"""The models shipped with gvcdyn, their scenarios and calibration data, found by name.

The files live in the repository's ``models/`` and ``calibration/`` folders and are
installed beside this module as ``gvcdyn/bundled/models/`` and
``gvcdyn/bundled/calibration/`` (``setup.py`` maps the folders; only data is shipped,
no scripts). Keeping the two folders side by side keeps the relative paths written in
the files (the calibration mapping's ``model = "../models/gvc_upgrading.mdl"``) valid
after ``pip install .``; in a source tree (editable install) the repository's folders
are used.

Every command that takes a file takes a shipped one by name, and a path that exists
always wins: ``gvc_upgrading`` (or ``gvc_upgrading.mdl``, ``models/gvc_upgrading.mdl``)
is the model, ``captive`` (or ``scenarios/captive.toml``) one of its scenarios, and
``gvc_upgrading`` given to ``calibrate`` the model's calibration config. Scenario
names are looked up in the ``scenarios/`` folder beside the model, so a model of one's
own with such a folder gets the same. What is specific to the GVC model (its file
name, its main outcomes) lives here, not in the generic modules.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gvcdyn.errors import CalibrationConfigError, ModelFileNotFoundError, ScenarioFileError
from gvcdyn.io.tomlfile import not_found

__all__ = [
    "GVC_MODEL_FILE",
    "GVC_OUTCOMES",
    "ShippedModel",
    "bundled_models_dir",
    "gvc_model",
    "resolve_calibration_config",
    "resolve_model",
    "resolve_scenario",
    "shipped_models",
    "shipped_root",
]

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

#: what lists the shipped files, named in every "not found" message
LISTING = "'gvcdyn models' lists them"


def shipped_root() -> Path:
    """The folder holding ``models/`` and ``calibration/``: this package's folder when
    installed, the repository when gvcdyn runs from a source tree."""
    here = Path(__file__).resolve().parent
    if (here / "models").is_dir():
        return here
    return here.parents[1]


def bundled_models_dir() -> Path:
    """The folder holding the shipped model files (installed package data, or the source tree)."""
    return shipped_root() / "models"


def _calibration_dir() -> Path:
    return shipped_root() / "calibration"


@dataclass(frozen=True)
class ShippedModel:
    """A model shipped with gvcdyn: its file, its scenarios and its calibration configs."""

    path: Path
    scenarios: tuple[Path, ...]
    calibrations: tuple[Path, ...]

    @property
    def name(self) -> str:
        return self.path.stem


def _scenarios_of(model: Path) -> tuple[Path, ...]:
    return tuple(sorted((model.parent / "scenarios").glob("*.toml")))


def _config_model(config: Path) -> Path | None:
    """The model a calibration config fits (its own ``model``, else its mapping's), or
    ``None`` for a TOML file that is not a calibration config."""
    try:
        doc = tomllib.loads(config.read_text(encoding="utf-8"))
        if "estimate" not in doc:
            return None
        if "model" in doc:
            return (config.parent / str(doc["model"])).resolve()
        mapping = config.parent / str(doc["mapping"])
        model = tomllib.loads(mapping.read_text(encoding="utf-8"))["model"]
        return (mapping.parent / str(model)).resolve()
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError):
        return None


def shipped_models() -> list[ShippedModel]:
    """Every shipped model with its scenarios and calibration configs, sorted by name."""
    configs = [
        (path, model)
        for path in sorted(_calibration_dir().glob("*.toml"))
        if (model := _config_model(path)) is not None
    ]
    found = []
    for path in sorted(bundled_models_dir().glob("*.mdl")):
        fitted = tuple(c for c, m in configs if m == path.resolve())
        found.append(ShippedModel(path, _scenarios_of(path), fitted))
    return found


def _parts(name: str | Path) -> tuple[str, ...]:
    """A name as typed, split at either slash, without ``./``."""
    return PurePosixPath(str(name).replace("\\", "/")).parts


def _is_named(name: str | Path, path: Path, folders: tuple[str, ...]) -> bool:
    """Whether ``name`` names ``path``: its stem, its file name, or the file name under
    the last of ``folders`` (``scenarios/captive.toml``, ``models/scenarios/captive.toml``)."""
    parts = _parts(name)
    if not parts:
        return False
    *where, last = parts
    if last not in (path.stem, path.name):
        return False
    return tuple(where) == folders[len(folders) - len(where) :] if where else True


def _names(paths: tuple[Path, ...] | list[Path]) -> str:
    return ", ".join(p.stem for p in paths) or "none"


def resolve_model(name: str | Path) -> Path:
    """A model file: ``name`` itself if that is a file, else the shipped model it names.

    Raises ``ModelFileNotFoundError`` naming the shipped models when it is neither.
    """
    if Path(name).is_file():
        return Path(name)
    models = shipped_models()
    for model in models:
        if _is_named(name, model.path, ("models",)):
            return model.path
    if Path(name).is_dir():  # there, but not a file: say so, with the models in it
        inside = sorted(p.name for p in Path(name).glob("*.mdl"))
        raise ModelFileNotFoundError(
            f"{name} is a folder, not a model file; give the path to a Vensim .mdl file"
            + (f" in it ({', '.join(inside)})" if inside else "")
        )
    raise ModelFileNotFoundError(
        f"model file not found: {name}; give the path to a Vensim .mdl file or the name of "
        f"a model shipped with gvcdyn ({_names([m.path for m in models])}; {LISTING})"
    )


def resolve_scenario(name: str | Path, model: Path) -> Path:
    """A scenario file: ``name`` itself if that is a file, else the scenario of that name
    in the ``scenarios/`` folder beside ``model``.

    Raises ``ScenarioFileError`` naming the model's scenarios when it is neither.
    """
    if Path(name).is_file():
        return Path(name)
    scenarios = _scenarios_of(model)
    folders = ("models", "scenarios") if model.parent.name == "models" else ("scenarios",)
    for scenario in scenarios:
        if _is_named(name, scenario, folders):
            return scenario
    if not scenarios:
        raise ScenarioFileError(not_found("scenario file", name))
    raise ScenarioFileError(
        f"{not_found('scenario file', name)}; give a path to a scenario .toml file or the name "
        f"of one of {model.name}'s scenarios ({_names(scenarios)})"
    )


def resolve_calibration_config(name: str | Path) -> Path:
    """A calibration config: ``name`` itself if that is a file, else a shipped config
    named by its model (``gvc_upgrading``) or its file (``calibration/config.toml``).

    Raises ``CalibrationConfigError`` naming the shipped configs when it is neither.
    """
    if Path(name).is_file():
        return Path(name)
    models = shipped_models()
    for model in models:
        for config in model.calibrations:
            by_model = _is_named(name, model.path, ("models",))
            if by_model or _is_named(name, config, ("calibration",)):
                return config
    # a model's name takes its first config only, so only that one is listed by it (the
    # others, two dozen for the GVC models, are taken by file name and listed by LISTING)
    shipped = [f"{m.name} ({c.parent.name}/{c.name})" for m in models for c in m.calibrations[:1]]
    raise CalibrationConfigError(
        f"{not_found('calibration config', name)}; give the path to a config .toml file, "
        f"the name of a model shipped with a calibration ({', '.join(shipped) or 'none'}) "
        f"or the file name of a shipped config ({LISTING})"
    )


def gvc_model() -> tuple[Path, list[Path]]:
    """The GVC model file and its scenario files (sorted), both checked to exist."""
    root = bundled_models_dir()
    model = root / GVC_MODEL_FILE
    if not model.is_file():
        raise ModelFileNotFoundError(
            f"the GVC model shipped with gvcdyn is missing ({model}); reinstall gvcdyn "
            "(pip install gvcdyn, or pip install . in a clone)"
        )
    scenarios = list(_scenarios_of(model))
    if not scenarios:
        raise ModelFileNotFoundError(
            f"no scenario files (*.toml) in {root / 'scenarios'}; reinstall gvcdyn"
        )
    return model, scenarios
