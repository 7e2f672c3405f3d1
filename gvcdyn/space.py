"""The parameters a study varies: names, finite bounds, and a base for all the others.

Calibration, Sobol sensitivity and distributed runs all describe their inputs the same
way: ``k`` parameters with bounds, the rest of the model's parameters held at a base
(the model's defaults, a scenario file, or given values). ``ParameterSpace`` is that
description; ``matrix(X)`` places an ``(n, k)`` design into the model's full parameter
matrix, and ``to_salib()`` hands the same space to SALib.

A space holds plain arrays, not the model, so it is cheap to pickle to a worker.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gvcdyn.errors import ParameterValueError, structural_parameter_error
from gvcdyn.io.scenario_files import read_scenario

if TYPE_CHECKING:  # gvcdyn.model imports this module; it sets Model here when it is defined
    from gvcdyn.model import Model

BaseLike = Mapping[str, float] | str | Path | None


class ParameterSpace:
    """``k`` varied parameters of a model with finite bounds; the rest fixed at a base.

    ``names``: parameters to vary (case and spaces/underscores ignored; the canonical
    names are kept). ``bounds``: ``{name: (low, high)}`` for some or all of them; the
    others take the model's documented ``[min, max]``. ``base``: the values of every
    parameter not varied (``None`` = model defaults, a mapping of values, or a scenario
    ``.toml`` file). Bounds outside the documented range, and base values outside it,
    are refused unless ``allow_out_of_range``.
    """

    def __init__(
        self,
        model: Model,
        names: Sequence[str],
        *,
        bounds: Mapping[str, tuple[float, float]] | None = None,
        base: BaseLike = None,
        allow_out_of_range: bool = False,
    ) -> None:
        if isinstance(names, str):
            names = [names]
        if not names:
            raise ParameterValueError("a parameter space needs at least one parameter to vary")
        params = [model.parameter(name) for name in names]
        canonical = [p.name for p in params]
        twice = sorted({n for n in canonical if canonical.count(n) > 1})
        if twice:
            raise ParameterValueError(f"parameter '{twice[0]}' is listed twice; list it once")
        given = {model.parameter(k).name: v for k, v in (bounds or {}).items()}
        unknown = sorted(set(given) - set(canonical))
        if unknown:
            raise ParameterValueError(
                f"bounds are given for '{unknown[0]}', which is not among the varied "
                f"parameters {canonical}; add it to the names or drop its bounds"
            )
        rows = []
        for p in params:
            if p.variable in model.ir.structural:
                raise structural_parameter_error(
                    p.name,
                    change="cannot be varied between runs",
                    instead="leave it out of the space, or edit its value in the model",
                )
            rows.append(_bounds_of(p, given.get(p.name), allow_out_of_range))
        self.names: tuple[str, ...] = tuple(canonical)
        self.bounds: np.ndarray = np.array(rows, dtype=np.float64).reshape(len(rows), 2)
        self.columns: np.ndarray = np.array([p.column for p in params], dtype=np.int64)
        self.base: np.ndarray = _base_vector(model, base, allow_out_of_range)
        self.base_source = (
            str(base)
            if isinstance(base, str | Path)
            else ("values given" if base else "model defaults")
        )
        self.model_sha256 = model.ir.source_hash
        self.bounds.flags.writeable = False
        self.base.flags.writeable = False

    @property
    def k(self) -> int:
        """Number of varied parameters."""
        return len(self.names)

    def __repr__(self) -> str:
        ranges = ", ".join(
            f"{n}=[{lo:g}, {hi:g}]" for n, (lo, hi) in zip(self.names, self.bounds, strict=True)
        )
        return f"<ParameterSpace {self.k} parameters: {ranges}; base: {self.base_source}>"

    def to_salib(self) -> dict[str, Any]:
        """SALib's problem dict: ``num_vars``, ``names``, ``bounds``."""
        return {
            "num_vars": self.k,
            "names": list(self.names),
            "bounds": [[float(lo), float(hi)] for lo, hi in self.bounds],
        }

    def scale(self, unit: np.ndarray) -> np.ndarray:
        """Map points of the unit cube ``[0, 1]^k`` onto the bounds."""
        unit = np.asarray(unit, dtype=np.float64)
        return self.bounds[:, 0] + unit * (self.bounds[:, 1] - self.bounds[:, 0])

    def check(self, X: np.ndarray) -> np.ndarray:
        """``X`` as a float ``(n, k)`` array; refuses a bad shape, NaN or an out-of-bounds value."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1 and self.k == 1:
            X = X[:, None]
        if X.ndim != 2 or X.shape[1] != self.k:
            raise ParameterValueError(
                f"expected an (n, {self.k}) array of {', '.join(self.names)}; got shape {X.shape}"
            )
        if X.shape[0] == 0:
            raise ParameterValueError("the design has no rows (zero runs)")
        low, high = self.bounds[:, 0], self.bounds[:, 1]
        bad = ~((low <= X) & (high >= X))  # NaN is bad too
        if bad.any():
            run, j = np.argwhere(bad)[0]
            raise ParameterValueError(
                f"run {run}: '{self.names[j]}' = {X[run, j]:g} is outside the space's bounds "
                f"[{low[j]:g}, {high[j]:g}]"
            )
        return X

    def matrix(self, X: np.ndarray) -> np.ndarray:
        """The model's full ``(n, P)`` parameter matrix: the base, with ``X`` in its columns."""
        X = self.check(X)
        full = np.empty((X.shape[0], self.base.shape[0]))
        full[:] = self.base
        full[:, self.columns] = X
        return full


def _bounds_of(param: Any, given: tuple[float, float] | None, allow_out_of_range: bool) -> list:
    if given is None:
        low, high = param.minimum, param.maximum
        if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
            raise ParameterValueError(
                f"parameter '{param.name}' has no finite range in the model "
                f"({param.range_text()}); give one, e.g. bounds={{'{param.name}': (low, high)}}"
            )
    else:
        try:
            low, high = (float(v) for v in given)
        except (TypeError, ValueError):
            raise ParameterValueError(
                f"bounds of '{param.name}' must be two numbers (low, high), got {given!r}"
            ) from None
        if not allow_out_of_range and param.outside_range(np.array([low, high])).any():
            raise ParameterValueError(
                f"bounds [{low:g}, {high:g}] of '{param.name}' leave its documented range "
                f"{param.range_text()}; narrow them or pass allow_out_of_range=True"
            )
    if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
        raise ParameterValueError(
            f"bounds of '{param.name}' must be finite with low < high, got [{low:g}, {high:g}]"
        )
    return [low, high]


def _base_vector(model: Model, base: BaseLike, allow_out_of_range: bool) -> np.ndarray:
    if base is None:
        return model.defaults()
    if isinstance(base, str | Path):
        base = read_scenario(base).parameters
    if not isinstance(base, Mapping):
        raise ParameterValueError(
            f"base must be a mapping of parameter values or a scenario file, not {type(base)}"
        )
    for name, value in base.items():
        if np.ndim(value) != 0:
            raise ParameterValueError(
                f"base value of '{name}' must be one number (the base is one run), got {value!r}"
            )
    return model.parameter_matrix(dict(base), allow_out_of_range=allow_out_of_range)[0].copy()
