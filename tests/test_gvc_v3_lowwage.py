"""v3's low-wage entry (studies/v3_lowwage_entry.py; issue 20, twelfth step): without
it set v3 is its earlier self bit for bit, with a later entry year the entrants develop
later, and the case table's two columns are the sourced ones, mapped only by the variant
mapping that config_v3_lowwage.toml reads."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gvcdyn
from gvcdyn.calibrate.cases import apply_mapping, read_case_csv, read_mapping
from gvcdyn.calibrate.config import load_config

REPO = Path(__file__).resolve().parents[1]
CALIBRATION = REPO / "calibration"
sys.path.insert(0, str(REPO / "studies"))
import v3_lowwage_entry as lw  # noqa: E402  (a study script, not a package)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> tuple[gvcdyn.Model, gvcdyn.Model]:
    folder = tmp_path_factory.mktemp("lowwage")
    return gvcdyn.load(lw.without_entry_year(folder)), gvcdyn.load(lw.V3)


@pytest.mark.parametrize("method", [None, "euler"])
def test_at_its_default_entry_year_v3_is_its_earlier_self_bit_for_bit(models, method) -> None:
    earlier, current = models
    from v3_fit_measures import lhs_levers

    table = lhs_levers(current, 12, seed=5)
    names = ["Functional Upgrading", "Cluster Market Position", "Entrant Capability"]
    setting = {} if method is None else {"method": method, "time_step": 1 / 16}
    a = earlier.run(table, saveper=1.0, variables=names, **setting)
    b = current.run(table, saveper=1.0, variables=names, **setting)
    for name in names:
        np.testing.assert_array_equal(a[name].values, b[name].values)


def test_entrants_develop_only_from_the_entry_year(models) -> None:
    _, current = models
    runs = pd.DataFrame({"Entrant Entry Year": [0.0, 15.0]})
    ds = current.run(runs, saveper=1.0, variables=["Entrant Capability"])
    entrants = ds["Entrant Capability"]
    start = float(entrants.sel(time=0)[0])
    assert float(entrants.sel(time=14)[1]) <= start  # no learning before year 15
    assert float(entrants.sel(time=14)[0]) > start + 0.1  # under way from the start
    assert float(entrants.sel(time=25)[1]) > float(entrants.sel(time=15)[1])


def test_the_earlier_form_is_refused_on_a_model_without_the_term() -> None:
    text = lw.V3.read_text(encoding="utf-8")
    with pytest.raises(SystemExit, match="no low-wage entry term"):
        lw.earlier_text(lw.earlier_text(text))


def test_the_case_tables_lowwage_columns_are_the_sourced_ones() -> None:
    rows = lw.lowwage_table().set_index("id")  # checks ids, codes, years, sources, quotes
    cases = read_case_csv(CALIBRATION / "gvc_cases.csv").set_index("id")
    for case_id, row in cases.iterrows():
        assert row["lowwage_entry"] == rows.loc[case_id, "lowwage_entry"], case_id
        assert row["lowwage_entry_year"] == rows.loc[case_id, "lowwage_entry_year"], case_id


def test_the_variant_mapping_and_config_differ_from_their_bases_only_by_lowwage_entry():
    base, variant = (read_mapping(CALIBRATION / name) for name in
                     ("case_levers_v3_later.toml", "case_levers_v3_lowwage.toml"))  # fmt: skip
    added = [m for m in variant.maps if m.column not in {b.column for b in base.maps}]
    assert [m.column for m in added] == ["lowwage_entry", "lowwage_entry_year"]
    assert [m for m in variant.maps if m not in added] == list(base.maps)
    assert {k: v for k, v in base.unmapped.items() if k != "Scouting Intensity"} == (
        variant.unmapped
    )
    later = load_config(CALIBRATION / "config_v3_later.toml")
    lowwage = load_config(CALIBRATION / "config_v3_lowwage.toml")
    assert lowwage.mapping.name == "case_levers_v3_lowwage.toml"
    strip = {"path": None, "text": "", "mapping": None}
    assert dataclasses.replace(lowwage, **strip) == dataclasses.replace(later, **strip)


def test_the_mapping_gives_each_code_its_lever_values() -> None:
    """`yes`: the sourced year from the period start (clipped to the run); `no`: no
    scouting against the cluster; `open`: the model's defaults."""
    model = gvcdyn.load(lw.V3)
    cases = read_case_csv(CALIBRATION / "gvc_cases.csv")
    mapping = read_mapping(CALIBRATION / "case_levers_v3_lowwage.toml")
    table = apply_mapping(cases, mapping, model=model)
    levers = pd.DataFrame(table.values, index=table.ids, columns=table.levers)
    frame = cases.set_index("id").loc[list(table.ids)]
    for case_id, row in frame.iterrows():
        year = levers.loc[case_id, "Entrant Entry Year"]
        scouting = levers.loc[case_id, "Scouting Intensity"]
        if row["lowwage_entry"] == "yes":
            offset = float(row["lowwage_entry_year"]) - float(row["period_start"])
            assert year == min(max(offset, 0.0), 40.0) and np.isnan(scouting), case_id
        elif row["lowwage_entry"] == "no":
            assert (year, scouting) == (0.0, 0.0), case_id
        else:
            assert year == 0.0 and np.isnan(scouting), case_id
