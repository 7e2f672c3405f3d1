"""The key under which two spellings of one Vensim name match.

Vensim reads ``Shock Size``, ``shock size``, ``Shock_Size`` and ``Shock  Size`` as one
name. The language layer matches names by this key, and the files read before any model
exists (scenario files) need the same key to see one lever set twice under two
spellings, so it lives in the foundation layer, below both."""

from __future__ import annotations

__all__ = ["name_key"]


def name_key(name: str) -> str:
    """Matching key of a Vensim name: lower case, runs of blanks/underscores as one ``_``."""
    return "_".join(name.strip().lower().replace("_", " ").split())
