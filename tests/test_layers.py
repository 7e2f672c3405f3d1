"""The layers show (issue 8, section 4): one root for errors, no printing in the library.

These tests walk every module of the installed package, so a class or an import added
later is checked too.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import tomllib
from pathlib import Path

import pytest

import gvcdyn
from gvcdyn import errors
from gvcdyn.errors import GvcdynError

REPO = Path(__file__).resolve().parents[1]
PACKAGE = Path(gvcdyn.__file__).parent


def _module_names() -> list[str]:
    names = ["gvcdyn"]
    for info in pkgutil.walk_packages(gvcdyn.__path__, prefix="gvcdyn."):
        if info.name.startswith("gvcdyn.bundled_models"):
            continue  # the GVC model's files, not code of the package
        names.append(info.name)
    return sorted(names)


MODULES = _module_names()


def _source(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None, name
    return Path(spec.origin)


@pytest.mark.parametrize("name", MODULES)
def test_every_error_class_lives_in_errors_under_one_root(name: str) -> None:
    """Exception classes are defined in ``gvcdyn.errors`` and derive from ``GvcdynError``.

    Private classes (a leading underscore) are signals a module raises and catches
    itself; they never reach a caller and are exempt.
    """
    module = importlib.import_module(name)
    for attr, value in vars(module).items():
        if not (inspect.isclass(value) and issubclass(value, BaseException)):
            continue
        if value.__module__ != name or attr.startswith("_"):
            continue  # imported from elsewhere, or private
        assert name == "gvcdyn.errors", f"{name}.{attr} must be defined in gvcdyn/errors.py"


def test_every_error_has_the_root_and_a_builtin() -> None:
    classes = [
        value
        for value in vars(errors).values()
        if inspect.isclass(value) and issubclass(value, BaseException)
        and value.__module__ == "gvcdyn.errors"
    ]  # fmt: skip
    assert len(classes) > 10
    for cls in classes:
        if cls is GvcdynError:
            continue
        assert issubclass(cls, GvcdynError), cls
        builtins = {b for b in cls.__mro__ if b.__module__ == "builtins"}
        assert builtins - {Exception, BaseException, object}, (
            f"{cls.__name__} should also inherit the matching builtin (ValueError, ...)"
        )


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


#: Library modules allowed to import the argument parser, each with its reason. Keep short:
#: command-line code belongs in gvcdyn/cli/.
PARSER_FACING = {
    "gvcdyn.execute.options": "the typer options the executor flags share across commands",
}


@pytest.mark.parametrize("name", [m for m in MODULES if not m.startswith("gvcdyn.cli")])
def test_library_modules_do_not_reach_into_the_command_line(name: str) -> None:
    """The CLI parses, calls the library and prints; the library never imports the CLI
    or its argument parser, and uses the console library only to draw progress."""
    imported = _imports(_source(name))
    bad = {m for m in imported if m == "gvcdyn.cli" or m.startswith("gvcdyn.cli.")}
    if name not in PARSER_FACING:
        bad |= {m for m in imported if m.split(".")[0] in {"typer", "click"}}
    if not name.endswith(".progress"):
        bad |= {m for m in imported if m.split(".")[0] == "rich"}
    assert not bad, f"{name} imports {sorted(bad)}"


def test_command_modules_leave_simulation_and_pysd_to_the_library() -> None:
    """No command module runs a model, PySD or a comparison itself."""
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        imported = _imports(path)
        assert "pysd" not in imported, path.name
        text = path.read_text(encoding="utf-8")
        for call in (".run(", "read_vensim", "compare(", "build_batch("):
            assert call not in text, f"{path.name} calls {call} itself"


def test_the_generic_io_module_knows_no_gvc_names() -> None:
    from gvcdyn import bundled
    from gvcdyn.io import results_io

    text = _source("gvcdyn.io.results_io").read_text(encoding="utf-8")
    assert not re.search(r"gvc(?!dyn)", text, re.IGNORECASE)
    for outcome in bundled.GVC_OUTCOMES:
        assert outcome not in text
    assert not hasattr(results_io, "GVC_OUTCOMES")


def test_version_comes_without_importing_the_model() -> None:
    """``gvcdyn._version`` imports nothing of gvcdyn, so any module may use it."""
    assert not {m for m in _imports(_source("gvcdyn._version")) if m.startswith("gvcdyn")}
    assert gvcdyn.__version__ == importlib.metadata.version("gvcdyn")


def test_the_translator_is_pinned_to_the_version_lowering_was_written_for() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "pysd~=3.14.3" in project["dependencies"]
    import pysd

    assert pysd.__version__.startswith("3.14.")


def test_every_code_folder_is_a_package_that_setup_ships() -> None:
    """setup.py ships the folders ``find_packages`` finds: those with an ``__init__.py``."""
    for folder in PACKAGE.rglob("*"):
        if folder.is_dir() and folder.name != "__pycache__" and any(folder.glob("*.py")):
            assert (folder / "__init__.py").is_file(), f"{folder} has no __init__.py"


def test_the_readme_layout_table_names_every_module() -> None:
    """Every module and package of gvcdyn/ has a row in the README's layout table, so a
    reader finds where each step lives (issue 18); a new module without a row fails."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text.split("## Layout", 1)[1]
    modules = sorted(
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" and p.stem not in ("__init__", "_version"))
        or (p.is_dir() and (p / "__init__.py").exists())
    )
    missing = [m for m in modules if f"gvcdyn/{m}" not in table]
    assert not missing, f"modules without a row in README's Layout table: {missing}"
