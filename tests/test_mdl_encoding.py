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
