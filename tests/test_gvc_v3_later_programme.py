"""v3's later state programme (studies/v3_later_programme.py; issue 20, fifteenth step; the
protocol calibration/sources/later_programme_protocol.md, "The model and the mapping, fixed
now"): at ``Later Programme Size`` 0 v3 is its earlier self bit for bit, with a programme
after a buyer-led start firms search for new functions from the programme's year, the
state programme is the larger of the start's and the later one's, and the variant mapping
and config differ from the later shock's only by the programme's two columns.

Neutrality is tested against v3 whose ``state programme`` is the state-led start's alone
(``earlier_text``), as test_gvc_v3_later_shock.py does, not against ``git show HEAD``:
once this step is committed HEAD is the new model (the comparison would be of the model
with itself), and a ``git archive`` export has no history to read. The comparison with
the committed v3 before this step was made once with the study's ``--against``."""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gvcdyn
from gvcdyn.calibrate.cases import apply_mapping, read_case_csv, read_mapping
from gvcdyn.calibrate.config import load_config
from gvcdyn.errors import CaseDataError
from gvcdyn.sensitivity.levers import timing_levers

REPO = Path(__file__).resolve().parents[1]
CALIBRATION = REPO / "calibration"
sys.path.insert(0, str(REPO / "studies"))
import v3_later_programme as lp  # noqa: E402  (a study script, not a package)

PROGRAMME = {"Buyer Led Start": 0.8, "Shock Year": 5.0, "Later Programme Year": 15.0}


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> tuple[gvcdyn.Model, gvcdyn.Model]:
    folder = tmp_path_factory.mktemp("later_programme")
    return gvcdyn.load(lp.without_later_programme(folder)), gvcdyn.load(lp.V3)


@pytest.mark.parametrize("method", ["rk23", "euler"])
def test_at_size_0_v3_is_its_earlier_self_bit_for_bit(models, method) -> None:
    """50 Latin-hypercube settings of the 18 levers, the later shock's, the entry year and
    the programme's year: every saved variable of the earlier form is equal, bitwise."""
    earlier, current = models
    table = lp.neutral_design(current, 50, seed=3)
    years = table["Later Programme Year"]
    assert years.min() < 5.0 and years.max() > 35.0  # onsets inside the run: size 0 alone
    assert "Later Programme Size" not in table  # at its default 0: keeps it neutral
    compared, bad = lp.differing(earlier, current, table, method)
    assert compared > 150 and bad == []


def test_the_neutrality_comparison_sees_a_programme(models) -> None:
    """With a programme in one of the settings the same comparison finds the variables
    it moves, so the bitwise test above can fail."""
    earlier, current = models
    table = lp.neutral_design(current, 4, seed=3).assign(**{"Later Programme Size": 0.0})
    table.loc[2, ["Later Programme Size", "Later Programme Year"]] = (0.3, 10.0)
    earlier_table = table.drop(columns=["Later Programme Size"])
    a = earlier.run(earlier_table, saveper=1.0, variables=["state programme"])
    b = current.run(table, saveper=1.0, variables=["state programme"])
    assert not np.array_equal(a["state programme"].values, b["state programme"].values)
    _, bad = lp.differing(earlier, current, table, "euler")
    assert {"state programme", "Functional Search", "Functional Upgrading"} <= set(bad)


def test_a_later_programme_directs_search_to_functions_from_its_year(models) -> None:
    """After a buyer-led start in year 5 (which directs no search to functions), a
    programme of 0.6 in year 15: Functional Search rises above 0 after year 15 and
    Functional Upgrading ends higher; before year 15 the two runs are identical."""
    _, current = models
    runs = pd.DataFrame([{**PROGRAMME, "Later Programme Size": s} for s in (0.0, 0.6)])
    ds = current.run(runs, saveper=0.5)
    search = ds["Functional Search"]
    assert (search.sel(time=slice(15.5, 40.0)).values[1] > 0).all()
    assert (search.values[0] == 0).all()  # without it: the start alone never does
    upgrading = ds["Functional Upgrading"].sel(time=40.0).values
    assert upgrading[1] > upgrading[0] + 0.1
    before = ds.sel(time=slice(0.0, 14.5))
    for name in before.data_vars:
        if "time" in before[name].dims:
            np.testing.assert_array_equal(before[name].values[0], before[name].values[1], name)
    involvement = ds["state involvement"].sel(time=20.0).values
    assert involvement[1] > involvement[0]  # state participation: another channel [PF]


def test_the_state_programme_is_the_larger_of_the_two_not_their_sum(models) -> None:
    """A state-led start of 0.6 in year 5 with a later programme of 0.3 keeps its own
    programme; one of 0.9 raises it to 0.9."""
    _, current = models
    base = {"State Led Start": 0.6, "Shock Year": 5.0, "Later Programme Year": 15.0}
    runs = pd.DataFrame([{**base, "Later Programme Size": s} for s in (0.0, 0.3, 0.9)])
    programme = current.run(runs, saveper=1.0, variables=["state programme"])["state programme"]
    np.testing.assert_array_equal(programme.values[0], programme.values[1])
    late = programme.sel(time=30.0).values
    assert late[0] == pytest.approx(0.6) and late[2] == pytest.approx(0.9)


def test_the_two_levers_are_documented_and_the_year_is_a_timing_lever(models) -> None:
    _, current = models
    size, year = (current.parameter(n) for n in ("Later Programme Size", "Later Programme Year"))
    assert (size.default, size.minimum, size.maximum) == (0.0, 0.0, 1.0)
    assert (year.default, year.minimum, year.maximum) == (40.0, 0.0, 40.0)
    assert "[PF]" in size.doc and "calibration/sources/later_programmes.csv" in size.doc
    assert timing_levers(current, [size.name, year.name]) == {year.name}
    assert set(lp.PROGRAMME_BASIS) == {size.name, year.name}


def test_the_earlier_form_is_refused_on_a_model_without_the_later_programme() -> None:
    text = lp.V3.read_text(encoding="utf-8")
    earlier = lp.earlier_text(text)
    assert re.search(r"\nstate programme=\n\tState Led Start\*trigger onset\n", earlier)
    with pytest.raises(SystemExit, match="no later programme"):
        lp.earlier_text(earlier)


def _body(text: str) -> str:
    """A mapping file's text after its variant header (from the shared first comment)."""
    return text[text.index("# Declared mapping") :]


def test_the_variant_mapping_and_config_differ_from_the_later_shocks_only_by_the_programme():
    base_path = CALIBRATION / "case_levers_v3_later.toml"
    variant_path = CALIBRATION / "case_levers_v3_programme.toml"
    base, variant = read_mapping(base_path), read_mapping(variant_path)
    added = [m for m in variant.maps if m.column not in {b.column for b in base.maps}]
    assert [m.column for m in added] == ["later_programme", "later_programme_year"]
    assert [m for m in variant.maps if m not in added] == list(base.maps)
    assert variant.unmapped == base.unmapped
    block = re.search(r"# A sourced state programme.*?\n(?=\[unmapped\])", variant_path.read_text(),
                      flags=re.S).group(0)  # fmt: skip
    body = _body(variant_path.read_text()).replace(block, "")
    assert body == _body(base_path.read_text())  # the text too: only header and two maps
    later = load_config(CALIBRATION / "config_v3_later.toml")
    programme = load_config(CALIBRATION / "config_v3_programme.toml")
    assert programme.mapping.name == "case_levers_v3_programme.toml"
    assert programme.maxiter == later.maxiter == 60
    strip = {"path": None, "text": "", "mapping": None}
    assert dataclasses.replace(programme, **strip) == dataclasses.replace(later, **strip)
    # its cross-validated twin (5-fold x3 and leave-one-out, as the protocol reports)
    # is the later shock's twin with the programme's mapping and nothing else
    later_cv = load_config(CALIBRATION / "config_v3_later_cv.toml")
    programme_cv = load_config(CALIBRATION / "config_v3_programme_cv.toml")
    assert programme_cv.mapping.name == "case_levers_v3_programme.toml"
    assert dataclasses.replace(programme_cv, **strip) == dataclasses.replace(later_cv, **strip)
    assert dataclasses.replace(programme_cv, **strip) != dataclasses.replace(programme, **strip)


def _table_with_programmes(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """A copy of the case table with the two columns: `yes` for IN_SOFTWARE (period start
    + 7) and TW_PC (its period's last year), `open` for MY_PENANG_ELEC, `no` elsewhere."""
    cases = read_case_csv(CALIBRATION / "gvc_cases.csv")
    cases = cases.drop(columns=["later_programme", "later_programme_year"], errors="ignore")
    cases["later_programme"], cases["later_programme_year"] = "no", ""
    rows = cases.set_index("id")
    coded = {
        "IN_SOFTWARE": ("yes", str(int(rows.loc["IN_SOFTWARE", "period_start"]) + 7)),
        "TW_PC": ("yes", rows.loc["TW_PC", "period_end"]),
        "MY_PENANG_ELEC": ("open", ""),
    }
    for case_id, (code, year) in coded.items():
        where = cases["id"] == case_id
        cases.loc[where, ["later_programme", "later_programme_year"]] = (code, year)
    path = tmp_path / "gvc_cases.csv"
    cases.to_csv(path, index=False)
    return path, cases


def test_the_mapping_gives_each_code_its_lever_values(tmp_path) -> None:
    """`yes`: 0.6 from the sourced year less the period start (clipped to the run);
    `no` and `open`: no programme (0, year 40); every other lever as the later shock's
    mapping sets it."""
    model = gvcdyn.load(lp.V3)
    path, cases = _table_with_programmes(tmp_path)
    read = read_case_csv(path)
    variant = apply_mapping(read, read_mapping(lp.MAPPING), model=model)
    base = apply_mapping(read, read_mapping(CALIBRATION / "case_levers_v3_later.toml"), model=model)
    levers = pd.DataFrame(variant.values, index=variant.ids, columns=variant.levers)
    earlier = pd.DataFrame(base.values, index=base.ids, columns=base.levers)
    assert set(levers.columns) - set(earlier.columns) == set(lp.PROGRAMME_BASIS)
    pd.testing.assert_frame_equal(levers[earlier.columns], earlier)
    for case_id, row in cases.set_index("id").loc[list(variant.ids)].iterrows():
        size, year = levers.loc[case_id, ["Later Programme Size", "Later Programme Year"]]
        if row["later_programme"] == "yes":
            offset = float(row["later_programme_year"]) - float(row["period_start"])
            assert (size, year) == (0.6, min(max(offset, 0.0), 40.0)), case_id
        else:
            assert (size, year) == (0.0, 40.0), case_id
    assert (levers["Later Programme Size"] > 0).sum() == 2
    assert levers.loc["IN_SOFTWARE", "Later Programme Year"] == 7.0


def test_a_case_table_without_the_columns_is_refused_naming_the_column(tmp_path) -> None:
    """Until the columns land the variant mapping is refused in one message naming the
    first missing column, not with a traceback from inside the reader."""
    cases = read_case_csv(CALIBRATION / "gvc_cases.csv")
    cases = cases.drop(columns=["later_programme", "later_programme_year"], errors="ignore")
    path = tmp_path / "gvc_cases.csv"
    cases.to_csv(path, index=False)
    with pytest.raises(CaseDataError, match="no column 'later_programme', which the mapping"):
        apply_mapping(read_case_csv(path), read_mapping(lp.MAPPING), model=gvcdyn.load(lp.V3))


def test_the_range_rows_read_the_mapped_cases(tmp_path) -> None:
    """The two rows for models/gvc_upgrading_v3.md's range table (as the later shock's
    are printed by studies/v3_later_shock.py): the mapped values and how many cases set
    each lever off its default, with the basis."""
    path, cases = _table_with_programmes(tmp_path)
    size, year = lp.lever_rows(path)
    n = len(cases)
    assert size.startswith("| `Later Programme Size` | 0 | [0, 1] | 0 .. 0.6 (2 of ")
    assert f"(2 of {n} cases set it off its default)" in year and "| 7 .. 40 (" in year
    assert size.endswith(f"{lp.PROGRAMME_BASIS['Later Programme Size']} | none |")


SOURCED = CALIBRATION / "sources" / "later_programmes.csv"
COLUMNS = ["later_programme", "later_programme_year"]


def _programme_mismatches(cases_path: Path, sourced_path: Path) -> list[str]:
    """Where the case table's two programme columns are not the sourced table's, or the
    sourced table breaks the protocol's form (calibration/sources/later_programme_protocol.md):
    one row per case, a code of yes/no/open, a year only with `yes`, inside the period and
    after the coded trigger year, a source and a quote for `yes` and `no`. Empty: they agree."""
    sourced = pd.read_csv(sourced_path, dtype=str, keep_default_na=False)
    cases = read_case_csv(cases_path).set_index("id")
    if sourced["id"].duplicated().any() or sorted(sourced["id"]) != sorted(cases.index):
        return [f"not one row per case: {sorted(set(sourced['id']) ^ set(cases.index))}"]
    found = []
    for row in sourced.itertuples():
        case = cases.loc[row.id]
        if [case[c] for c in COLUMNS] != [row.later_programme, row.later_programme_year]:
            found.append(f"{row.id}: table {[case[c] for c in COLUMNS]} != sourced")
        if row.later_programme not in ("yes", "no", "open"):
            found.append(f"{row.id}: code {row.later_programme!r}")
        if row.later_programme != "open" and not (row.source and row.quote):
            found.append(f"{row.id}: {row.later_programme} without a source and a quote")
        if row.later_programme != "yes":
            if row.later_programme_year:
                found.append(f"{row.id}: a year without 'yes'")
            continue
        year, trigger = float(row.later_programme_year), case["trigger_year"]
        if not float(case["period_start"]) <= year <= float(case["period_end"]):
            found.append(f"{row.id}: {year:g} outside the period")
        if trigger and year <= float(trigger):
            found.append(f"{row.id}: {year:g} not after the trigger year {trigger}")
    return found


def test_the_case_tables_programme_columns_are_the_sourced_ones() -> None:
    """The case table's two columns equal calibration/sources/later_programmes.csv row by
    row (as test_gvc_v3_lowwage.py asserts for the low-wage entry's), the sourced rows keep
    the protocol's form, and the counts are the protocol's recorded reading (16 yes, 9 no,
    16 open), so an edit to either file alone fails here rather than moving a fit."""
    assert _programme_mismatches(CALIBRATION / "gvc_cases.csv", SOURCED) == []
    codes = pd.read_csv(SOURCED, dtype=str, keep_default_na=False)["later_programme"]
    assert codes.value_counts().to_dict() == {"yes": 16, "no": 9, "open": 16}


def test_the_programme_comparison_sees_a_changed_cell(tmp_path) -> None:
    """The comparison can fail: one year moved in a copy of the case table, and one `no`
    given a year in a copy of the sourced table, are each found."""
    cases = read_case_csv(CALIBRATION / "gvc_cases.csv")
    where = cases["id"] == "IN_SOFTWARE"
    cases.loc[where, "later_programme_year"] = "1991"
    cases.to_csv(tmp_path / "gvc_cases.csv", index=False)
    found = _programme_mismatches(tmp_path / "gvc_cases.csv", SOURCED)
    assert found == ["IN_SOFTWARE: table ['yes', '1991'] != sourced"]
    sourced = pd.read_csv(SOURCED, dtype=str, keep_default_na=False)
    sourced.loc[sourced["id"] == "PK_SIALKOT_SURG", "later_programme_year"] = "1996"
    sourced.to_csv(tmp_path / "later_programmes.csv", index=False)
    found = _programme_mismatches(CALIBRATION / "gvc_cases.csv", tmp_path / "later_programmes.csv")
    assert "PK_SIALKOT_SURG: a year without 'yes'" in found
