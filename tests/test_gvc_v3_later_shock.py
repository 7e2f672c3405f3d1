"""v3's later shock (studies/v3_later_shock.py; issue 20, tenth step): without a later
shock v3 is its earlier self bit for bit, with one it starts a second burst of
function-directed search, and the sourced later shocks the case table carries name a
case, a year inside the case's period, a source and a quote each, mapped only by the
variant mapping that config_v3_later.toml reads."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gvcdyn
from gvcdyn.calibrate.cases import read_case_csv, read_mapping
from gvcdyn.calibrate.config import load_config

REPO = Path(__file__).resolve().parents[1]
CALIBRATION = REPO / "calibration"
sys.path.insert(0, str(REPO / "studies"))
import v3_later_shock as ls  # noqa: E402  (a study script, not a package)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> tuple[gvcdyn.Model, gvcdyn.Model]:
    folder = tmp_path_factory.mktemp("later_shock")
    return gvcdyn.load(ls.without_later_shock(folder)), gvcdyn.load(ls.V3)


def test_without_a_later_shock_v3_is_its_earlier_self_bit_for_bit(models) -> None:
    earlier, current = models
    from v3_fit_measures import lhs_levers

    table = lhs_levers(current, 12, seed=5)
    names = ["Functional Upgrading", "Cluster Market Position", "Search Effort"]
    a = earlier.run(table, saveper=1.0, variables=names)  # rk23, v3's settings file
    b = current.run(table, saveper=1.0, variables=names)
    for name in names:
        np.testing.assert_array_equal(a[name].values, b[name].values)


def test_a_later_shock_starts_a_second_burst_of_function_directed_search(models) -> None:
    """A first shock in year 5 and a later one in year 20: function-directed search rises
    again after year 20, which it does not without the later shock [PF]."""
    _, current = models
    runs = pd.DataFrame(
        {
            "Shock Size": [0.6, 0.6],
            "Shock Year": [5.0, 5.0],
            "Later Shock Size": [0.0, 0.6],
            "Later Shock Year": [20.0, 20.0],
        }
    )
    ds = current.run(runs, saveper=0.5, variables=["Functional Search"])
    search = ds["Functional Search"]
    late = search.sel(time=slice(20.0, 26.0)).max("time").values
    before = search.sel(time=19.5).values
    assert late[1] > 1.5 * before[1]  # the second burst
    assert late[0] <= before[0] + 1e-12  # without it search only decays after year 20


def test_the_earlier_form_is_refused_on_a_model_without_the_later_shock() -> None:
    """The neutrality test compares v3 with v3 minus the later shock's term; on a text
    without that term there is nothing to compare, and the script says so."""
    text = ls.V3.read_text(encoding="utf-8")
    assert "later shock pressure" not in ls.earlier_text(text).split("shock pressure=")[1][:80]
    with pytest.raises(SystemExit, match="no later shock"):
        ls.earlier_text(ls.earlier_text(text).replace("Later Shock Size=", "Removed="))


def test_the_case_tables_later_shocks_are_the_sourced_ones() -> None:
    shocks = ls.later_shock_table()  # checks ids, codes, periods, sources and quotes
    assert len(shocks) == shocks["id"].nunique() > 0
    assert shocks["source"].str.startswith("http").all()
    cases = read_case_csv(CALIBRATION / "gvc_cases.csv").set_index("id")
    listed = shocks.set_index("id")
    for case_id, row in cases.iterrows():
        if case_id in listed.index:
            assert row["later_shock"] == listed.loc[case_id, "later_shock"], case_id
            assert row["later_shock_year"] == listed.loc[case_id, "later_shock_year"], case_id
        else:
            assert (row["later_shock"], row["later_shock_year"]) == ("none", ""), case_id


def test_the_variant_mapping_and_config_differ_from_their_bases_only_by_the_later_shock():
    base, variant = (read_mapping(CALIBRATION / name) for name in
                     ("case_levers.toml", "case_levers_v3_later.toml"))  # fmt: skip
    added = [m for m in variant.maps if m.column not in {b.column for b in base.maps}]
    assert [m.column for m in added] == ["later_shock", "later_shock_year"]
    assert [m for m in variant.maps if m not in added] == list(base.maps)
    assert variant.unmapped == base.unmapped
    revised = load_config(CALIBRATION / "config_v3_checks_revised.toml")
    later = load_config(CALIBRATION / "config_v3_later.toml")
    assert later.mapping.name == "case_levers_v3_later.toml"
    assert (revised.maxiter, later.maxiter) == (20, 60)  # the eleventh step's refit
    strip = {"path": None, "text": "", "mapping": None, "maxiter": 0}
    assert dataclasses.replace(later, **strip) == dataclasses.replace(revised, **strip)


def test_v3_measures_judge_a_fit_with_the_mapping_it_was_made_with() -> None:
    """A fit made with the later shock's variant mapping is judged with it (without, its
    face validity would be computed with no later shock at all)."""
    import xarray as xr
    from v3_fit_measures import fit_mapping

    path = CALIBRATION / "case_levers_v3_later.toml"
    fit = xr.Dataset(attrs={"mapping_text": path.read_text(), "mapping_path": str(path)})
    assert "later_shock" in {m.column for m in fit_mapping(fit).maps}
    assert "later_shock" not in {m.column for m in fit_mapping(xr.Dataset()).maps}


def test_the_later_shocks_cv_config_differs_only_in_the_cross_validation() -> None:
    later = load_config(CALIBRATION / "config_v3_later.toml")
    cv = load_config(CALIBRATION / "config_v3_later_cv.toml")
    assert (cv.cv_repeats, cv.cv_loo) == (3, True)
    strip = {"path": None, "text": "", "cv_repeats": 1, "cv_loo": False}
    assert dataclasses.replace(cv, **strip) == dataclasses.replace(later, **strip)


def test_the_shared_neutrality_checker_holds_at_size_0_and_sees_a_drawn_later_shock(
    tmp_path: Path,
) -> None:
    """``check_neutral``, the one checker of this study and v3_later_programme.py: with the
    later shock's size at its default 0 the three outcomes are equal (it returns how many
    it compared); with the size drawn too (another neutral condition: none) it exits
    naming the method and the outcomes that moved, so the bitwise claim can fail."""
    import lever_sweeps

    earlier = ls.without_later_shock(tmp_path)
    assert ls.check_neutral(earlier, n=4, variables=ls.NEUTRAL_OUTCOMES) == 3
    drawn = (*lever_sweeps.LEVERS, "Later Shock Size", "Later Shock Year")
    with pytest.raises(SystemExit, match="not neutral at rk23: Functional Upgrading"):
        ls.check_neutral(earlier, n=4, levers=drawn, variables=ls.NEUTRAL_OUTCOMES)
