"""A model's gvcdyn settings file: ``<stem>.settings.toml`` beside its ``.mdl``.

Why a file of its own: some settings of a model are gvcdyn's, not Vensim's, and the
``.mdl`` has no place for them. The integration method is the first: Vensim's settings
section (``gvcdyn.language.frontend.declared_integration``) knows Euler, RK2 and RK4
(its "Auto" variants use TIME STEP as a maximum step, another algorithm), so gvcdyn's
adaptive ``rk23``/``rk45`` cannot be written there without a Vensim reading the file
wrongly. The settings file sits beside the model as its checks file
(``<stem>.checks.toml``) does and is read whenever the model is loaded from a file::

    # models/gvc_upgrading.settings.toml
    integration = "rk23"     # any method gvcdyn runs: "euler", "rk4", "rk23:1e-6", ...

Precedence of the integration method: a method named for a computation (``method=``,
``--integration``, a calibration or sensitivity config's ``method``) > the settings
file > the ``.mdl``'s Vensim settings > Euler. A file that is not TOML, has a key this
module does not know, or names a method gvcdyn cannot run is refused when the model is
loaded, naming the file and the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gvcdyn.backend.kernel import check_method
from gvcdyn.errors import SimulationSettingsError
from gvcdyn.io.tomlfile import check_keys, read_toml, shown

__all__ = ["SETTINGS_SUFFIX", "ModelSettings", "read_settings", "settings_path"]

#: what follows a model's stem in the name of its settings file
SETTINGS_SUFFIX = ".settings.toml"

#: the settings file's keys, with what each holds (named in an unknown-key error)
KEYS = {"integration": "the integration method runs use when they name none"}


@dataclass(frozen=True)
class ModelSettings:
    """What a model's settings file says; ``path`` None: the model has no settings file."""

    path: Path | None = None
    integration: str | None = None  # None: the file does not set it


def settings_path(model_path: str | Path) -> Path:
    """Where the settings file of ``model_path`` is: ``models/m.mdl`` ->
    ``models/m.settings.toml``."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + SETTINGS_SUFFIX)


def read_settings(model_path: str | Path) -> ModelSettings:
    """The settings file beside ``model_path`` (an empty ``ModelSettings`` if there is
    none); a file that cannot be used raises ``SimulationSettingsError`` naming it."""
    path = settings_path(model_path)
    if not path.is_file():
        return ModelSettings()
    try:
        return ModelSettings(path, _integration(path))
    except SimulationSettingsError as exc:
        exc.at(file=path)  # the settings file, not the .mdl that load() would name
        raise


def _integration(path: Path) -> str | None:
    """The settings file's integration method, checked (None if it sets none)."""
    what = "model settings file"
    doc, _ = read_toml(path, what=what, invalid=SimulationSettingsError)
    where = f"{what} {path}"
    check_keys(
        doc,
        KEYS,
        where,
        SimulationSettingsError,
        hint="known: "
        + "; ".join(f"'{key}' ({meaning})" for key, meaning in KEYS.items())
        + "; correct its spelling or delete it",
    )
    integration = doc.get("integration")
    if integration is None:
        return None
    if not isinstance(integration, str):
        raise SimulationSettingsError(
            f"{where}: 'integration' must be a method in quotes, such as \"rk23\", "
            f"not {shown(integration)}"
        )
    try:
        return check_method(integration.strip())
    except SimulationSettingsError as exc:
        raise SimulationSettingsError(
            f"{where}: 'integration': {exc.message}; correct it, or delete the key to use "
            "the method the .mdl declares"
        ) from None
