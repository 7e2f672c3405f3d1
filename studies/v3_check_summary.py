"""What the v3 studies print about a reality-check result: the failing checks with their
margins and each group's share of the +-20% draws in which all its checks hold.

Why a module: studies/v3_draft_measures.py, v3_prices_measures.py and v3_fit_measures.py
summarised ``gvcdyn.reality_check``'s result with the same lines (issue 20's cleanup);
one copy keeps their printed numbers read the same way.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import xarray as xr


def check_groups(path: Path) -> list[str]:
    """The group of every check of a checks file, in file order (a check without a
    group is its own group)."""
    spec = tomllib.loads(Path(path).read_text(encoding="utf-8"))["check"]
    return [c.get("group", c["name"]) for c in spec]


def group_shares(ds: xr.Dataset, groups: list[str]) -> list[str]:
    """``"b1 100.0%"`` per group, in first-seen order: the share of draws in which every
    check of the group holds (``ds`` from ``reality_check(..., draws=N)``)."""
    per_draw = ds["holds_draw"].transpose("check", "draw").values
    rates = []
    for group in dict.fromkeys(groups):
        rows = [i for i, g in enumerate(groups) if g == group]
        rates.append(f"{group} {per_draw[rows].all(axis=0).mean():.1%}")
    return rates


def failing(ds: xr.Dataset, digits: int = 3) -> list[str]:
    """``"name (+margin)"`` for every check that fails at the base, margin to ``digits``."""
    return [
        f"{n} ({m:+.{digits}f})"
        for n, h, m in zip(ds["check"].values, ds["holds"].values, ds["margin"].values, strict=True)
        if not h
    ]
