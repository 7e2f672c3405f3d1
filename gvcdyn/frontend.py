"""Read a Vensim ``.mdl`` file into PySD's abstract model.

PySD's translator is the parser: we never write our own ``.mdl`` grammar. Only
``pysd.translators`` is used (it writes nothing to disk); PySD's Python builder and
runtime are the specification of the semantics, never called. One reading PySD gets wrong
is mended while it parses: a minus written before a number that is the base of ``^``
(``-2^2`` is -4; ``gvcdyn.vensim_precedence``).
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any

from gvcdyn.errors import GvcdynError, ModelFileNotFoundError, ModelParseError
from gvcdyn.vensim_precedence import vensim_visitor


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
    digest = hashlib.sha256(data).hexdigest()
    from pysd.translators.vensim.vensim_file import VensimFile

    with warnings.catch_warnings(), vensim_visitor():
        warnings.simplefilter("ignore")
        try:
            vensim_file = VensimFile(path)
            vensim_file.parse()
            abstract = vensim_file.get_abstract_model()
        except GvcdynError:
            raise
        except Exception as exc:  # PySD raises bare ValueError/parsimonious errors
            detail = " ".join(str(exc).split())
            if len(detail) > 400:
                detail = detail[:400] + "..."
            raise ModelParseError(
                f"{path}: PySD's Vensim translator could not read the model: "
                f"{type(exc).__name__}: {detail}"
            ) from exc
    if not abstract.sections or not abstract.sections[0].elements:
        raise ModelParseError(f"{path}: the model defines no variables")
    return abstract, digest
