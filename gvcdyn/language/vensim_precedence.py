"""Unary minus binds looser than ``^`` in Vensim, also before a number: undo PySD's fold.

Vensim's rule is the usual one: ``-x^y`` is ``-(x^y)`` whatever ``x`` and ``y`` are.
Vensim's own outputs say so: ``-2^2`` is -4 in the reference suite's ``exponentiation``
model (``tests/sd-test-models/exponentiation``), ``-3^2`` and ``-a^2`` (``a = 3``) are -9
(SDEverywhere issue #569), and ``-Time^cons2`` with ``Time = 10, cons2 = 2`` is -100
(gvcdyn issue #22, which withdrew an earlier reading of a reference file as 100).

PySD builds that AST for a negated name, call or parenthesis (its ``EquationVisitor``
puts ``negative(...)`` around the whole power), but it folds a written minus into a
numeric literal before the ``^`` chain is built, so ``-2^2`` becomes ``(-2)^2`` = 4, and
``-2^cons2``, ``a^-2^2`` likewise. This module undoes that fold for the operands of a
``^`` chain that are the base of a power: the literal gets its written sign back and the
minus goes into PySD's own ``negatives`` set, so PySD's code wraps ``negative(...)``
around the power as it does for names. A negative number written in parentheses,
``(-2)^2``, stays a negative base (4), and a negated exponent, ``a^-2``, stays a negative
exponent: in both the minus is not at the base's level.

Why at parse time: after parsing nothing can tell ``-2^2`` from ``(-2)^2`` (both are the
number -2 raised to 2). ``vensim_visitor`` swaps in a subclass of PySD's visitor for the
duration of one parse; the subclass rewrites the operands of each ``^`` chain and then
defers to PySD's own code.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gvcdyn.errors import TranslatorIncompatibleError

_PYSD_PIN = "pysd~=3.14.3"
_SWAP_LOCK = threading.RLock()


def _pysd_visitor_module() -> Any:
    """PySD's ``vensim_element`` module, checked to hold the hooks this module relies on."""
    from pysd.translators.vensim import vensim_element, vensim_utils

    visitor = getattr(vensim_element, "EquationVisitor", None)
    missing = [
        name
        for name, present in (
            ("vensim_element.EquationVisitor", visitor is not None),
            ("EquationVisitor.visit_exp_expr", hasattr(visitor, "visit_exp_expr")),
            ("EquationVisitor.add_element", hasattr(visitor, "add_element")),
            ("vensim_utils.split_arithmetic", hasattr(vensim_utils, "split_arithmetic")),
        )
        if not present
    ]
    if missing:
        raise TranslatorIncompatibleError(
            f"the installed PySD lacks {', '.join(missing)}, which gvcdyn uses to read a "
            f"negated number before '^' as Vensim does; install {_PYSD_PIN}"
        )
    return vensim_element


def _is_literal(element: Any) -> bool:
    """Whether PySD stored ``element`` as a plain number (how it stores every literal)."""
    return isinstance(element, int | float) and not isinstance(element, bool)


def _minus_written(neg_expr: Any) -> bool:
    """Whether a ``neg_expr`` node (``pre_oper? _ expr``) starts with a unary minus."""
    if len(neg_expr.children) != 3 or neg_expr.expr_name != "neg_expr":
        raise TranslatorIncompatibleError(
            f"PySD's Vensim grammar changed (an operand of '^' is a '{neg_expr.expr_name}' "
            f"node with {len(neg_expr.children)} parts, expected 'neg_expr' with 3); "
            f"install {_PYSD_PIN}"
        )
    return neg_expr.children[0].text.strip() == "-"


def _operand_nodes(node: Any) -> list[Any]:
    """The ``neg_expr`` nodes of an ``exp_expr`` node, ``neg_expr (_ "^" _ neg_expr)*``."""
    first, rest = node.children
    return [first] + [sequence.children[3] for sequence in rest.children]


def _visitor_class(base: type) -> type:
    """A subclass of PySD's ``EquationVisitor`` that unfolds negated literal bases."""

    class VensimPowerVisitor(base):  # type: ignore[misc, valid-type]
        """PySD's visitor, with ``-2^y`` read as ``-(2^y)``."""

        # parsimonious wraps other exceptions in a VisitationError with the parse tree
        unwrapped_exceptions = (TranslatorIncompatibleError,)
        applies_vensim_power_rule = True

        def visit_exp_expr(self, n: Any, vc: list[str]) -> str:
            ids = "".join(vc).strip().split("^")  # element ids are hex: '^' is the operator
            nodes = _operand_nodes(n)
            if len(ids) != len(nodes):
                raise TranslatorIncompatibleError(
                    f"PySD's Vensim visitor changed: '{n.text.strip()}' has {len(nodes)} "
                    f"operands of '^' but the visitor saw {len(ids)}; install {_PYSD_PIN}"
                )
            for i in range(len(ids) - 1):  # every operand that is the base of a '^'
                element = self.elements[ids[i]]
                if _minus_written(nodes[i]) and _is_literal(element):
                    ids[i] = self.add_element(-element)  # the number as written
                    self.negatives.add(ids[i])  # PySD negates the power, as for names
            return super().visit_exp_expr(n, ["^".join(ids)])

    return VensimPowerVisitor


@contextmanager
def vensim_visitor() -> Iterator[type]:
    """Parse with Vensim's reading of a negated number before ``^`` inside the block.

    Swaps PySD's module-level ``EquationVisitor`` (the name ``Component.parse`` looks up)
    for the subclass and puts PySD's class back on exit, also when the block raises.
    The swap is process-wide, so blocks are serialised with a lock; a nested block reuses
    the swap. A PySD parse in another thread that does not go through this function sees
    the subclass while a block is open.
    """
    module = _pysd_visitor_module()
    with _SWAP_LOCK:
        original = module.EquationVisitor
        if getattr(original, "applies_vensim_power_rule", False):  # nested: already swapped
            yield original
            return
        module.EquationVisitor = _visitor_class(original)
        try:
            yield module.EquationVisitor
        finally:
            module.EquationVisitor = original
