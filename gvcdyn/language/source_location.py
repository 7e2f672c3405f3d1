"""Where in the ``.mdl`` file a problem is: file line and column, and names as written.

PySD parses a copy of the file with every run of blanks (newlines included) collapsed to
one space, and each equation on its own: its parse errors count lines and columns from
the start of the equation's right-hand side, and its references are lower case with
``_`` for blanks (``average_tenur``). A modeller needs the line in the file and the name
as typed. ``CleanText`` repeats PySD's whitespace cleaning while remembering where each
character came from, so a position in PySD's text maps back to the file.

Used on the error path only: nothing here runs for a model that loads.
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gvcdyn.errors import UndefinedNameError
from gvcdyn.language.encoding import SKETCH_MARK, model_encoding
from gvcdyn.language.subscripts import name_key

__all__ = [
    "CleanText",
    "Location",
    "closest_names",
    "locate_reference",
    "read_model_text",
    "undefined_name_error",
]

# PySD's VensimFile._clean: a line continuation ("\" newline tab) is a blank, then every
# run of whitespace is one space.
_CONTINUATION = re.compile(r"\\\n\t")
_BLANKS = re.compile(r"[\n\t\s]+")
_PREAMBLE = re.compile(r"\s*(?:(?:\{[^}]*\}|:MACRO:[^)]*\)|:END OF MACRO:)\s*)*")


@dataclass(frozen=True)
class Location:
    """A 1-based line and column in the model file."""

    line: int
    column: int

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}"


def read_model_text(path: str | Path) -> str:
    """The model file's text as PySD reads it (its encoding, universal newlines)."""
    path = Path(path)
    encoding = model_encoding(path.read_bytes(), path)
    try:
        return path.read_text(encoding=encoding, errors="ignore")
    except LookupError:  # an encoding name Python does not know
        return path.read_text(encoding="UTF-8", errors="ignore")


def _substitute(pattern: re.Pattern[str], text: str, origin: list[int]) -> tuple[str, list[int]]:
    """``pattern.sub(" ", text)`` and, for each output character, its origin."""
    parts: list[str] = []
    new_origin: list[int] = []
    last = 0
    for match in pattern.finditer(text):
        parts.append(text[last : match.start()])
        new_origin.extend(origin[last : match.start()])
        parts.append(" ")
        new_origin.append(origin[match.start()])
        last = match.end()
    parts.append(text[last:])
    new_origin.extend(origin[last:])
    return "".join(parts), new_origin


class CleanText:
    """The model's equations as PySD parses them, each character mapped back to the file."""

    def __init__(self, raw: str) -> None:
        self.raw = raw
        model = raw.split(SKETCH_MARK, 1)[0]
        text, origin = _substitute(_CONTINUATION, model, list(range(len(model))))
        self.text, self._origin = _substitute(_BLANKS, text, origin)
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", raw)]

    @classmethod
    def of_file(cls, path: str | Path) -> CleanText:
        return cls(read_model_text(path))

    def file_location(self, position: int) -> Location:
        """Line and column in the file of the clean text's character at ``position``."""
        position = min(max(position, 0), len(self._origin) - 1) if self._origin else 0
        offset = self._origin[position] if self._origin else 0
        # a collapsed blank points at the first blank it replaced; show the next character
        while (
            offset < len(self.raw)
            and self.raw[offset] in " \t\r\n"
            and position < len(self._origin) - 1
        ):
            position += 1
            offset = self._origin[position]
        line = bisect.bisect_right(self._line_starts, offset)
        return Location(line, offset - self._line_starts[line - 1] + 1)

    def find_equation(self, equation: str) -> int | None:
        """Position in the clean text where ``equation`` (an element's text) starts.

        An equation is followed by its units' ``~``; an equal text elsewhere (in a
        comment) is passed over when an entry matches.
        """
        equation = equation.strip()
        if not equation:
            return None
        first = None
        for match in re.finditer(re.escape(equation), self.text):
            first = match.start() if first is None else first
            if re.match(r"\s*~", self.text[match.end() :]):
                return match.start()
        return first

    def equations(self) -> Iterable[tuple[int, str]]:
        """``(start, text)`` of each entry's equation (the text before its first ``~``)."""
        start = 0
        for match in re.finditer(r"\|", self.text):
            entry = self.text[start : match.start()]
            equation = entry.split("~", 1)[0]
            # the encoding before the first entry, a macro's head or end before an entry
            lead = _PREAMBLE.match(equation).end()
            yield start + lead, equation[lead:].strip()
            start = match.end()


def _lhs_name(equation: str) -> str:
    """The variable an equation defines: its text before ``=``, ``(``, ``[`` or ``:``."""
    if equation.startswith('"'):
        end = equation.find('"', 1)
        return equation[: end + 1] if end > 0 else equation
    return re.split(r"[=(\[:]", equation, maxsplit=1)[0].strip()


def _reference_pattern(reference: str) -> re.Pattern[str]:
    """A name as PySD keeps it (``average_tenur``) as it may be written (``Average Tenur``)."""
    body = "".join("[ _]" if c == "_" else re.escape(c) for c in reference)
    return re.compile(rf"(?<![\w\"]){body}(?![\w\"])", re.IGNORECASE)


def locate_reference(
    clean: CleanText, variable: str, reference: str
) -> tuple[str, Location] | None:
    """Where the equation of ``variable`` (a Vensim name) uses ``reference`` (PySD's form).

    Returns the name as written there and its file location, or ``None`` when no
    equation of ``variable`` holds it (a name from a macro's expansion, say).
    """
    key = name_key(variable)
    pattern = _reference_pattern(reference)
    for start, equation in clean.equations():
        if name_key(_lhs_name(equation).strip('"')) != key:
            continue
        lhs = len(_lhs_name(equation))
        found = pattern.search(equation, lhs)
        if found:
            return found.group(0), clean.file_location(start + found.start())
    return None


def closest_names(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` of ``candidates`` (Vensim names) closest to ``name``, best first."""
    by_key: dict[str, str] = {}
    for candidate in candidates:
        by_key.setdefault(name_key(candidate), candidate)
    keys = difflib.get_close_matches(name_key(name), list(by_key), n=n, cutoff=0.6)
    return [by_key[k] for k in keys]


def undefined_name_error(
    path: str | Path | None, variable: str, reference: str, defined: Iterable[str]
) -> UndefinedNameError:
    """The error for ``variable``'s equation using ``reference`` (PySD's form), undefined.

    Names the reference as written and where (when the model file can be read), and the
    closest of the ``defined`` names.
    """
    spelled, where = reference, ""
    if path is not None:
        try:
            found = locate_reference(CleanText.of_file(path), variable, reference)
        except Exception:  # the location is a help, never a second failure
            found = None
        if found is not None:
            spelled, location = found
            where = f"{path}: {location}: "
    suggestions = tuple(closest_names(spelled, defined))
    message = f"{where}'{variable}' refers to '{spelled}', which the model does not define"
    if suggestions:
        quoted = [f"'{s}'" for s in suggestions]
        options = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
        message += f"; did you mean {options}?"
    return UndefinedNameError(message, variable, spelled, suggestions)
