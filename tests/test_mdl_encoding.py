"""A .mdl file whose bytes are not text in its encoding, and one that starts with a BOM.

PySD reads the model with ``errors="ignore"``: a byte that is not text in the file's
encoding vanished without a word. ``xé`` saved in Latin-1 under ``{UTF-8}`` became ``x``,
so a model defining ``xé`` and using an undefined ``x`` ran (on ``xé``'s value), and a
lever ``rate café`` became ``rate caf``. Such a file is refused now, at the line of the
byte, saying how to mend it; a file that declares its encoding reads as before. A UTF-8
byte-order mark (some Windows editors write one) failed as a syntax error at line 1
("in the equation of '\\ufeff{UTF-8} Stock'"); it is read as the mark it is.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from console import assert_one_line_error, gvcdyn

BODY = """\
Stock = INTEG(inflow, 1)
	~	units
	~		|
inflow = x * Stock
	~	units/Month
	~		|
x\xe9 = 0.1
	~	1/Month [0, 1]
	~		|
FINAL TIME = 10
	~	Month
	~		|
INITIAL TIME = 0
	~	Month
	~		|
SAVEPER = 1
	~	Month
	~		|
TIME STEP = 1
	~	Month
	~		|
"""


def _model(tmp_path: Path, first_line: str, body: str = BODY) -> Path:
    path = tmp_path / "model.mdl"
    path.write_bytes((first_line + body).encode("latin-1"))
    return path


def test_bytes_pysd_would_drop_are_refused_at_their_line(tmp_path: Path) -> None:
    for first_line in ("{UTF-8}\n", ""):
        path = _model(tmp_path, first_line)
        line = 8 if first_line else 7
        result = gvcdyn("run", path, cwd=tmp_path)
        assert_one_line_error(
            result, str(path), f"line {line}, column 2: byte 0xe9 is not UTF-8 text",
            "{windows-1252}", stdout_empty=True,
        )  # fmt: skip


def test_a_declared_encoding_reads_as_before(tmp_path: Path) -> None:
    body = BODY.replace("= x * Stock", "= x\xe9 * Stock")
    path = _model(tmp_path, "{windows-1252}\n", body)
    result = gvcdyn("run", path, "--set", "x\xe9=0.2", "--vars", "Stock", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "x\xe9=0.2" in result.stdout


def test_a_utf8_byte_order_mark_is_read_as_one(tmp_path: Path) -> None:
    body = BODY.replace("= x * Stock", "= x\xe9 * Stock")
    path = tmp_path / "model.mdl"
    path.write_bytes(codecs.BOM_UTF8 + ("{UTF-8}\n" + body).encode("utf-8"))
    result = gvcdyn("params", path, "--format", "csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("x\xe9,0.1,")


def _with_byte_in(tmp_path: Path, old: str, new: str) -> Path:
    """BODY with ``xé`` renamed ``x`` (so no equation holds the byte) and ``old`` replaced
    by ``new`` (which carries an é), saved in Latin-1 under ``{UTF-8}``."""
    body = BODY.replace("x\xe9 = 0.1", "x = 0.1").replace(old, new)
    return _model(tmp_path, "{UTF-8}\n", body)


def test_a_byte_in_a_comment_or_units_is_dropped_with_a_warning(tmp_path: Path) -> None:
    """An older editor's degree sign or accent in documentation changes no equation: the
    model runs as PySD reads it, and the warning names the place."""
    for old, new, line in (
        ("1/Month [0, 1]\n\t~\t\t|", "1/Month [0, 1]\n\t~\tcaf\xe9 rate\t|", 10),
        ("units/Month", "\xb0C/Month", 6),
    ):
        path = _with_byte_in(tmp_path, old, new)
        result = gvcdyn("run", path, "--vars", "Stock", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "dropped from units, comments or the sketch" in result.stderr
        assert f"line {line}, column" in result.stderr


def test_a_byte_in_a_range_is_refused(tmp_path: Path) -> None:
    """A range's number with a dropped byte in it would be another number."""
    path = _with_byte_in(tmp_path, "1/Month [0, 1]", "1/Month [0, 1\xe90]")
    result = gvcdyn("run", path, cwd=tmp_path)
    assert_one_line_error(
        result, str(path), "line 9, column", "byte 0xe9 is not UTF-8 text", stdout_empty=True
    )


def test_a_file_without_equations_says_so(tmp_path: Path) -> None:
    """An empty file, or one of its encoding line alone, read as "line 1, column 1: Vensim
    syntax error: the equation ends too early (PySD's Vensim translator ...)"."""
    path = tmp_path / "model.mdl"
    for content in (b"", b"{UTF-8}\n", codecs.BOM_UTF8 + b"{UTF-8}\r\n\n  \n"):
        path.write_bytes(content)
        result = gvcdyn("params", path, cwd=tmp_path)
        assert_one_line_error(
            result, str(path), "the model defines no variables (the file holds no equations)"
        )
    path.write_bytes(b"{FOO}\n")  # an encoding Python does not know: named, as before
    assert_one_line_error(gvcdyn("params", path, cwd=tmp_path), "unknown encoding: FOO")
