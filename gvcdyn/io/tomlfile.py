"""Reading the project's TOML input files with errors that name the file and the key.

Scenarios, calibration configs, case mappings and sensitivity ranges are all TOML tables
checked key by key. Each reader raises its own error class (so callers can tell a bad
scenario from a bad config), but the reading and the "unknown key" check are the same,
and a file that is missing, not UTF-8, not TOML or nested too deeply for the parser
must be refused the same way by all.
"""

from __future__ import annotations

import reprlib
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gvcdyn.errors import GvcdynError

__all__ = ["check_keys", "not_found", "read_toml", "shown"]


def not_found(what: str, path: str | Path) -> str:
    """``{what} not found: {path}``, or, for a folder given where a file is expected,
    ``{what} {path} is a folder, not a file`` (it exists: "not found" misleads)."""
    if Path(path).is_dir():
        return f"{what} {path} is a folder, not a file"
    return f"{what} not found: {path}"


def read_toml(
    path: str | Path,
    *,
    what: str,
    invalid: type[GvcdynError],
    missing: type[GvcdynError] | None = None,
) -> tuple[dict[str, Any], str]:
    """Parse ``path`` and return ``(document, text)``; the text lets callers point at lines.

    ``what`` names the kind of file in messages ("scenario file", "calibration config");
    ``missing`` is raised for an absent file (``invalid`` when not given), ``invalid`` for
    a file that cannot be read, is not UTF-8 or is not TOML.
    """
    path = Path(path)
    if not path.is_file():
        raise (missing or invalid)(not_found(what, path))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        where = f"{exc.reason} at byte {exc.start}"
        raise invalid(f"{what} {path} is not UTF-8 text ({where})") from None
    except OSError as exc:
        raise invalid(f"{what} {path} cannot be read: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise invalid(f"{what} {path} is not valid TOML: {exc}") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise invalid(
            f"{what} {path} nests arrays or inline tables too deeply to be read "
            f"(Python's recursion limit, {sys.getrecursionlimit()}); no gvcdyn file "
            "nests more than a few levels"
        ) from None


_SHORT = reprlib.Repr()  # (keyword arguments only from Python 3.12)
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict = 3, 4, 4
_SHORT.maxstring = _SHORT.maxother = 40


def shown(value: Any) -> str:
    """A value read from a file as an error message quotes it: short, whatever its size
    (a nested array or a long list is abbreviated with ``...``)."""
    return _SHORT.repr(value)


def check_keys(
    table: dict[str, Any],
    known: Iterable[str],
    where: str,
    error: type[GvcdynError],
    *,
    hint: str | None = None,
) -> None:
    """Refuse the first key of ``table`` not in ``known``, listing the known ones (or
    saying ``hint`` instead: what such a table holds, for a file with few keys)."""
    known = set(known)
    extra = sorted(set(table) - known, key=str)
    if extra:
        raise error(f"{where}: unknown key '{extra[0]}' ({hint or f'known: {sorted(known)}'})")
