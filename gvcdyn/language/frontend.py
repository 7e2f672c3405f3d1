"""Read a Vensim ``.mdl`` file into PySD's abstract model.

PySD's translator is the parser: we never write our own ``.mdl`` grammar. Only
``pysd.translators`` is used (it writes nothing to disk); PySD's Python builder and
runtime are the specification of the semantics, never called. One reading PySD gets wrong
is mended while it parses: a minus written before a number that is the base of ``^``
(``-2^2`` is -4; ``gvcdyn.language.vensim_precedence``).

A model PySD cannot read is reported at the file's line and column, naming the variable
whose equation fails (PySD counts from the start of the equation and names nothing).
"""

from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path
from typing import Any

from gvcdyn.errors import GvcdynError, ModelFileNotFoundError, ModelParseError
from gvcdyn.language.encoding import declared_encoding as declared_encoding  # its old home
from gvcdyn.language.encoding import model_encoding, refuse_dropped_bytes
from gvcdyn.language.source_location import CleanText
from gvcdyn.language.vensim_precedence import vensim_visitor
from gvcdyn.limits import check_model_text, fewer_collections


def read_abstract_model(path: str | Path) -> tuple[Any, str]:
    """Parse ``path`` and return ``(AbstractModel, sha256 of the file bytes)``.

    Raises ``ModelFileNotFoundError`` for a missing file and ``ModelParseError`` (naming
    the file and PySD's diagnosis) for anything the translator cannot read.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileNotFoundError(
            f"model file not found: {path} (give the path to a Vensim .mdl file)"
        )
    if path.suffix.lower() != ".mdl":
        raise ModelParseError(
            f"{path}: not a Vensim model (expected a .mdl file, got '{path.suffix}')"
        )
    data = path.read_bytes()
    if b"\x00" in data:  # PySD would fail on it with "decode() argument 'encoding' ..."
        raise ModelParseError(
            f"{path}: not a text file (it holds NUL bytes: a binary file, or one saved in "
            "UTF-16); give the model as Vensim's .mdl text, in UTF-8 or ASCII"
        )
    digest = hashlib.sha256(data).hexdigest()
    check_model_text(data.decode("utf-8", errors="replace"), path)  # before PySD parses
    encoding = model_encoding(data, path)
    refuse_dropped_bytes(data, encoding, path)  # PySD would drop them without a word
    if _holds_no_equations(data, encoding):
        raise ModelParseError(
            f"{path}: the model defines no variables (the file holds no equations)"
        )
    from pysd.translators.vensim.vensim_file import VensimFile

    with warnings.catch_warnings(), vensim_visitor(), fewer_collections():
        warnings.simplefilter("ignore")
        try:
            vensim_file = VensimFile(path, encoding=encoding)
            vensim_file.parse()
            abstract = vensim_file.get_abstract_model()
        except GvcdynError:
            raise
        except Exception as exc:  # PySD raises bare ValueError/parsimonious errors
            raise ModelParseError(_parse_error_message(path, exc)) from exc
    if not abstract.sections or not abstract.sections[0].elements:
        raise ModelParseError(f"{path}: the model defines no variables")
    return abstract, digest


_MARK_OR_BLANKS = re.compile(r"\A\s*(?:\{[^}\n]*\})?|\s+")  # the {UTF-8} line, blanks


def _holds_no_equations(data: bytes, encoding: str) -> bool:
    """Whether the file is empty but for its encoding line and blanks: PySD reads that as
    "line 1, column 1: Vensim syntax error: the equation ends too early"."""
    try:
        text = data.decode(encoding, errors="ignore")
    except LookupError:  # an encoding Python does not know: PySD names it
        return False
    return not _MARK_OR_BLANKS.sub("", text)


def _parse_error_message(path: Path, exc: Exception) -> str:
    """One line for a translator failure: where in the file, which variable, what.

    PySD parses each equation alone, from a copy of the file with blanks collapsed, so
    its own position is within the equation. The traceback's frames hold the PySD object
    being parsed (an element's text, then a component's name and right-hand side); its
    text is found in the file to turn the position into the file's line and column.
    """
    from parsimonious.exceptions import IncompleteParseError, ParseError, VisitationError

    equation, name, expression = _failing_element(exc)
    what = _detail(exc)
    if isinstance(exc, ParseError) and isinstance(exc.text, str):
        snippet = exc.text[exc.pos :].strip()[:30]
        if isinstance(exc, IncompleteParseError) or snippet:
            what = f"Vensim syntax error at '{snippet}'"
        else:
            what = "Vensim syntax error: the equation ends too early"
    elif isinstance(exc, VisitationError):
        what = " ".join(str(exc).split("Parse tree:")[0].split())
    if name is None and equation is not None:
        name = _lhs(equation)
    where = ""
    try:
        clean = CleanText.of_file(path)
        position = _position(clean, exc, equation, expression)
        if position is not None:
            where = f": {clean.file_location(position)}"
    except Exception:  # the location is a help, never a second failure
        pass
    subject = f"in the equation of '{name}': " if name else ""
    return f"{path}{where}: {subject}{what} (PySD's Vensim translator could not read it)"


def _failing_element(exc: BaseException) -> tuple[str | None, str | None, str | None]:
    """``(element text, variable name, right-hand side)`` PySD was parsing when it failed."""
    from pysd.translators.vensim.vensim_element import Element, GenericComponent

    equation = name = expression = None
    tb = exc.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        if isinstance(owner, Element):
            equation = owner.equation
        elif isinstance(owner, GenericComponent):
            name, expression = owner.name, owner.expression
        tb = tb.tb_next
    return equation, name, expression


def _position(
    clean: CleanText, exc: Exception, equation: str | None, expression: str | None
) -> int | None:
    """Position in PySD's clean text of the failure (or of the failing equation)."""
    from parsimonious.exceptions import ParseError

    start = clean.find_equation(equation) if equation else None
    if isinstance(exc, ParseError) and isinstance(exc.text, str):
        parsed = exc.text
        # past the end (an equation that ends too early): its last character
        pos = min(exc.pos, len(parsed.rstrip()) - 1) if parsed.strip() else 0
        if start is not None and equation is not None:
            base = equation.rfind(parsed)
            if base >= 0:
                return start + base + pos
        base = clean.text.find(parsed)
        if base >= 0:
            return base + pos
    if start is not None and equation is not None and expression:
        base = equation.rfind(expression)
        return start + max(base, 0)
    return start


def _lhs(equation: str) -> str:
    return equation.split("=", 1)[0].split("(", 1)[0].split("[", 1)[0].split(":", 1)[0].strip()


def _detail(exc: BaseException) -> str:
    detail = " ".join(str(exc).split())
    if len(detail) > 300:
        detail = detail[:300] + "..."
    return f"{type(exc).__name__}: {detail}"


# Vensim's settings section (after the sketch, from the line ``:L<%^E!@``; Vensim may
# put a DEL character after ``:L``) stores the Model Settings dialog's integration type
# as the fourth number of its type-15 line, ``15:0,0,0,<type>,0,0``: 0 Euler,
# 1 and 5 Runge-Kutta 4 (auto and fixed step), 3 and 4 Runge-Kutta 2, 2 difference
# equations (Euler's update). A file without the section (written by hand) is Euler,
# as in Vensim.
_SETTINGS = re.compile(r"^:L\x7f?<%\^E!@\s*$", re.MULTILINE)
_INTEGRATION_TYPES = {0: "euler", 2: "euler", 1: "rk4", 5: "rk4", 3: "rk2", 4: "rk2"}


def declared_integration(text: str) -> str:
    """The integration method a model's text declares: ``euler``, ``rk4`` or ``rk2``
    (which gvcdyn does not integrate; the model's runs then name their method), read from
    Vensim's settings section. Euler if the text has no settings or no integration type."""
    found = _SETTINGS.search(text)
    if found is None:
        return "euler"
    for line in text[found.end() :].splitlines():
        key, _, value = line.strip().partition(":")
        if key != "15":
            continue
        fields = value.split(",")
        try:
            code = int(fields[3])
        except (IndexError, ValueError):
            return "euler"
        return _INTEGRATION_TYPES.get(code, "euler")
    return "euler"
