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
import xarray as xr

import gvcdyn
from gvcdyn.calibrate.cases import apply_mapping, read_case_csv, read_mapping
from gvcdyn.calibrate.config import load_config
from gvcdyn.errors import CaseDataError
from gvcdyn.sensitivity.levers import timing_levers

REPO = Path(__file__).resolve().parents[1]
CALIBRATION = REPO / "calibration"
sys.path.insert(0, str(REPO / "studies"))
import v3_later_programme as lp  # noqa: E402  (a study script, not a package)
import v3_later_shock as later_shock  # noqa: E402  (the neutrality checker both share)
from sourced_columns import sourced_mismatches  # noqa: E402  (tests/, beside this file)

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
    compared, bad = later_shock.differing(earlier, current, table, method)
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
    _, bad = later_shock.differing(earlier, current, table, "euler")
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
    return sourced_mismatches(cases_path, sourced_path, COLUMNS, more=_programme_year)


def _programme_year(row, case: pd.Series) -> list[str]:
    """The year's rules: only with `yes`, inside the period, after the trigger year."""
    if row.later_programme != "yes":
        return [f"{row.id}: a year without 'yes'"] if row.later_programme_year else []
    found = []
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


# --- the --compare mode: where the likelihood moves between two fits, on synthetic fits ---


def _fit(probability, observed, cases=("A", "B", "C"), objective=10.0) -> xr.Dataset:
    """A synthetic fit with the variables --compare reads: ``probability`` (case, outcome,
    level), ``observed`` (case, outcome; -1 blank), an estimate, cutpoints and CV scores."""
    probability = np.asarray(probability, dtype=float)
    coords = {"case": list(cases), "outcome": ["process_upg", "outcome_class"],
              "level": [0, 1, 2]}  # fmt: skip
    return xr.Dataset(
        {
            "probability": (("case", "outcome", "level"), probability),
            "observed": (("case", "outcome"), np.asarray(observed)),
            "estimate": (("parameter",), [0.5, 2.0]),
            "cutpoint": (("outcome", "cut"), [[0.1, 0.2], [0.3, np.nan]]),
            "cv_score": (("cv_metric",), [1.1, np.nan]),
        },
        coords={**coords, "parameter": ["a", "b"], "cv_metric": ["log_loss", "rps"]},
        attrs={"objective": objective, "model_sha256": "m" * 64, "case_file_sha256": "c" * 64},
    )


P = [[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]],
     [[0.2, 0.2, 0.6], [1 / 3, 1 / 3, 1 / 3]],
     [[0.9, 0.05, 0.05], [0.4, 0.4, 0.2]]]  # fmt: skip
OBSERVED = [[0, 1], [2, -1], [1, 2]]


def test_case_nll_reads_the_observed_levels_probability_and_skips_blanks() -> None:
    nll = lp.case_nll(_fit(P, OBSERVED))
    assert nll.loc["A", "process_upg"] == pytest.approx(np.log(2))
    assert nll.loc["A", "outcome_class"] == pytest.approx(-np.log(0.8))
    assert nll.loc["C", "process_upg"] == pytest.approx(-np.log(0.05))
    assert np.isnan(nll.loc["B", "outcome_class"])  # blank (-1): no likelihood
    as_float = _fit(P, np.where(np.array(OBSERVED) < 0, np.nan, OBSERVED).astype(float))
    pd.testing.assert_frame_equal(lp.case_nll(as_float), nll)  # NaN blank as -1
    with pytest.raises(SystemExit, match="beyond the fit's levels"):
        lp.case_nll(_fit(P, [[0, 3], [2, -1], [1, 2]]))


def test_nll_change_aligns_cases_and_refuses_other_data() -> None:
    """The programme fit's cases in another order are aligned by id (a positional
    difference would pair A with C); other observed levels or cases are refused."""
    reference = _fit(P, OBSERVED)
    moved = np.array(P)
    moved[0, 0] = [0.25, 0.5, 0.25]  # A's process_upg: P(observed 0) halves
    order = [2, 0, 1]
    programme = _fit(moved[order], np.array(OBSERVED)[order], cases=("C", "A", "B"))
    change = lp.nll_change(reference, programme)
    assert list(change.index) == ["A", "B", "C"]
    assert change.loc["A", "process_upg"] == pytest.approx(np.log(2))
    assert change.drop(index="A").fillna(0).abs().to_numpy().max() == pytest.approx(0.0)
    other = np.array(OBSERVED)
    other[2, 1] = 0
    with pytest.raises(SystemExit, match="other observed levels"):
        lp.nll_change(reference, _fit(P, other))
    with pytest.raises(SystemExit, match="other cases"):
        lp.nll_change(reference, _fit(P, OBSERVED, cases=("A", "B", "D")))


def test_summed_change_groups_sums_and_totals() -> None:
    change = pd.DataFrame({"process_upg": [1.0, 2.0, -4.0], "outcome_class": [0.5, np.nan, 0.25]},
                          index=["A", "B", "C"])  # fmt: skip
    codes = pd.Series({"C": "yes", "A": "yes", "B": "no"})
    table = lp.summed_change(change, {"code": codes})
    assert table.loc["all (3)"].tolist() == [-1.0, 0.75, -0.25]
    assert table.loc["code yes (2)"].tolist() == [-3.0, 0.75, -2.25]
    assert table.loc["code no (1)"].tolist() == [2.0, 0.0, 2.0]  # the blank left out
    with pytest.raises(SystemExit, match="no label for B"):
        lp.summed_change(change, {"code": codes.drop("B")})


def test_largest_changes_rank_by_size_either_sign() -> None:
    change = pd.DataFrame({"x": [0.1, -0.9, np.nan], "y": [0.5, 0.2, -0.6]}, index=list("ABC"))
    top = lp.largest_changes(change, 3)
    assert list(top.index) == [("B", "x"), ("C", "y"), ("A", "y")]
    assert top.tolist() == [-0.9, -0.6, 0.5]


def test_largest_difference_is_nan_equal_and_sees_every_kind_of_difference() -> None:
    a = xr.DataArray([1.0, np.nan, 3.0], coords={"i": [0, 1, 2]}, name="v")
    assert lp.largest_difference(a, a.copy()) == 0.0
    assert lp.largest_difference(a, a + 1e-12) == pytest.approx(1e-12)
    assert lp.largest_difference(a, a.fillna(2.0)) == float("inf")
    with pytest.raises(SystemExit, match="coordinates differ"):
        lp.largest_difference(a, a.assign_coords(i=[2, 1, 0]))


def test_the_agreement_says_equal_or_the_largest_difference_and_the_hashes() -> None:
    before = _fit(P, OBSERVED)
    same = _fit(P, OBSERVED).assign_attrs(model_sha256="n" * 64)
    assert lp.fit_agreement(before, same) == dict.fromkeys(("objective", *lp.COMPARED), 0.0)
    lines = lp.agreement_lines(before, same)
    assert lines[0] == "objective 10.0000 (before the change 10.0000)"
    assert "  probability (18 values): equal" in lines
    assert f"  model_sha256: {'n' * 16} (before {'m' * 16})" in lines
    moved = same.copy(deep=True).assign_attrs(objective=10.5)
    moved["cv_score"][0] = 1.1 + 0.002
    found = lp.fit_agreement(before, moved)
    assert found["objective"] == 0.5 and found["cv_score"] == pytest.approx(0.002)
    assert found["estimate"] == 0.0
    assert "  cv_score (2 values): largest difference 0.002" in lp.agreement_lines(before, moved)


def _levers(rows: dict[str, tuple[float, float, float, float, float]]) -> pd.DataFrame:
    names = ["State Led Start", "Shock Year", "Later Programme Size", "Later Programme Year",
             "horizon"]  # fmt: skip
    return pd.DataFrame.from_dict(rows, orient="index", columns=names)


def test_programme_action_finds_rows_that_change_nothing_or_barely_act() -> None:
    levers = _levers({
        "SAME_START": (0.6, 0.0, 0.6, 10.0, 20.0),   # MAX keeps the start's term
        "BIGGER_START": (0.8, 0.0, 0.6, 10.0, 20.0),
        "LATE_START": (0.6, 12.0, 0.6, 10.0, 20.0),  # the programme comes first: it acts
        "LAST_YEAR": (0.0, 0.0, 0.6, 20.0, 20.0),
        "YEAR_BEFORE": (0.0, 0.0, 0.6, 19.0, 20.0),
        "SMALLER_START": (0.3, 0.0, 0.6, 5.0, 20.0),
        "NO_PROGRAMME": (0.0, 0.0, 0.0, 40.0, 20.0),
    })  # fmt: skip
    action = lp.programme_action(levers)
    assert "NO_PROGRAMME" not in action.index
    assert list(action.index[action["unchanged"]]) == ["SAME_START", "BIGGER_START"]
    assert list(action.index[action["barely"]]) == ["LAST_YEAR"]
    assert action.loc["YEAR_BEFORE", "before_reading"] == 1.0
    acting = action.loc[["LATE_START", "YEAR_BEFORE", "SMALLER_START"], ["unchanged", "barely"]]
    assert not acting.any(axis=None)
    coded = levers.assign(later_programme=["yes"] * 6 + ["yes"])
    lines = lp.action_lines(coded)
    assert lines[1].endswith(": SAME_START, BIGGER_START") and lines[2].endswith(": LAST_YEAR")
    assert lines[3].endswith("LATE_START 10, YEAR_BEFORE 1, SMALLER_START 15")
    assert lines[4] == "  coded yes, no programme mapped: NO_PROGRAMME"


def test_the_yes_rows_that_do_not_act_are_read_from_the_mapping_and_the_table() -> None:
    """On the real mapping and case table: the three state-led starts (the review's
    finding) change nothing, and the `yes` rows whose year is their period's last barely
    act (read here from the table's years, independently of the mapping)."""
    levers = lp.mapped_levers()
    action = lp.programme_action(levers)
    assert set(action.index) == set(levers.index[levers["later_programme"] == "yes"])
    assert set(action.index[action["unchanged"]]) == {"CL_SALMON_RISE", "BR_SFV_FRUIT",
                                                       "BR_EMBRAER"}  # fmt: skip
    table = read_case_csv(CALIBRATION / "gvc_cases.csv").set_index("id")
    last = table[(table["later_programme"] == "yes")
                 & (table["later_programme_year"] == table["period_end"])].index  # fmt: skip
    assert set(action.index[action["barely"]]) == set(last) - set(action.index[action["unchanged"]])
    assert len(last) == 4


def test_before_needs_compare(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "argv", ["v3_later_programme.py", "--before", "x.nc"])
    with pytest.raises(SystemExit) as exit_:
        lp.main()
    assert exit_.value.code == 2 and "--before needs --compare" in capsys.readouterr().err


def test_compare_names_a_fit_it_cannot_read(monkeypatch, capsys, tmp_path) -> None:
    """--compare on a missing fit file exits 2 naming it (it ended in a traceback)."""
    gone = tmp_path / "gone.nc"
    monkeypatch.setattr(sys, "argv", ["v3_later_programme.py", "--compare", str(gone), str(gone)])
    with pytest.raises(SystemExit) as exit_:
        lp.main()
    assert exit_.value.code == 2 and str(gone) in capsys.readouterr().err
