"""Input distributions of a sensitivity study, as SALib's ``dists`` entries.

A lever's range is a uniform distribution unless the ranges file gives another::

    [distributions]
    "Shock Size" = { dist = "triangular", low = 0, high = 1, mode = 0.3 }
    "State Participation" = { dist = "truncnorm", low = 0, high = 1, mean = 0.3, sd = 0.1 }
    "Demand Growth" = { dist = "normal", mean = 0.02, sd = 0.005 }   # unbounded range only
    "Learning Rate" = { dist = "lognormal", log_mean = -1.2, log_sd = 0.3 }
    "Scouting Intensity" = { dist = "uniform", low = 0.2, high = 0.6 }

The transform from the uniform Sobol'/Morris design to these is SALib's own (its
``problem["dists"]``: ``unif``, ``triang``, ``norm``, ``truncnorm``, ``lognorm``), so
nothing here computes a quantile. This module only checks the parameters, translates them
to SALib's conventions (``triang`` takes ``[low, high, c]`` with the peak ``c`` as a
fraction of the width; ``lognorm`` the mean and sd of ``ln X``) and says what support the
values have. A distribution whose values can leave the lever's documented range (the
tails of a normal on a lever documented as ``[0, 1]``) is refused with the name of the
lever: the model was not written for those values, and clipping them would hand-roll a
different distribution. A truncated normal says the same thing explicitly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from gvcdyn.errors import SensitivityDesignError

__all__ = ["KINDS", "Distribution", "check_within", "parse_distribution", "uniform"]

#: name in the ranges file -> (SALib's name, parameters in order)
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "uniform": ("unif", ("low", "high")),
    "triangular": ("triang", ("low", "high", "mode")),
    "normal": ("norm", ("mean", "sd")),
    "truncnorm": ("truncnorm", ("low", "high", "mean", "sd")),
    "lognormal": ("lognorm", ("log_mean", "log_sd")),
}
#: other spellings accepted for the same kinds
_ALIASES = {
    "unif": "uniform",
    "triang": "triangular",
    "norm": "normal",
    "truncated normal": "truncnorm",
    "truncated_normal": "truncnorm",
    "lognorm": "lognormal",
}
#: Normal and lognormal levers are sampled inside mean +- this many sd (log space for the
#: lognormal): the widest a float64 quantile of SALib's design can reach is about 8.3 sd.
_TAIL_SDS = 10.0


@dataclass(frozen=True)
class Distribution:
    """One lever's distribution: ``kind`` (a key of :data:`KINDS`) and its parameters."""

    kind: str
    values: tuple[float, ...]

    def __getitem__(self, key: str) -> float:
        return self.values[KINDS[self.kind][1].index(key)]

    @property
    def salib(self) -> tuple[str, list[float]]:
        """SALib's ``(dists entry, bounds entry)`` for this distribution."""
        name = KINDS[self.kind][0]
        if self.kind == "triangular":
            low, high, mode = self.values
            return name, [low, high, (mode - low) / (high - low)]
        return name, list(self.values)

    @property
    def support(self) -> tuple[float, float]:
        """Where the values lie (infinite ends for the normal's and lognormal's tails)."""
        if self.kind in ("uniform", "triangular", "truncnorm"):
            return self.values[0], self.values[1]
        if self.kind == "normal":
            return -math.inf, math.inf
        return 0.0, math.inf

    @property
    def sampled(self) -> tuple[float, float]:
        """Finite bounds that hold every value SALib's transform can give (the space's)."""
        low, high = self.support
        if self.kind == "normal":
            mean, sd = self.values
            return mean - _TAIL_SDS * sd, mean + _TAIL_SDS * sd
        if self.kind == "lognormal":
            mu, sd = self.values
            return 0.0, math.exp(mu + _TAIL_SDS * sd)
        return low, high

    def __str__(self) -> str:
        names = KINDS[self.kind][1]
        args = ", ".join(f"{k}={v:g}" for k, v in zip(names, self.values, strict=True))
        return f"{self.kind}({args})"


def uniform(low: float, high: float) -> Distribution:
    return Distribution("uniform", (float(low), float(high)))


def parse_distribution(where: str, name: str, entry: Any) -> Distribution:
    """``{dist = ..., <parameters>}`` from the ranges file, checked; errors name ``name``."""
    example = '{ dist = "triangular", low = 0, high = 1, mode = 0.3 }'
    if not isinstance(entry, dict):
        raise SensitivityDesignError(
            f"{where}: distribution of '{name}' must be a table like {example}, got {entry!r}"
        )
    if "dist" not in entry:  # e.g. { normal = [0.5, 0.1] }: say what is missing
        raise SensitivityDesignError(
            f"{where}: distribution of '{name}' has no 'dist' key: give one of "
            f"{', '.join(KINDS)} and its parameters, like {example}"
        )
    raw = entry.get("dist")
    kind = _ALIASES.get(str(raw).lower(), str(raw).lower()) if isinstance(raw, str) else None
    if kind not in KINDS:
        raise SensitivityDesignError(
            f"{where}: distribution of '{name}': dist = {raw!r} is not one of {', '.join(KINDS)}"
        )
    keys = KINDS[kind][1]
    given = {k: v for k, v in entry.items() if k != "dist"}
    if set(given) != set(keys):
        missing = [k for k in keys if k not in given]
        extra = sorted(set(given) - set(keys))
        what = f"lacks {', '.join(missing)}" if missing else f"has unknown key {extra[0]!r}"
        raise SensitivityDesignError(
            f"{where}: distribution of '{name}' ({kind}) {what}; a {kind} takes {', '.join(keys)}"
        )
    values = []
    for key in keys:
        value = given[key]
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            raise SensitivityDesignError(
                f"{where}: distribution of '{name}': {key} must be a finite number, got {value!r}"
            )
        values.append(float(value))
    dist = Distribution(kind, tuple(values))
    _check(where, name, dist)
    return dist


def _check(where: str, name: str, dist: Distribution) -> None:
    def bad(why: str) -> SensitivityDesignError:
        return SensitivityDesignError(f"{where}: distribution of '{name}' ({dist}): {why}")

    if dist.kind in ("uniform", "triangular", "truncnorm") and not dist["low"] < dist["high"]:
        raise bad("needs low < high")
    if dist.kind == "triangular":
        if not dist["low"] <= dist["mode"] < dist["high"]:
            raise bad("needs low <= mode < high (SALib's triangular has its peak below high)")
        if dist["high"] < 0:
            raise bad("SALib's triangular needs high >= 0; shift the lever's range")
    if dist.kind in ("normal", "truncnorm") and not dist["sd"] > 0:
        raise bad("needs sd > 0")
    if dist.kind == "lognormal" and not dist["log_sd"] > 0:
        raise bad("needs log_sd > 0")


def check_within(
    where: str, name: str, dist: Distribution, low: float | None, high: float | None
) -> None:
    """Refuse a distribution whose values can leave the documented range ``[low, high]``
    (``None`` or an infinite end: unbounded on that side)."""
    lo = -math.inf if low is None else float(low)
    hi = math.inf if high is None else float(high)
    s_lo, s_hi = dist.support
    if lo <= s_lo and s_hi <= hi:
        return
    documented = f"[{lo:g}, {hi:g}]"
    if dist.kind in ("normal", "lognormal"):
        raise SensitivityDesignError(
            f"{where}: '{name}' has the documented range {documented}, which the tails of "
            f'{dist} leave; use dist = "truncnorm" with low and high inside the range'
        )
    raise SensitivityDesignError(
        f"{where}: {dist} of '{name}' leaves its documented range {documented}; "
        "keep low and high inside it"
    )
