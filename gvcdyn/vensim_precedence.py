"""Vensim's rule for a leading unary minus before ``^``, applied while PySD parses.

The rule, inferred from Vensim's outputs (Vensim itself is not available to us):

- ``-x^n`` with a numeric literal exponent ``n`` is ``-(x^n)``;
- ``-x^y`` with any other exponent is ``(-x)^y``: the minus binds to the base, as Vensim's
  operator table ("Operators" in the Vensim documentation lists unary minus above ``^``).

The evidence, all of it Vensim output:

1. the reference suite's ``exponentiation`` model (``tests/sd-test-models/exponentiation``):
   ``-2^2`` is -4;
2. SDEverywhere issue #569 ("Unary negation has different precedence than in Vensim",
   climateinteractive/SDEverywhere): with ``a = 3``, ``-3^2`` and ``-a^2`` are both -9;
3. a reference model outside our suite (gvcdyn issue #8): ``-Time^cons2`` with
   ``Time = 10, cons2 = 2`` is 100.

The documented order alone contradicts 1 and 2; "``^`` first" (PySD's and Python's rule)
contradicts 3. The rule above is the one consistent with all three. It is an inference
(one guess at the mechanism: Vensim compiles ``x^<number>`` as a power by a constant that
binds tighter), so untested corners follow from it, not from evidence:

- the exponent of a base is everything right of its ``^`` (``^`` is right-associative), so
  in ``-a^2^c`` the exponent of ``a`` is ``2^c``, not a literal: ``(-a)^(2^c)``;
- a literal is whatever PySD stores as a number: ``2``, ``2.5``, ``1e3``, ``-2`` and ``(2)``
  alike (PySD folds a parenthesised or negated number into the number);
- a parenthesised negative base is a negative base whatever the exponent: ``(-2)^2`` is 4.

Why here: PySD builds the same AST for ``-Time^cons2`` and ``-(Time^cons2)`` (its
``EquationVisitor`` wraps ``negative(...)`` around the whole power), and folds ``-2`` into
the number ``-2``, so nothing after parsing can tell the cases apart. ``vensim_visitor``
swaps in a subclass of PySD's visitor for the duration of one parse; the subclass rewrites
the operands of each ``^`` chain and then defers to PySD's own code. No negative number is
left as the base of a ``^``: a negated literal base is written ``negative(2)``, so the base
is a negative number only in the AST of a model parsed without this module.
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
            f"the installed PySD lacks {', '.join(missing)}, which gvcdyn uses to apply "
            f"Vensim's unary-minus rule for '^'; install {_PYSD_PIN}"
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
    """A subclass of PySD's ``EquationVisitor`` that applies the rule to each ``^`` chain."""

    class VensimPowerVisitor(base):  # type: ignore[misc, valid-type]
        """PySD's visitor with Vensim's binding of a leading minus in ``^`` chains."""

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
                ids[i] = self._rebind_base(ids[i], nodes[i], ids[i + 1 :])
            return super().visit_exp_expr(n, ["^".join(ids)])

        def _rebind_base(self, base_id: str, node: Any, exponent_ids: list[str]) -> str:
            """The id of the base, rewritten so that PySD's own code builds Vensim's value."""
            element = self.elements[base_id]
            if not _minus_written(node):
                if _is_literal(element) and element < 0:  # (-2)^y: a negative base
                    return self._add_base(element)
                return base_id
            if _is_literal(element):  # PySD folded the written minus into the number
                operand = -element
            elif base_id in self.negatives:
                operand = element
                self.negatives.discard(base_id)
            else:
                raise TranslatorIncompatibleError(
                    f"PySD's Vensim visitor changed: the negated operand '{node.text.strip()}' "
                    f"of '^' is not in its negatives; install {_PYSD_PIN}"
                )
            if len(exponent_ids) == 1 and _is_literal(self.elements[exponent_ids[0]]):
                new_id = self._add_base(operand)  # -x^2 is -(x^2): PySD's own wrapping
                self.negatives.add(new_id)
                return new_id
            return self.add_element(_negative(operand))  # -x^y is (-x)^y

        def _add_base(self, operand: Any) -> str:
            """A new element for a base; a negative number becomes ``negative(number)``."""
            if _is_literal(operand) and operand < 0:
                return self.add_element(_negative(-operand))
            return self.add_element(operand)

    return VensimPowerVisitor


def _negative(operand: Any) -> Any:
    """PySD's AST node for ``-operand``."""
    from pysd.translators.structures.abstract_expressions import ArithmeticStructure

    return ArithmeticStructure(["negative"], (operand,))


@contextmanager
def vensim_visitor() -> Iterator[type]:
    """Parse with Vensim's unary-minus rule for ``^`` inside the ``with`` block.

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
