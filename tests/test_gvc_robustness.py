"""Robustness of the GVC model's behaviour to its non-lever constants (issue 10).

A behavioural test that holds only at the reference values of the rates, times and
sensitivities says more about those values than about the mechanism. Here every
behavioural test (a group b1..b15 of checks in ``models/gvc_upgrading.checks.toml``) is
rerun on 200 draws of all non-lever constants within +-20% of their pinned reference
values (clipped to their documented ranges), all checks x all draws in ONE compiled
batch (``gvcdyn.reality_check(..., perturb=0.2)``), and must hold (every check of the
group together) in at least 90% of the draws.

``python tests/test_gvc_robustness.py`` prints the pass rate of each test at +-20% and
+-50% (the table in ``models/README.md``).
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gvc_runner import (
    LEVERS,
    REFERENCE_PATH,
    gvcdyn_model,
    lever_ranges,
    non_lever_constants,
    reference_params,
)
from test_gvc_behaviour import CHECKS_PATH

import gvcdyn

DRAWS = 200
SPREAD = 0.2
MIN_PASS_RATE = 0.9
SEED = 20261201


GROUPS = [f"b{i}" for i in range(1, 16)]


@functools.lru_cache(maxsize=4)
def perturbed(spread: float, n: int = DRAWS, seed: int = SEED) -> object:
    """All checks on ``n`` draws (+-``spread``) of the non-lever constants: one batch."""
    return gvcdyn.reality_check(
        gvcdyn_model(), CHECKS_PATH, params=REFERENCE_PATH, perturb=spread, draws=n, seed=seed
    )


def pass_rate(name: str, spread: float, n: int = DRAWS, seed: int = SEED) -> float:
    """Share of ``n`` draws (+-``spread``) in which every check of group ``name`` holds."""
    ds = perturbed(spread, n, seed)
    held = ds["holds_draw"].sel(check=ds["group"] == name).all("check")
    return float(held.mean())


def test_reference_file_pins_every_constant_of_the_model() -> None:
    """The pinned file covers exactly the model's constants, each inside its range, so
    a constant added to the model cannot silently fall back to its .mdl default."""
    model_constants = {p.name for p in gvcdyn_model().parameters}
    ref = reference_params()
    assert (
        set(ref)
        == set(lever_ranges())
        == model_constants - {"FINAL TIME", "INITIAL TIME", "SAVEPER", "TIME STEP"}
    )
    for name, value in ref.items():
        lo, hi = lever_ranges()[name]
        assert lo <= value <= hi, (name, value)


def test_draws_stay_within_the_spread_and_the_ranges() -> None:
    """The draws perturb every non-lever constant, within +-20% and its range, and no
    lever (the checks set those)."""
    ref = reference_params()
    ranges = lever_ranges()
    ds = perturbed(SPREAD, 50)
    drawn = [str(p) for p in ds["parameter"].values]
    assert set(non_lever_constants()) <= set(drawn)
    assert not set(drawn) & set(LEVERS)
    for name in non_lever_constants():
        values = list(ds["draw_value"].sel(parameter=name).values)
        lo, hi = ranges[name]
        assert all(lo <= v <= hi for v in values), name
        assert all(abs(v - ref[name]) <= SPREAD * abs(ref[name]) + 1e-12 for v in values), name
        if ref[name] != 0 and lo < ref[name] < hi:
            assert len(set(values)) > 1, name


@pytest.mark.slow
@pytest.mark.parametrize("name", GROUPS)
def test_behaviour_holds_in_90_percent_of_draws_within_20_percent(name: str) -> None:
    """Each behavioural test holds in >= 90% of 200 draws of all non-lever constants."""
    rate = pass_rate(name, SPREAD)
    assert rate >= MIN_PASS_RATE, f"{name}: holds in {rate:.0%} of {DRAWS} draws"


def main() -> None:
    """Print the pass rate of every behavioural test at +-20% and +-50%."""
    print(f"| test | +-20% | +-50% |  ({DRAWS} draws of {len(non_lever_constants())} constants)")
    print("|---|---|---|")
    for name in GROUPS:
        r20, r50 = pass_rate(name, 0.2), pass_rate(name, 0.5)
        print(f"| {name} | {r20:.0%} | {r50:.0%} |", flush=True)


if __name__ == "__main__":
    main()
