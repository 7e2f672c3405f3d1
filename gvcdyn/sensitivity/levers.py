"""Which parameters a sensitivity study varies, and over what ranges.

The default is the model's own answer: the constants placed in its "Levers" view (the
sketch section of the ``.mdl`` file), each over its documented ``[min, max]``. A small
TOML file can name other parameters and narrow or widen ranges::

    parameters = ["Shock Size", "State Participation"]   # optional: which to vary
    [ranges]                                               # optional: overrides
    "Shock Size" = [0.0, 0.8]

The model is being revised while studies run, so nothing here hard-codes lever names.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gvcdyn.errors import ModelFileNotFoundError, SensitivityDesignError
from gvcdyn.tomlfile import check_keys, read_toml

__all__ = ["LeverChoice", "choose_levers", "read_ranges", "view_names"]

_SKETCH_MARK = "\\\\\\---/// Sketch information"
_VARIABLE_RECORD = "10"


@dataclass(frozen=True)
class LeverChoice:
    """Names to vary (in order), bounds that override the model's, and where they came from."""

    names: tuple[str, ...]
    bounds: dict[str, tuple[float, float]] = field(default_factory=dict)
    source: str = ""


def view_names(path: str | Path, view: str = "Levers") -> list[str]:
    """Names of the variables drawn in one view of a Vensim sketch, in drawing order.

    Views start with a ``*Name`` line after a sketch marker; variables are ``10,...``
    records whose third field is the name (quoted when it holds commas). The match on
    the view's name ignores case. Shadow copies appear once.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileNotFoundError(f"model file not found: {path}")
    names: list[str] = []
    inside_sketch = False
    current: str | None = None
    found = False
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith(_SKETCH_MARK):
                inside_sketch = True
                current = None
                continue
            if not inside_sketch:
                continue
            if line.startswith("///---\\\\\\"):
                break
            if line.startswith("*"):
                current = line[1:].strip()
                found = found or current.lower() == view.lower()
                continue
            if current is None or current.lower() != view.lower():
                continue
            if not line.startswith(_VARIABLE_RECORD + ","):
                continue
            fields = next(csv.reader([line.rstrip("\n")]))
            if len(fields) > 2:
                name = " ".join(fields[2].replace("\\\n", " ").split())
                if name and name not in names:
                    names.append(name)
    if not found:
        raise SensitivityDesignError(
            f"{path}: no view named '{view}' in the model's sketch; name the parameters "
            "to vary with --params or a --ranges file"
        )
    return names


def read_ranges(path: str | Path) -> LeverChoice:
    """Read a ranges file: optional ``parameters = [...]`` and a ``[ranges]`` table."""
    path = Path(path)
    data, _ = read_toml(
        path, what="ranges file", invalid=SensitivityDesignError, missing=ModelFileNotFoundError
    )
    check_keys(
        data,
        {"parameters", "ranges", "description"},
        str(path),
        SensitivityDesignError,
        hint="use 'parameters = [...]' and a [ranges] table",
    )
    names = data.get("parameters", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise SensitivityDesignError(f"{path}: 'parameters' must be a list of parameter names")
    table = data.get("ranges", {})
    if not isinstance(table, dict):
        raise SensitivityDesignError(f"{path}: [ranges] must be a table of name = [low, high]")
    bounds = {name: _pair(path, name, value) for name, value in table.items()}
    return LeverChoice(tuple(names), bounds, str(path))


def _pair(path: Path, name: str, value: Any) -> tuple[float, float]:
    numbers = (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )
    if not numbers:
        raise SensitivityDesignError(
            f"{path}: range of '{name}' must be [low, high] (two numbers), got {value!r}"
        )
    low, high = float(value[0]), float(value[1])
    if not low < high:
        raise SensitivityDesignError(
            f"{path}: range of '{name}' must have low < high, got [{low:g}, {high:g}]"
        )
    return low, high


def choose_levers(
    model: Any,
    params: Sequence[str] | None = None,
    ranges: str | Path | None = None,
    *,
    view: str = "Levers",
) -> LeverChoice:
    """The parameters to vary: ``params``, else the ranges file's, else the model's view.

    Names drawn in the view that are not constants of the model (an auxiliary shown
    there for context) are left out; a view with no constant is an error.
    """
    from_file = read_ranges(ranges) if ranges is not None else LeverChoice(())
    if params:
        names, source = tuple(params), "--params"
    elif from_file.names:
        names, source = from_file.names, from_file.source
    elif from_file.bounds:
        names, source = tuple(from_file.bounds), from_file.source
    else:
        if model.path is None:
            raise SensitivityDesignError(
                "the model has no file to read its Levers view from; name the parameters"
            )
        drawn = view_names(model.path, view)
        constants = {p.name.lower() for p in model.parameters}
        names = tuple(n for n in drawn if n.lower() in constants)
        source = f"the '{view}' view of {Path(model.path).name}"
        if not names:
            raise SensitivityDesignError(
                f"the '{view}' view of {model.path} shows no model constant; name the "
                "parameters to vary with --params or a --ranges file"
            )
    canonical = [model.parameter(n).name for n in names]  # unknown names fail here, by name
    bounds = {model.parameter(k).name: v for k, v in from_file.bounds.items()}
    extra = sorted(set(bounds) - set(canonical))
    if extra:
        raise SensitivityDesignError(
            f"{from_file.source}: a range is given for '{extra[0]}', which is not varied; "
            "add it to the parameters or remove its range"
        )
    return LeverChoice(tuple(canonical), bounds, source)
