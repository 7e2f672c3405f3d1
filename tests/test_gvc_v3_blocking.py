"""Lead firms' resistance coded per case (issue 20, seventeenth step; protocol
calibration/sources/buyer_resistance_protocol.md, "The mapping, fixed now"): the variant
mapping is the later shock's with one more map, which takes Buyer Blocking Strength off
[unmapped], its configs differ from the reference's only by that mapping, and each code
gets the value the protocol fixed before any row was coded."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pandas as pd
import pytest
from sourced_columns import sourced_mismatches

import gvcdyn
from gvcdyn.calibrate.cases import apply_mapping, read_case_csv, read_mapping
from gvcdyn.calibrate.config import load_config
from gvcdyn.errors import CaseDataError

REPO = Path(__file__).resolve().parents[1]
CALIBRATION = REPO / "calibration"
V3 = REPO / "models" / "gvc_upgrading_v3.mdl"
BASE = CALIBRATION / "case_levers_v3_later.toml"
VARIANT = CALIBRATION / "case_levers_v3_blocking.toml"
LEVER = "Buyer Blocking Strength"
#: the protocol's values: the top of the range with a basis, absent, the judged default
VALUES = {"yes": 0.6, "no": 0.0, "open": 0.5}


def _body(text: str) -> str:
    """A mapping file's text after its variant header (from the shared first comment)."""
    return text[text.index("# Declared mapping") :]


def test_the_variant_mapping_adds_one_map_and_maps_a_lever_no_longer_unmapped() -> None:
    base, variant = read_mapping(BASE), read_mapping(VARIANT)
    added = [m for m in variant.maps if m.column not in {b.column for b in base.maps}]
    assert [m.column for m in added] == ["buyer_resistance"]
    assert [m for m in variant.maps if m not in added] == list(base.maps)
    assert LEVER in base.unmapped and LEVER not in variant.unmapped
    assert {k: v for k, v in base.unmapped.items() if k != LEVER} == dict(variant.unmapped)
    text = VARIANT.read_text()
    block = re.search(r"# Lead firms' resistance.*?\n(?=\[unmapped\])", text, flags=re.S).group(0)
    entry = next(line for line in BASE.read_text().splitlines() if line.startswith(f'"{LEVER}"'))
    assert _body(text).replace(block, "") == _body(BASE.read_text()).replace(entry + "\n", "")


def test_the_configs_differ_from_the_references_only_by_the_mapping() -> None:
    strip = {"path": None, "text": "", "mapping": None}
    for reference, variant in (
        ("config_v3_later.toml", "config_v3_blocking.toml"),
        ("config_v3_later_cv.toml", "config_v3_blocking_cv.toml"),
    ):
        ref, var = load_config(CALIBRATION / reference), load_config(CALIBRATION / variant)
        assert var.mapping.name == VARIANT.name, variant
        assert dataclasses.replace(var, **strip) == dataclasses.replace(ref, **strip), variant
    one = load_config(CALIBRATION / "config_v3_blocking.toml")
    twin = load_config(CALIBRATION / "config_v3_blocking_cv.toml")
    assert (one.cv_repeats, one.cv_loo, twin.cv_repeats, twin.cv_loo) == (1, False, 3, True)


def _table_with_codes(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """A copy of the case table with the column: `yes` for the first case, `no` for the
    second, `open` elsewhere."""
    cases = read_case_csv(CALIBRATION / "gvc_cases.csv")
    cases["buyer_resistance"] = "open"
    cases.loc[cases.index[0], "buyer_resistance"] = "yes"
    cases.loc[cases.index[1], "buyer_resistance"] = "no"
    path = tmp_path / "gvc_cases.csv"
    cases.to_csv(path, index=False)
    return path, cases


def test_the_mapping_gives_each_code_its_value_and_leaves_the_rest(tmp_path) -> None:
    model = gvcdyn.load(V3)
    path, cases = _table_with_codes(tmp_path)
    read = read_case_csv(path)
    variant = apply_mapping(read, read_mapping(VARIANT), model=model)
    base = apply_mapping(read, read_mapping(BASE), model=model)
    levers = pd.DataFrame(variant.values, index=variant.ids, columns=variant.levers)
    earlier = pd.DataFrame(base.values, index=base.ids, columns=base.levers)
    assert set(levers.columns) - set(earlier.columns) == {LEVER}
    pd.testing.assert_frame_equal(levers[earlier.columns], earlier)
    codes = cases.set_index("id")["buyer_resistance"]
    for case_id in variant.ids:
        assert levers.loc[case_id, LEVER] == VALUES[codes[case_id]], case_id
    assert sorted(levers[LEVER].unique()) == [0.0, 0.5, 0.6]
    # `open` is the judged default: those cases run exactly as the reference's
    assert VALUES["open"] == model.parameter(LEVER).default


def test_a_case_table_without_the_column_is_refused_naming_it(tmp_path) -> None:
    cases = read_case_csv(CALIBRATION / "gvc_cases.csv")
    cases = cases.drop(columns=["buyer_resistance"], errors="ignore")
    path = tmp_path / "gvc_cases.csv"
    cases.to_csv(path, index=False)
    with pytest.raises(CaseDataError, match="no column 'buyer_resistance', which the mapping"):
        apply_mapping(read_case_csv(path), read_mapping(VARIANT), model=gvcdyn.load(V3))


SOURCED = CALIBRATION / "sources" / "buyer_resistance.csv"


def _mismatches(cases_path: Path, sourced_path: Path) -> list[str]:
    """Where the case table's column is not the sourced table's, or the sourced table
    breaks the protocol's form: one row per case, a code of yes/no/open, a source and a
    quote for `yes` and `no`. Empty: they agree."""
    return sourced_mismatches(cases_path, sourced_path, ["buyer_resistance"], tuple(VALUES))


def test_the_case_tables_column_is_the_sourced_one() -> None:
    """The case table's column equals calibration/sources/buyer_resistance.csv row by
    row, the sourced rows keep the protocol's form, and the counts are the recorded
    reading (3 yes, 6 no, 32 open), so an edit to either file alone fails here."""
    assert _mismatches(CALIBRATION / "gvc_cases.csv", SOURCED) == []
    codes = pd.read_csv(SOURCED, dtype=str, keep_default_na=False)["buyer_resistance"]
    assert codes.value_counts().to_dict() == {"open": 32, "no": 6, "yes": 3}


def test_the_comparison_sees_a_changed_cell(tmp_path) -> None:
    """The comparison can fail: a code changed in a copy of the case table, and a `yes`
    without its quote in a copy of the sourced table, are each found."""
    cases = read_case_csv(CALIBRATION / "gvc_cases.csv")
    cases.loc[cases["id"] == "TW_PC", "buyer_resistance"] = "no"
    changed = tmp_path / "gvc_cases.csv"
    cases.to_csv(changed, index=False)
    assert _mismatches(changed, SOURCED) == ["TW_PC: table 'no' != sourced"]
    sourced = pd.read_csv(SOURCED, dtype=str, keep_default_na=False)
    sourced.loc[sourced["id"] == "TW_PC", "quote"] = ""
    bare = tmp_path / "sourced.csv"
    sourced.to_csv(bare, index=False)
    assert _mismatches(CALIBRATION / "gvc_cases.csv", bare) == [
        "TW_PC: yes without a source and a quote"
    ]
