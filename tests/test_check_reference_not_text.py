"""``gvcdyn check --reference`` given a binary file: Vensim's .vdf, gvcdyn's own .nc.

The file was decoded as text and its first bytes read as a column name: "cannot read
reference output 'run.nc': line 2, column '\\u2030HDF': '\\x1a' is not a number". It is
refused now as not a text export, saying how to get one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from console import assert_one_line_error, gvcdyn
from mdl_helpers import write_mdl

MODEL = """
Stock = INTEG(0.1 * Stock, 1)
	~	units
	~		|
"""


@pytest.mark.parametrize(
    "content",
    [b"\x89HDF\r\n\x1a\n\x00\x00\x00\x00" * 20, "Time,0,1\nStock,1,1.1\n".encode("utf-16")],
    ids=["netcdf", "utf16"],
)
def test_a_binary_reference_is_refused_as_not_text(tmp_path: Path, content: bytes) -> None:
    mdl = write_mdl(tmp_path, MODEL)
    reference = tmp_path / "run.nc"
    reference.write_bytes(content)
    result = gvcdyn("check", mdl, "--reference", reference, cwd=tmp_path)
    assert_one_line_error(
        result, "run.nc", "not a text export", "export the run as .tab or .csv", stdout_empty=True
    )
