"""Case tables and the case -> lever mapping: every bad input names the case id and column."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

import gvcdyn
from gvcdyn.calibrate.cases import apply_mapping, read_case_csv, read_mapping
from gvcdyn.errors import CaseDataError, CaseMappingError, GvcdynError

DATA = Path(__file__).parent / "data" / "calibration"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def toy_model():
    return gvcdyn.load(DATA / "toy_upgrading.mdl")


def write_csv(tmp_path: Path, rows: list[str]) -> Path:
    header = "id,period_start,period_end,support,trigger,trigger_year"
    path = tmp_path / "cases.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def mapped(tmp_path, rows, model, **kwargs):
    frame = read_case_csv(write_csv(tmp_path, rows))
    return apply_mapping(frame, read_mapping(DATA / "toy_levers.toml"), model=model, **kwargs)


def test_toy_mapping_sets_levers_by_category_prefix_and_offset(tmp_path, toy_model):
    cases = mapped(
        tmp_path,
        [
            "A,1990,2000,high,shock:trade,1993",
            "B,1980,2010,low,none:state-led,",  # longest prefix 'none'; blank year -> missing
            "C,1970,1980,medium,none,1960",  # before the start: clipped to 0
        ],
        toy_model,
    )
    assert cases.ids == ("A", "B", "C")
    col = {lever: j for j, lever in enumerate(cases.levers)}
    assert cases.values[:, col["Support"]].tolist() == [0.9, 0.1, 0.5]
    assert cases.values[:, col["Shock Size"]].tolist() == [1.0, 0.0, 0.0]
    assert cases.values[:, col["Shock Year"]].tolist() == [3.0, 0.0, 0.0]
    assert cases.horizon.tolist() == [10.0, 30.0, 10.0]


def test_unknown_category_names_case_and_column(tmp_path, toy_model):
    with pytest.raises(CaseDataError, match=r"case 'B', column 'support': value 'huge'"):
        mapped(tmp_path, ["A,1990,2000,high,none,", "B,1990,2000,huge,none,"], toy_model)


def test_non_numeric_year_names_case_and_column(tmp_path, toy_model):
    with pytest.raises(CaseDataError, match=r"case 'B', column 'period_end': 'soon'"):
        mapped(tmp_path, ["A,1990,2000,high,none,", "B,1990,soon,high,none,"], toy_model)
    with pytest.raises(CaseDataError, match=r"case 'A', column 'trigger_year': 'x1995'"):
        mapped(tmp_path, ["A,1990,2000,high,shock:a,x1995"], toy_model)


def test_period_ending_before_it_starts_is_an_error(tmp_path, toy_model):
    with pytest.raises(CaseDataError, match=r"case 'A', column 'period_end'.*before it starts"):
        mapped(tmp_path, ["A,2000,1990,high,none,"], toy_model)


def test_every_bad_row_is_listed_in_one_error(tmp_path, toy_model):
    with pytest.raises(CaseDataError) as info:
        mapped(tmp_path, ["A,2000,1990,high,none,", "B,1990,2000,huge,none,"], toy_model)
    assert "case 'A'" in str(info.value) and "case 'B'" in str(info.value)
    assert isinstance(info.value, GvcdynError) and isinstance(info.value, ValueError)


def test_non_strict_reports_bad_rows_and_keeps_the_others(tmp_path, toy_model):
    cases = mapped(
        tmp_path,
        ["A,1990,2000,high,none,", "B,1990,2000,huge,none,", "C,1990,2000,low,none,"],
        toy_model,
        strict=False,
    )
    assert cases.ids == ("A", "C")
    assert [(x.case_id, x.column) for x in cases.invalid] == [("B", "support")]


def test_excluded_rows_are_reported_with_the_reason(tmp_path, toy_model):
    cases = mapped(tmp_path, ["A,1990,2000,high,none,", "B,1990,2000,unknown,none,"], toy_model)
    assert cases.ids == ("A",)
    (excluded,) = cases.excluded
    assert excluded.case_id == "B" and excluded.column == "support"
    assert "support was not coded" in excluded.message


def test_unknown_lever_in_mapping_names_it(tmp_path, toy_model):
    path = tmp_path / "m.toml"
    path.write_text('[[map]]\ncolumn = "support"\nvalues.high = { "Suport Level" = 1 }\n')
    frame = read_case_csv(write_csv(tmp_path, ["A,1990,2000,high,none,"]))
    with pytest.raises(CaseMappingError, match=r"column 'support'.*Suport Level"):
        apply_mapping(frame, read_mapping(path), model=toy_model)


def test_lever_value_outside_its_range_is_a_bad_row(tmp_path, toy_model):
    path = tmp_path / "m.toml"
    path.write_text('[[map]]\ncolumn = "support"\nvalues.high = { "Support" = 3 }\n')
    frame = read_case_csv(write_csv(tmp_path, ["A,1990,2000,high,none,"]))
    with pytest.raises(CaseDataError, match=r"case 'A', column 'support'.*outside its range"):
        apply_mapping(frame, read_mapping(path), model=toy_model)


def test_two_columns_setting_one_lever_differently_is_an_error(tmp_path, toy_model):
    path = tmp_path / "m.toml"
    path.write_text(
        textwrap.dedent("""\
        [[map]]
        column = "support"
        values.high = { "Support" = 0.9 }
        [[map]]
        column = "trigger"
        match = "prefix"
        values.none = { "Support" = 0.1 }
        """)
    )
    frame = read_case_csv(write_csv(tmp_path, ["A,1990,2000,high,none,"]))
    with pytest.raises(CaseDataError, match=r"column 'trigger'.*'Support'.*'support'"):
        apply_mapping(frame, read_mapping(path), model=toy_model)


def test_one_value_setting_a_lever_twice_under_two_spellings_is_an_error(tmp_path, toy_model):
    """``values.high = { "Support" = 0.9, "support" = 0.1 }``: TOML keeps both keys, and the
    canonical mapping kept the last (every 'high' case ran at Support = 0.1, silently)."""
    path = tmp_path / "m.toml"
    path.write_text(
        '[[map]]\ncolumn = "support"\nvalues.high = { "Support" = 0.9, "support" = 0.1 }\n'
    )
    frame = read_case_csv(write_csv(tmp_path, ["A,1990,2000,high,none,"]))
    with pytest.raises(CaseMappingError, match=r"column 'support', values.high: lever 'Support'"):
        apply_mapping(frame, read_mapping(path), model=toy_model)
    path.write_text('[[map]]\ncolumn = "support"\nvalues.high = { "support" = 0.9 }\n')
    table = apply_mapping(frame, read_mapping(path), model=toy_model)
    assert table.levers == ("Support",) and table.values[0, 0] == 0.9


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[map]]\nvalues.a = { "Support" = 1 }\n', "needs a 'column'"),
        ('[[map]]\ncolumn = "x"\n', "give 'values'"),
        ('[[map]]\ncolumn = "x"\nvalues.a = { "Support" = "one" }\n', "not a finite number"),
        ('[[map]]\ncolumn = "x"\nlever = "Support"\nclip = [2, 1]\n', "clip low"),
        ('[[map]]\ncolumn = "x"\nmatch = "regex"\nvalues.a = { "Support" = 1 }\n', "match"),
        ('colour = "red"\n', "unknown key 'colour'"),
        ("[[map]\n", "not valid TOML"),
    ],
)
def test_malformed_mapping_is_a_clear_error(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(CaseMappingError, match=message):
        read_mapping(path)


def test_case_csv_problems(tmp_path):
    with pytest.raises(CaseDataError, match="does not exist"):
        read_case_csv(tmp_path / "none.csv")
    path = tmp_path / "dup.csv"
    path.write_text("id,x\nA,1\nA,2\n")
    with pytest.raises(CaseDataError, match="'A' appears twice"):
        read_case_csv(path)
    path.write_text("name,x\nA,1\n")
    with pytest.raises(CaseDataError, match="no id column 'id'"):
        read_case_csv(path)


@pytest.mark.parametrize(
    "header",
    [
        "id,support,x,support",  # the same name twice: pandas read the second as support.1
        "id,support,x,support ",  # the same name once stripped: two columns 'support'
        "id ,support,x,id",
    ],
)
def test_a_column_named_twice_in_the_header_is_refused(tmp_path, header):
    """Which of two columns of one name holds the codes cannot be known: reading the first
    (as pandas does, renaming the second) would fit or predict from the other one's
    values without a word, so the table is refused naming the column and both places."""
    path = tmp_path / "cases.csv"
    path.write_text(f"{header}\nA,high,1,low\n")
    name = header.split(",")[-1].strip()
    with pytest.raises(CaseDataError, match=rf"cases.csv.*column '{name}' appears twice"):
        read_case_csv(path)


def test_blank_header_cells_stay_apart(tmp_path):
    """Spreadsheet exports end rows with empty columns: several blank header cells are
    not the same column named twice, and the named ones are read as before."""
    path = tmp_path / "cases.csv"
    path.write_text("id, support ,,\nA,high,,\n")
    frame = read_case_csv(path)
    assert list(frame.columns[:2]) == ["id", "support"]
    assert frame["support"].tolist() == ["high"]
    assert len(set(frame.columns)) == 4


def test_missing_mapped_column_is_named(tmp_path, toy_model):
    path = tmp_path / "cases.csv"
    path.write_text("id,period_start,period_end,support\nA,1990,2000,high\n")
    with pytest.raises(CaseDataError, match="no column 'trigger'"):
        apply_mapping(read_case_csv(path), read_mapping(DATA / "toy_levers.toml"), model=toy_model)


def test_binary_columns_use_keys_0_and_1(tmp_path, toy_model):
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        '[[map]]\ncolumn = "flag"\n'
        'values."0" = { "Support" = 0.2 }\nvalues."1" = { "Support" = 0.8 }\n'
    )
    cases = tmp_path / "c.csv"
    cases.write_text("id,period_start,period_end,flag\nA,1990,2000,1\nB,1990,2000,0\n")
    table = apply_mapping(read_case_csv(cases), read_mapping(mapping), model=toy_model)
    assert table.values[:, 0].tolist() == [0.8, 0.2]


def test_the_case_library_maps_onto_the_gvc_model():
    """The project's own case table and mapping: every case mapped or excluded by reason."""
    model = gvcdyn.load(REPO / "models" / "gvc_upgrading.mdl")
    mapping = read_mapping(REPO / "calibration" / "case_levers.toml")
    frame = read_case_csv(REPO / "calibration" / "gvc_cases.csv")
    cases = apply_mapping(frame, mapping, model=model)
    assert len(cases) + len(cases.excluded) == len(frame)
    assert np.all(cases.horizon > 0)
    assert all(x.message for x in cases.excluded)
