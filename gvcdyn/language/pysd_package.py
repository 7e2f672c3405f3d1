"""Import PySD's translator without running ``pysd/__init__.py`` until PySD itself is used.

gvcdyn uses only ``pysd.translators`` (pure Python: parsimonious, chardet, numpy), but
Python runs a package's ``__init__`` before any of its submodules, and PySD's imports its
runtime: ``pysd.pysd`` and ``pysd.py_backend``, hence xarray, pandas and openpyxl. That
is about 0.35 s of CPU in every process that reads a model, a tenth of a cold build of
``gvc_upgrading`` (issue 21; ``python -X importtime -c "import gvcdyn.language.lower"``),
for code a translation never calls.

:func:`defer_pysd_init` puts PySD's package module in ``sys.modules`` as the import system
makes it (``importlib.util.module_from_spec``: its ``__path__``, ``__spec__``, so
``import pysd.translators...`` works as usual), but does not execute its ``__init__``.
The module's class is :class:`_DeferredPackage`, whose ``__getattr__`` executes that
``__init__`` the first time a name it defines is asked for (``pysd.read_vensim``,
``from pysd import load``, ``pysd.__version__``) and then turns the module into a plain
one. So ``import pysd`` later in the process gets the same module object, which behaves as
PySD made it; the translator modules already loaded are the ones PySD's runtime then
uses (no second copy, no class twice). Nothing inside PySD is patched or replaced: this
relies only on the import system and on the translator not needing the package's
``__init__``, which holds for pysd 3.14 (pinned); if a later PySD's translator asked the
package for a name, that would load the whole package, as before, at the same cost.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from types import ModuleType
from typing import Any

_LOCK = threading.RLock()
#: the packages whose deferred ``__init__`` the thread holding ``_LOCK`` is running
_RUNNING: set[str] = set()


class _DeferredPackage(ModuleType):
    """PySD's package module before its ``__init__`` ran: the first lookup of a name it
    does not have yet runs it (:func:`complete`), then the module is a plain module."""

    def __getattr__(self, name: str) -> Any:
        if not complete(self):  # asked by the __init__ itself: not defined yet
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        return getattr(self, name)  # now a plain module: found, or AttributeError

    def __dir__(self) -> list[str]:
        complete(self)
        return ModuleType.__dir__(self)


def complete(module: ModuleType) -> bool:
    """Run the deferred ``__init__`` of ``module`` (once; a no-op for a plain module);
    False when called from inside that ``__init__`` (its own lookups are ordinary ones).

    Another thread asking meanwhile waits for the ``__init__`` to finish, as a second
    ``import`` waits for the first; the module stays deferred until then, so that thread
    does not see a half-made module (an AttributeError for a name the ``__init__`` has
    not reached yet). If the ``__init__`` raises, the module stays deferred, so the next
    lookup raises the same error again, as a failed import would on the next ``import``.
    """
    with _LOCK:  # reentrant: only the thread running an __init__ passes while it runs
        if type(module) is not _DeferredPackage:
            return True
        if module.__name__ in _RUNNING:
            return False
        _RUNNING.add(module.__name__)
        try:
            module.__spec__.loader.exec_module(module)  # type: ignore[union-attr]
        finally:
            _RUNNING.discard(module.__name__)
        module.__class__ = ModuleType
        return True


def defer_pysd_init() -> None:
    """Register PySD's package without running its ``__init__`` (module docstring)."""
    defer_init("pysd")


def defer_init(package: str) -> None:
    """Register the top-level ``package`` without running its ``__init__`` until a name
    is asked of it (:class:`_DeferredPackage`); its submodules import as usual.

    Does nothing if the package is imported already, or is not installed or not a
    regular package (then its first import reports that as usual).
    """
    with _LOCK:
        if package in sys.modules:
            return
        spec = importlib.util.find_spec(package)
        if spec is None or spec.loader is None or spec.submodule_search_locations is None:
            return
        module = importlib.util.module_from_spec(spec)
        module.__class__ = _DeferredPackage
        sys.modules[package] = module
