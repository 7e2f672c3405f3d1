"""A mistake in a ``.mdl`` file is reported where it is in the file, by the names as written.

PySD parses each equation alone, on a copy of the file with its blanks collapsed, and
names references in Python form: left alone, a syntax error says "line 1, column 2" of an
equation it does not name, and a typo says ``average_tenur``. Through the console script,
the error names the file's line and column, the Vensim name of the variable whose
equation fails and, for an undefined name, the name as typed and the closest names.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mdl_helpers import write_mdl
from test_cli_usability import assert_one_line_error, gvcdyn

import gvcdyn as gd
from gvcdyn.errors import ModelParseError, UndefinedNameError
from gvcdyn.language.source_location import CleanText, Location, closest_names, locate_reference

# write_mdl puts "{UTF-8}" on line 1, so the equations start on line 2
WORKFORCE = """
Average Tenure = 3
	~	Month
	~		|

workforce = INTEG(hires - quits, 100)
	~	people
	~		|

hires = 5
	~	people/Month
	~		|

quits = workforce / {divisor}
	~	people/Month
	~		|
"""


def _line_of(path: Path, text: str) -> int:
    """1-based line of the file on which ``text`` first appears."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def test_a_typo_is_named_as_written_where_it_is_with_the_closest_names(tmp_path: Path) -> None:
    path = write_mdl(tmp_path, WORKFORCE.format(divisor="Average Tenur"), name="typo")
    line = _line_of(path, "quits = workforce")
    column = path.read_text().splitlines()[line - 1].index("Average Tenur") + 1
    result = gvcdyn("params", path.name, cwd=tmp_path)
    assert_one_line_error(
        result,
        f"typo.mdl: line {line}, column {column}:",
        "'quits' refers to 'Average Tenur'",
        "did you mean 'Average Tenure'?",
    )
    assert "average_tenur" not in result.stderr


def test_the_undefined_name_error_carries_the_names(tmp_path: Path) -> None:
    """The library's error is a ModelStructureError with the names as attributes."""
    path = write_mdl(tmp_path, WORKFORCE.format(divisor="workforse"), name="typo")
    with pytest.raises(UndefinedNameError) as info:
        gd.load(path)
    assert info.value.variable == "quits"
    assert info.value.name == "workforse"
    assert info.value.suggestions[0] == "workforce"


def test_a_name_nothing_resembles_gets_no_suggestion(tmp_path: Path) -> None:
    path = write_mdl(tmp_path, WORKFORCE.format(divisor="zzz qqq"), name="typo")
    line = assert_one_line_error(
        gvcdyn("run", path.name, cwd=tmp_path), "'quits' refers to 'zzz qqq'"
    )
    assert "did you mean" not in line


def test_a_syntax_error_names_the_file_line_column_and_variable(tmp_path: Path) -> None:
    """An operator with nothing after it, on the second line of a three-line equation."""
    equations = WORKFORCE.format(divisor="Average Tenure").replace(
        "hires = 5", "hires = 5 +\n\t2 *\n\t\t"
    )
    path = write_mdl(tmp_path, equations, name="syntax")
    line = _line_of(path, "\t2 *")
    result = gvcdyn("params", path.name, cwd=tmp_path)
    # the error is at the '*' on the equation's second line (tab, '2', ' ', '*': column 4)
    message = assert_one_line_error(
        result, f"syntax.mdl: line {line}, column 4:", "in the equation of 'hires'", "'*'"
    )
    assert "line 1, column" not in message


def test_a_syntax_error_in_a_subscripted_equation_names_its_vensim_name(tmp_path: Path) -> None:
    path = write_mdl(
        tmp_path,
        """
Region: north, south
	~	~	|

Output Gap[Region] = MAX(1,, 2)
	~	Dmnl
	~		|
""",
        name="subs",
    )
    line = _line_of(path, "Output Gap[Region]")
    column = path.read_text().splitlines()[line - 1].index("(") + 1
    with pytest.raises(ModelParseError) as info:
        gd.load(path)
    message = str(info.value)
    assert f"line {line}, column {column}:" in message, message
    assert "'Output Gap'" in message


def test_line_continuations_are_counted(tmp_path: Path) -> None:
    """Vensim's backslash line continuation: the position after it is on the next line."""
    path = write_mdl(tmp_path, "a = 3\n~ ~ |\n\nb = a +\\\n\t\ta ? 2\n~ ~ |\n", name="cont")
    line = _line_of(path, "a ? 2")
    with pytest.raises(ModelParseError) as info:
        gd.load(path)
    assert f"line {line}, column 5:" in str(info.value), str(info.value)


def test_clean_text_maps_back_to_the_file() -> None:
    """Units: PySD's cleaned text, a position in it, and the file's line and column."""
    clean = CleanText("{UTF-8}\nx  =\n\t\ty\t+ 1\n~ ~ |\n")
    assert clean.text == "{UTF-8} x = y + 1 ~ ~ | "
    assert clean.file_location(clean.text.index("y")) == Location(3, 3)
    assert clean.file_location(clean.text.index("+")) == Location(3, 5)
    found = locate_reference(clean, "X", "y")
    assert found == ("y", Location(3, 3))
    assert closest_names("growth rat", ["Growth Rate", "growth", "capacity"]) == [
        "Growth Rate",
        "growth",
    ]


def test_an_equation_that_ends_too_early_is_placed_at_its_last_character(tmp_path: Path) -> None:
    path = write_mdl(tmp_path, "capacity = 3\n~ ~ |\n\ngrowth = (capacity\n~ ~ |\n", name="open")
    line = _line_of(path, "growth = (capacity")
    with pytest.raises(ModelParseError) as info:
        gd.load(path)
    message = str(info.value)
    assert f"open.mdl: line {line}, column {len('growth = (capacity')}:" in message, message
    assert "in the equation of 'growth': " in message and "ends too early" in message
