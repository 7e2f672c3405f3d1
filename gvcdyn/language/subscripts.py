"""Subscript ranges of a model: elements, subranges, copies and positional mappings.

Everything is matched case- and space-insensitively, as Vensim does. The catalogue
answers the two questions lowering asks: which range does a variable's dimension
span, and which element does a subscript in a reference stand for in a given cell.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gvcdyn.errors import ModelStructureError, UnsupportedFeatureError
from gvcdyn.names import name_key  # re-exported: the language layer's importers read it here


@dataclass(frozen=True)
class Range:
    """A subscript range with its elements in order."""

    name: str
    elements: tuple[str, ...]
    mapping: tuple[str, ...] = ()

    def index(self, element: str) -> int:
        keys = [name_key(e) for e in self.elements]
        return keys.index(name_key(element))

    def has(self, element: str) -> bool:
        return name_key(element) in {name_key(e) for e in self.elements}


class SubscriptCatalog:
    """All ranges of a model section, with copies resolved."""

    def __init__(self, abstract_ranges: Iterable[object]) -> None:
        raw = list(abstract_ranges)
        defined: dict[str, object] = {name_key(r.name): r for r in raw}
        self.ranges: dict[str, Range] = {}
        for r in raw:
            elements = self._expand(r.name, defined, ())
            mapping = tuple(m if isinstance(m, str) else str(m) for m in (r.mapping or []))
            self.ranges[name_key(r.name)] = Range(r.name, tuple(elements), mapping)
        self._element_ranges: dict[str, list[Range]] = {}
        for rng in self.ranges.values():
            for element in rng.elements:
                self._element_ranges.setdefault(name_key(element), []).append(rng)

    @staticmethod
    def _expand(name: str, defined: dict[str, object], seen: tuple[str, ...]) -> list[str]:
        """Elements of a range: copies resolved, nested range names replaced by elements."""
        key = name_key(name)
        if key in seen:
            raise ModelStructureError(f"subscript range '{name}' is defined in terms of itself")
        elements = defined[key].subscripts
        if isinstance(elements, dict):
            raise UnsupportedFeatureError(
                f"subscript range '{name}' is read from a file (GET XLS/DIRECT SUBSCRIPT), "
                "which gvcdyn does not support; list its elements in the model"
            )
        if isinstance(elements, str):  # a copy: DimB <-> DimA
            elements = [elements]
        expanded: list[str] = []
        for element in elements:
            if name_key(element) in defined and name_key(element) != key:
                expanded += SubscriptCatalog._expand(element, defined, (*seen, key))
            else:
                expanded.append(element)
        return expanded

    def ranges_of(self, element: str) -> list[Range]:
        return self._element_ranges[name_key(element)]

    def is_range(self, name: str) -> bool:
        return name_key(name.rstrip("!")) in self.ranges

    def is_element(self, name: str) -> bool:
        return name_key(name) in self._element_ranges

    def range(self, name: str) -> Range:
        try:
            return self.ranges[name_key(name.rstrip("!"))]
        except KeyError:
            raise ModelStructureError(f"unknown subscript range '{name}'") from None

    def members(self, name: str) -> tuple[str, ...]:
        """Elements named by a subscript: a range's elements, or the element itself."""
        if self.is_range(name):
            return self.range(name).elements
        if self.is_element(name):
            return (self.canonical_element(name),)
        raise ModelStructureError(f"unknown subscript '{name}'")

    def canonical_element(self, name: str) -> str:
        rng = self._element_ranges[name_key(name)][0]
        return rng.elements[rng.index(name)]

    def covering_range(self, elements: Sequence[str], preferred: str | None) -> Range:
        """The range a variable dimension spans, given the elements its definitions cover.

        The range named in the first definition wins if it covers everything; otherwise
        the smallest range that does (a merged subrange definition spans its parent).
        """
        wanted = {name_key(e) for e in elements}
        if preferred is not None and self.is_range(preferred):
            rng = self.range(preferred)
            if wanted <= {name_key(e) for e in rng.elements}:
                return rng
        candidates = [
            r for r in self.ranges.values() if wanted <= {name_key(e) for e in r.elements}
        ]
        if not candidates:
            raise ModelStructureError(f"no subscript range contains all of {sorted(elements)}")
        return min(candidates, key=lambda r: len(r.elements))

    def maps_between(self, a: Range, b: Range) -> bool:
        """True if ``a`` and ``b`` are linked by a positional mapping (either direction)."""
        return any(name_key(m) == name_key(b.name) for m in a.mapping) or any(
            name_key(m) == name_key(a.name) for m in b.mapping
        )
