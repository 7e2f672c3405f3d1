"""The key under which two spellings of one Vensim name match.

Vensim reads ``Shock Size``, ``shock size``, ``Shock_Size`` and ``Shock  Size`` as one
name. The language layer matches names by this key, and the files read before any model
exists (scenario files) need the same key to see one lever set twice under two
spellings, so it lives in the foundation layer, below both."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["first_repeat", "name_key"]


def name_key(name: str) -> str:
    """Matching key of a Vensim name: lower case, runs of blanks/underscores as one ``_``."""
    return "_".join(name.strip().lower().replace("_", " ").split())


def first_repeat(spellings: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
    """The first two spellings that share a key, as ``(earlier, later)``, among
    ``(key, spelling)`` pairs in the order given; None when every key comes once.

    A table that sets one name twice under two spellings (``Shock Size`` and
    ``shock size``) would let the later one win without a word; each reader (scenario
    files, case mappings, check files) refuses it with this, keyed as its names resolve."""
    first: dict[str, str] = {}
    for key, spelling in spellings:
        if key in first:
            return first[key], spelling
        first[key] = spelling
    return None
