"""Scenario files: a named set of lever values in TOML, read and checked for form.

A scenario file is ``description = "..."`` and a ``[parameters]`` table of ``lever =
value``. Reading it is input, not analysis: the parameter space (``gvcdyn.space``), the
reality checks and the what-if all take scenario files, so the reader sits in the I/O
layer below them. Whether the names are the model's levers is checked later, against a
model (``gvcdyn.whatif.scenarios.build_batch``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gvcdyn.errors import GvcdynError, ScenarioFileError, ScenarioFormatError
from gvcdyn.io.tomlfile import check_keys, read_toml, shown
from gvcdyn.names import first_repeat, name_key

__all__ = ["Scenario", "read_scenario"]

_ALLOWED_KEYS = {"description", "parameters"}


@dataclass(frozen=True)
class Scenario:
    """A named set of lever values.

    ``source`` says where the values came from (a file path or ``"defaults"``) so that
    every later error can point the user back to it.
    """

    name: str
    parameters: Mapping[str, float] = field(default_factory=dict)
    description: str = ""
    source: str = ""


def read_scenario(path: str | Path) -> Scenario:
    """Read one scenario TOML file; the scenario is named after the file's stem.

    Raises ``ScenarioFileError`` if it is missing and ``ScenarioFormatError`` for bad
    TOML, unknown top-level keys, a missing ``[parameters]`` table or a value that is not
    a number (naming the key at fault); either carries the file as its ``file`` field.
    """
    path = Path(path)
    try:
        return _read_scenario(path)
    except GvcdynError as exc:
        exc.at(file=path)  # the file as a field: the one line printed reads "path: ..."
        raise


def _read_scenario(path: Path) -> Scenario:
    data, _ = read_toml(
        path, what="scenario file", invalid=ScenarioFormatError, missing=ScenarioFileError
    )
    check_keys(
        data,
        _ALLOWED_KEYS,
        str(path),
        ScenarioFormatError,
        hint="a scenario file has 'description = \"...\"' and a [parameters] table of "
        "lever = value",
    )
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ScenarioFormatError("key 'description' must be a string")
    table = data.get("parameters")
    if not isinstance(table, dict):
        raise ScenarioFormatError("missing [parameters] table (lever name = value, one per line)")
    values: dict[str, float] = {}
    for key, value in table.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScenarioFormatError(f"key {key!r} must be a number, got {shown(value)}")
        if not math.isfinite(value):
            raise ScenarioFormatError(f"key {key!r} must be a finite number, got {value}")
        values[key] = float(value)
    # one lever to a model (Vensim ignores case, blanks, underscores)
    if repeat := first_repeat((name_key(key), key) for key in values):
        first, key = repeat
        raise ScenarioFormatError(
            f"lever {first!r} is set twice (as {first!r} = {values[first]:g} and {key!r} "
            f"= {values[key]:g}; a model reads both as one name); give it once"
        )
    return Scenario(path.stem, values, description, str(path))
