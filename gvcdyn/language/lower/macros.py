"""Expand Vensim macros (``:MACRO:``) into ordinary elements of the main section.

PySD builds one ``Macro`` object per call site (``build_macro_call`` in
``pysd/builders/python/python_expressions_builder.py``): each call has its own
instance, with its own stocks, whose inputs are the call's arguments evaluated in the
caller's namespace every time the macro is read. gvcdyn reaches the same semantics by
copying the macro's elements into the main section once per call, under instance names
(``<macro>~<n>~<element>``), with the parameters replaced by the arguments and the call
replaced by a reference to the instance's copy of the macro's own variable. Lowering
then treats the copies like any other element: an INTEG in a macro becomes one stock per
call. A macro calling another macro gets a nested instance.

A call in a subscripted equation (``x[region] = M(y[region])``) makes instance elements
subscripted like that equation, so every cell has its own copy (PySD computes the macro
on whole arrays, which is the same thing). The copies are internal: ``is_instance_name``
tells them apart so that they are not model outputs (PySD does not output them either).
Their number literals are fixed constants, never run-time parameters. What PySD does not
support either stays refused by name: additional macro outputs (``MACRO(in : out)``)
and subscripted variables inside a macro.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from typing import Any

from pysd.translators.structures import abstract_expressions as ae
from pysd.translators.structures.abstract_model import (
    AbstractComponent,
    AbstractElement,
    AbstractLookup,
    AbstractUnchangeableConstant,
)

from gvcdyn.errors import ModelStructureError, UnsupportedFeatureError
from gvcdyn.language.lower.elements import is_number
from gvcdyn.language.subscripts import name_key

__all__ = ["expand_macros", "is_instance_name"]

INSTANCE_MARK = "~"  # Vensim names cannot contain '~' (it delimits units and comments)
MAX_NESTING = 32


def is_instance_name(name: str) -> bool:
    """True for an element created by expanding a macro call (not a model output)."""
    return INSTANCE_MARK in name


def expand_macros(abstract: Any) -> Any:
    """The main section of ``abstract`` with every macro call expanded.

    A model without macros gets its main section back unchanged.
    """
    main = abstract.sections[0]
    if len(abstract.sections) == 1:
        return main
    expander = _Expander({name_key(s.name): s for s in abstract.sections[1:]})
    elements = [expander.main_element(element) for element in main.elements]
    return dataclasses.replace(main, elements=elements + expander.created)


@dataclasses.dataclass
class _Scope:
    """Name replacements inside one macro instance.

    ``renamed``: the macro's own elements -> their instance names (reference keys);
    ``arguments``: the macro's parameters -> the AST passed by the call;
    ``subscripts``: the calling equation's ``(left-hand subscripts, exceptions)``, which
    every element of the instance takes.
    """

    renamed: dict[str, str]
    arguments: dict[str, Any]
    owner: str  # the element being rewritten, for messages
    subscripts: tuple[list[str], list[list[str]]]
    depth: int = 0

    def reference(self, key: str) -> ae.ReferenceStructure:
        """A reference to an instance element, in the cell being computed."""
        lhs = self.subscripts[0]
        subscripts = ae.SubscriptsReferenceStructure(list(lhs)) if lhs else None
        return ae.ReferenceStructure(reference=key, subscripts=subscripts)


class _Expander:
    def __init__(self, macros: dict[str, Any]) -> None:
        self.macros = macros
        self.created: list[AbstractElement] = []
        self._counter: Iterator[int] = itertools.count(1)
        for macro in macros.values():
            _check_macro(macro)

    def main_element(self, element: AbstractElement) -> AbstractElement:
        """A main-section element with the macro calls of its equations expanded."""
        if not _calls_macro(element, self.macros):
            return element
        components = []
        for component in element.components:
            lhs, excepts = component.subscripts
            scope = _Scope({}, {}, element.name, (list(lhs), list(excepts or [])))
            components.append(
                dataclasses.replace(component, ast=self._rewrite(component.ast, scope))
            )
        return dataclasses.replace(element, components=components)

    def _rewrite(self, node: Any, scope: _Scope) -> Any:
        """``node`` in the caller's namespace: macro calls expanded, names replaced."""
        if isinstance(node, ae.CallStructure) and name_key(node.function.reference) in self.macros:
            arguments = tuple(self._rewrite(a, scope) for a in node.arguments)
            return self._instantiate(
                self.macros[name_key(node.function.reference)], arguments, scope
            )
        if isinstance(node, ae.ReferenceStructure):
            key = name_key(node.reference)
            if key in scope.arguments:
                if node.subscripts is not None:
                    raise UnsupportedFeatureError(
                        f"'{scope.owner}': a subscripted macro input "
                        f"('{node.reference}[...]') is not supported"
                    )
                return scope.arguments[key]
            if key in scope.renamed:
                return scope.reference(scope.renamed[key])
            return node
        if dataclasses.is_dataclass(node) and not isinstance(node, type):
            changes = {
                f.name: self._rewrite(getattr(node, f.name), scope)
                for f in dataclasses.fields(node)
            }
            return dataclasses.replace(node, **changes)
        if isinstance(node, tuple):
            return tuple(self._rewrite(item, scope) for item in node)
        if isinstance(node, list):
            return [self._rewrite(item, scope) for item in node]
        return node

    def _instantiate(self, macro: Any, arguments: tuple[Any, ...], caller: _Scope) -> Any:
        """Copy ``macro`` once for this call; the reference to the copy's output."""
        if caller.depth >= MAX_NESTING:
            raise ModelStructureError(
                f"macro {_display(macro)} is nested more than {MAX_NESTING} deep "
                "(does it call itself?)"
            )
        if len(arguments) != len(macro.params):
            raise ModelStructureError(
                f"'{caller.owner}' calls the macro {_display(macro)} with {len(arguments)} "
                f"arguments; it takes {len(macro.params)} ({', '.join(macro.params)})"
            )
        prefix = f"{_display(macro)}{INSTANCE_MARK}{next(self._counter)}{INSTANCE_MARK}"
        renamed = {name_key(e.name): name_key(prefix + e.name) for e in macro.elements}
        scope = _Scope(renamed, {}, caller.owner, caller.subscripts, caller.depth + 1)
        for parameter, argument in zip(macro.params, arguments, strict=True):
            scope.arguments[name_key(parameter)] = self._argument(
                prefix, parameter, argument, scope
            )
        for element in macro.elements:
            scope.owner = prefix + element.name
            components = [_fixed_if_number(self._copy(c, scope)) for c in element.components]
            self.created.append(
                dataclasses.replace(element, name=prefix + element.name, components=components)
            )
        output = renamed.get(name_key(macro.name))
        if output is None:
            raise ModelStructureError(
                f"macro {_display(macro)} does not define its output variable '{_display(macro)}'"
            )
        return scope.reference(output)

    def _copy(self, component: AbstractComponent, scope: _Scope) -> AbstractComponent:
        return dataclasses.replace(
            component, subscripts=scope.subscripts, ast=self._rewrite(component.ast, scope)
        )

    def _argument(self, prefix: str, parameter: str, argument: Any, scope: _Scope) -> Any:
        """What replaces a parameter: a number or a plain reference as is, else a new
        element holding the argument (computed once, however often the macro reads it)."""
        if is_number(argument) or (
            isinstance(argument, ae.ReferenceStructure) and argument.subscripts is None
        ):
            return argument
        name = f"{prefix}{parameter}"
        self.created.append(
            AbstractElement(name=name, components=[AbstractComponent(scope.subscripts, argument)])
        )
        return scope.reference(name_key(name))


def _check_macro(macro: Any) -> None:
    if macro.returns:
        raise UnsupportedFeatureError(
            f"macro {_display(macro)} has additional outputs ({', '.join(macro.returns)}); "
            "gvcdyn (like PySD) supports only the macro's own output"
        )
    for element in macro.elements:
        if any(c.subscripts[0] for c in element.components):
            raise UnsupportedFeatureError(
                f"macro {_display(macro)}: '{element.name}' is subscripted; "
                "gvcdyn supports scalar macros only"
            )


def _fixed_if_number(component: AbstractComponent) -> AbstractComponent:
    """A number in a macro instance is part of the macro, not a parameter of the model."""
    if is_number(component.ast) and not isinstance(
        component, AbstractUnchangeableConstant | AbstractLookup
    ):
        return AbstractUnchangeableConstant(component.subscripts, component.ast)
    return component


def _calls_macro(element: AbstractElement, macros: dict[str, Any]) -> bool:
    return any(_calls_in(c.ast, macros) for c in element.components)


def _calls_in(node: Any, macros: dict[str, Any]) -> set[str]:
    """The macros ``node`` calls (by key)."""
    found: set[str] = set()
    if isinstance(node, ae.CallStructure) and name_key(node.function.reference) in macros:
        found.add(name_key(node.function.reference))
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            found |= _calls_in(getattr(node, f.name), macros)
    elif isinstance(node, tuple | list):
        for item in node:
            found |= _calls_in(item, macros)
    return found


def _display(macro: Any) -> str:
    """The macro's name as Vensim writes it (upper case, blanks)."""
    return macro.name.replace("_", " ").upper()
