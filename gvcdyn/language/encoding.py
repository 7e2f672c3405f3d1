"""The encoding PySD reads a ``.mdl`` file with, and the bytes it would drop.

PySD opens the model file with ``errors="ignore"``: a byte that is not text in the
file's encoding vanishes without a word. In a name that changes the name (``Café`` saved
in Latin-1 under ``{UTF-8}`` becomes ``Caf``, and two names can become one); in a number
it changes the number. gvcdyn refuses such a file instead, at the line of the first such
byte in an equation or a range, and says how to mend it; in units, comments or the sketch
(where an older editor's degree sign or accent changes nothing the kernel reads) the byte
is dropped as before, with a warning. A UTF-8 byte-order mark (some Windows editors write one)
is read as the mark it is, not as a character before the first name.
"""

from __future__ import annotations

import codecs
import re
import warnings
from pathlib import Path

from gvcdyn.errors import ModelParseError

_ENCODING_MARK = re.compile(r"(?<={)(.*)(?=})")  # PySD's, vensim_utils
#: what PySD reads a file with when its first line names no encoding
DEFAULT_ENCODING = "UTF-8"


def declared_encoding(data: bytes) -> str | None:
    """The encoding a model file names on its first line (``{UTF-8}``), as PySD reads it,
    or None to let PySD find it.

    PySD (``vensim_utils._detect_encoding_from_file``) decodes the first line with the
    encoding chardet guesses for it and takes the text between its first ``{`` and last
    ``}``. For a first line of ASCII bytes any guess decodes it alike, so the answer is
    read here without chardet, whose first guess in a process costs about 0.05 s of CPU
    (chardet 7; issue 21). Anything else (other bytes, a byte-order mark, no ``{...}``)
    is left to PySD, with its own guess and warning.
    """
    first = data.split(b"\n", 1)[0] + b"\n"  # binary readline: up to and with b"\n"
    if not first.isascii():
        return None
    found = _ENCODING_MARK.search(first.decode("ascii"))
    return found.group() if found else None


def model_encoding(data: bytes, path: Path) -> str:
    """The encoding PySD reads the model file ``path`` (holding ``data``) with: the one its
    first line names, else PySD's own guess (UTF-8 for a first line of ASCII without a
    ``{...}`` mark, as PySD ends with); ``utf-8-sig`` for UTF-8 after a byte-order mark.
    """
    encoding = declared_encoding(data)
    if encoding is None:
        if data.split(b"\n", 1)[0].isascii():
            encoding = DEFAULT_ENCODING  # PySD: no mark found, UTF-8 with a warning
        else:
            from pysd.translators.vensim import vensim_utils

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                encoding = vensim_utils._detect_encoding_from_file(path)
    if data.startswith(codecs.BOM_UTF8) and _codec_name(encoding) == "utf-8":
        return "utf-8-sig"
    return encoding


def refuse_dropped_bytes(data: bytes, encoding: str, path: Path) -> None:
    """Refuse a model file with a byte that is not text in ``encoding`` inside an
    equation: PySD would drop it silently, changing the name or number it is in. The
    same byte in a units or comment field, or in the sketch, changes no equation: it is
    dropped as before, with a warning naming its place, so a model whose documentation
    an older editor saved in another encoding still runs. An encoding Python does not
    know is left to PySD, which names it."""
    if _codec_name(encoding) is None:
        return
    text = data.decode(encoding, errors="surrogateescape")  # a dropped byte: U+DC80-DCFF
    dropped = [m.start() for m in _DROPPED.finditer(text)]
    if not dropped:
        return
    named = "UTF-8" if encoding == "utf-8-sig" else encoding
    declared = declared_encoding(data)
    why = (
        f"the encoding its first line declares, {{{declared}}}"
        if declared is not None
        else f"read as {named}: its first line declares no encoding"
    )
    mend = (
        f"save the file as {named}, or declare its encoding on the first line "
        "(e.g. {windows-1252} for Latin-1 text saved on Windows)"
    )
    sketch = text.find(SKETCH_MARK)  # once: what follows it is no equation
    for at in dropped if sketch < 0 else (at for at in dropped if at < sketch):
        if _in_equation(text, at):
            raise ModelParseError(
                f"{path}: {_place(text, at)}: byte 0x{ord(text[at]) - 0xDC00:02x} is not "
                f"{named} text ({why}); it would be dropped, changing the name or number "
                f"it is in: {mend}"
            )
    warnings.warn(
        f"{path}: {len(dropped)} byte(s) not {named} text ({why}) dropped from units, "
        f"comments or the sketch, first at {_place(text, dropped[0])}; no equation "
        f"changes: {mend}",
        stacklevel=3,
    )


_DROPPED = re.compile("[\udc80-\udcff]")
#: Vensim's line before the sketch: \\\---/// Sketch information
SKETCH_MARK = "\\\\\\---///"


def _in_equation(text: str, at: int) -> bool:
    """Whether position ``at`` of the model text (before the sketch) is where a dropped
    byte would change the model: in an entry's equation (before its first ``~``; an
    entry is ``name = expression ~ units [min, max] ~ comment |``, and a group's name
    is its equation part too) or in the range of its units field."""
    fields = text[text.rfind("|", 0, at) + 1 : at].split("~")
    if len(fields) == 1:
        return True
    units = fields[1] if len(fields) == 2 else ""
    return units.rfind("[") > units.rfind("]")  # inside an open [min, max]


def _place(text: str, at: int) -> str:
    """``line L, column C`` of position ``at`` (1-based, as an editor counts)."""
    start = text.rfind("\n", 0, at) + 1
    line = text.count("\n", 0, at) + 1
    return f"line {line}, column {at - start + 1}"


def _codec_name(encoding: str) -> str | None:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return None
