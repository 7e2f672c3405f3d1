"""The encoding PySD reads a ``.mdl`` file with, and the bytes it would drop.

PySD opens the model file with ``errors="ignore"``: a byte that is not text in the
file's encoding vanishes without a word. In a name that changes the name (``Café`` saved
in Latin-1 under ``{UTF-8}`` becomes ``Caf``, and two names can become one); in a number
it changes the number. gvcdyn refuses such a file instead, at the line of the first such
byte, and says how to mend it. A UTF-8 byte-order mark (some Windows editors write one)
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
    """Refuse a model file with bytes that are not text in ``encoding``: PySD would drop
    them silently. An encoding Python does not know is left to PySD, which names it."""
    if _codec_name(encoding) is None:
        return
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[start : exc.start].decode(encoding, errors="replace")) + 1
        named = "UTF-8" if encoding == "utf-8-sig" else encoding
        first = data.split(b"\n", 1)[0].decode("ascii", errors="ignore")
        mark = _ENCODING_MARK.search(first)
        why = (
            f"the encoding its first line declares, {{{mark.group()}}}"
            if mark
            else f"read as {named}: its first line declares no encoding"
        )
        raise ModelParseError(
            f"{path}: line {line}, column {column}: byte 0x{data[exc.start]:02x} is not "
            f"{named} text ({why}); it would be dropped, changing the name or number it "
            f"is in: save the file as {named}, or declare its encoding on the first line "
            "(e.g. {windows-1252} for Latin-1 text saved on Windows)"
        ) from None


def _codec_name(encoding: str) -> str | None:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return None
