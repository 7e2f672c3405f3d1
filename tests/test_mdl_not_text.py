"""A .mdl file that is not text (binary bytes, or text saved as UTF-16) is refused naming
the file and what to give, instead of the translator's internal failure ("bin.mdl:
TypeError: decode() argument 'encoding' must be str, not None (PySD's Vensim translator
could not read it)", seen on a .mdl of random bytes).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from console import assert_one_line_error, gvcdyn

MODEL = Path(__file__).parent / "data" / "calibration" / "toy_upgrading.mdl"


# Fixed bytes and explicit ids: pytest-xdist refuses to run when its workers collect
# different test ids, and pytest before 9.2 spells a bytes parameter into its id, so a
# random byte here failed the whole CI run at collection.
@pytest.mark.parametrize(
    "content",
    [
        b"\x8f\x00" + bytes(range(256)) * 40,  # binary
        MODEL.read_text().encode("utf-16"),  # the model's own text, in UTF-16
    ],
    ids=["binary", "utf16"],
)
def test_a_mdl_that_is_not_text_is_refused_in_one_line(tmp_path, content) -> None:
    path = tmp_path / "model.mdl"
    path.write_bytes(content)
    done = gvcdyn("params", path, cwd=tmp_path)
    assert_one_line_error(done, str(path), "not a text file", "UTF-8", stdout_empty=True)
