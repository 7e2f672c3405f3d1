"""studies/gvc_robustness_table.py: the README's pass rates come from one draw set, v2.1
(v2.2 with Buyer Gain Capture 0) on the very draws of v2.2, the +-50% draws the +-20%
ones stretched."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "studies"))

import gvc_robustness_table as grt

N = 4


@functools.lru_cache(maxsize=1)
def measured():
    return grt.measure(N)


def values(ds) -> dict[str, np.ndarray]:
    table = ds["draw_value"].transpose("draw", "parameter")
    return {str(p): table.sel(parameter=p).values for p in table["parameter"].values}


def test_both_versions_share_the_draws_and_the_spreads_stretch_them() -> None:
    _, results = measured()
    for spread in grt.SPREADS:
        new, old = values(results["v2.2", spread]), values(results["v2.1", spread])
        assert set(new) == set(old)
        assert np.all(old["Buyer Gain Capture"] == 0.0)
        assert np.all(new["Buyer Gain Capture"] != 0.5)  # drawn in v2.2
        for name in new:
            if name != "Buyer Gain Capture":
                np.testing.assert_array_equal(new[name], old[name], err_msg=name)
    # the same uniform numbers at +-20% and +-50%: where neither is clipped, the relative
    # deviation from the base scales by 0.5 / 0.2
    narrow, wide = values(results["v2.2", 0.2]), values(results["v2.2", 0.5])
    base = 0.5  # Buyer Gain Capture's reference value, range [0, 1]: never clipped here
    np.testing.assert_allclose(
        (wide["Buyer Gain Capture"] / base - 1) / 0.5,
        (narrow["Buyer Gain Capture"] / base - 1) / 0.2,
        rtol=1e-12,
    )


def test_rates_per_version_and_b15_only_in_v22() -> None:
    rates, results = measured()
    assert list(rates.columns) == [(v, s) for v in grt.VERSIONS for s in grt.SPREADS]
    assert list(rates.index) == [f"b{i}" for i in range(1, 16)]
    assert np.isnan(rates.loc["b15", ("v2.1", 0.2)]) and np.isnan(rates.loc["b15", ("v2.1", 0.5)])
    # b15 (v2.2's test) in v2.2: its row is the share of draws in which all of b15's own
    # checks hold, counted here another way (by group label, in xarray); its checks hold at
    # the reference, and in every +-20% draw (models/README.md: 100% of 200 draws)
    for spread in grt.SPREADS:
        for version in grt.VERSIONS:
            ds = results[version, spread]
            b15 = ds.isel(check=np.flatnonzero(ds["group"].values == "b15"))
            assert b15.sizes["check"] > 0
            held = b15["holds_draw"].astype(bool).all("check")
            if version == "v2.2":
                assert b15["holds"].values.all()
                assert rates.loc["b15", (version, spread)] == float(held.mean("draw")) > 0
            else:  # the NaN hides a test v2.1 lacks: Buyer Gain Capture 0 takes no gains
                assert not b15["holds"].values.all() and not held.values.any()
    assert rates.loc["b15", ("v2.2", 0.2)] == 1.0
    rates_v21 = rates[("v2.1", 0.2)].dropna()
    assert len(rates_v21) == 14 and ((rates_v21 >= 0) & (rates_v21 <= 1)).all()
    # a rate is the share of the N draws in which every check of the group holds
    counts = rates.to_numpy().ravel() * N
    assert set(counts[~np.isnan(counts)].round(9)) <= set(range(N + 1))
    # v2.1's own checks leave b15's out, and its all-together share is over them
    own = grt.own_checks(results["v2.1", 0.2], "v2.1")
    assert "b15" not in set(own["group"].values) and own.sizes["check"] < 63
    assert 0 <= grt.all_together(own) <= 1
