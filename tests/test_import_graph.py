"""gvcdyn's modules import each other in one direction: no module reaches back in a circle.

The graph is read from the source (``ast``), so an import inside a function counts as
much as one at the top: a lazy import hides a cycle from Python, not from a reader.
Imports under ``if TYPE_CHECKING:`` are annotations only and do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import gvcdyn

PACKAGE = Path(gvcdyn.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """The gvcdyn modules ``name`` imports; ``from gvcdyn import x`` is ``gvcdyn.x`` if a module."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "gvcdyn")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.split(".")[0] == "gvcdyn":
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    found.add(sub if sub in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    found.discard(name)
    return {m for m in found if m in known}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := dfs(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := dfs(node)):
            return found
    return None


def test_no_module_imports_itself_in_a_circle() -> None:
    modules = _modules()
    known = set(modules)
    # a subpackage's __init__ importing its own modules is not a cycle with them, but a
    # module importing the package root (gvcdyn) while the root imports it is
    graph = {name: _imports(path, name, known) for name, path in modules.items()}
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_checker_sees_a_cycle() -> None:
    """The cycle finder is not vacuous: it reports a planted circle."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


# ------------------------------------------------------------------ layers (issue 18)
#: gvcdyn's layers, lowest first: a module may import its own layer or a lower one, never a
#: higher one. Each entry names the top-level modules and packages of gvcdyn/ in it; the
#: README's Layout table lists the same layers in the same order.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    # errors, run status codes, size limits, resume fingerprints, the progress
    # protocol, and the numba intrinsics generated kernels call (gvcdyn.runtime)
    (
        "foundation",
        frozenset(
            {"errors", "_version", "status", "limits", "identity", "names", "progress", "runtime"}
        ),
    ),
    ("io", frozenset({"io"})),  # files in and out, knowing no model
    ("language", frozenset({"language"})),  # .mdl -> IR -> schedule
    ("backend", frozenset({"backend"})),  # schedule -> compiled, cached kernel
    ("seam", frozenset({"model", "model_settings", "space", "outcomes", "evaluator", "dataset"})),
    ("execute", frozenset({"execute"})),  # executors, chunked jobs, checkpoints
    (
        "analyses",
        frozenset(
            {"whatif", "calibrate", "sensitivity", "checks", "reports", "bundled", "testing"}
        ),
    ),
    ("cli", frozenset({"cli"})),
)


def _layer(module: str) -> int | None:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    return next((i for i, (_, tops) in enumerate(LAYERS) if top in tops), None)


def _layer_violations(modules: dict[str, Path]) -> list[str]:
    known = set(modules)
    found = []
    for name, path in sorted(modules.items()):
        if name == "gvcdyn":
            continue  # the facade re-exports the public names of every layer
        for target in sorted(_imports(path, name, known)):
            if target == "gvcdyn":
                found.append(f"{name} imports the facade gvcdyn; import the defining module")
            elif (_layer(target) or 0) > (_layer(name) or 0):
                found.append(
                    f"{name} ({LAYERS[_layer(name) or 0][0]}) imports {target} "
                    f"({LAYERS[_layer(target) or 0][0]}), a higher layer"
                )
    return found


def test_every_module_belongs_to_a_layer() -> None:
    """A new top-level module or package must be placed in a layer (and the README)."""
    unplaced = [name for name in _modules() if name != "gvcdyn" and _layer(name) is None]
    assert not unplaced, f"add these to LAYERS and to README's Layout table: {unplaced}"


def test_imports_go_down_the_layers() -> None:
    """Direction, not only the absence of cycles: the language knows no kernel, the kernel
    no analysis, the library no command line; nothing inside imports the facade."""
    violations = _layer_violations(_modules())
    assert not violations, "\n".join(violations)


def test_the_layer_check_sees_an_upward_import(tmp_path: Path) -> None:
    """Not vacuous: a planted import of the CLI from the language layer is reported."""
    planted = tmp_path / "frontend.py"
    planted.write_text("from gvcdyn.cli import common\nimport gvcdyn\n", encoding="utf-8")
    modules = {"gvcdyn.language.frontend": planted, "gvcdyn.cli.common": planted, "gvcdyn": planted}
    found = _layer_violations(modules)
    assert any("gvcdyn.language.frontend (language) imports gvcdyn.cli.common" in f for f in found)
    assert any("imports the facade" in f for f in found)


def _function_level_imports(path: Path) -> list[tuple[int, str]]:
    """gvcdyn imports inside a function body, with their line's text."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    found = []
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.Import):
                names = [a.name for a in sub.names]
            elif isinstance(sub, ast.ImportFrom):
                names = [sub.module or ""] if not sub.level else ["gvcdyn"]
            else:
                continue
            if any(n.split(".")[0] == "gvcdyn" for n in names):
                found.append((sub.lineno, lines[sub.lineno - 1]))
    return sorted(set(found))


def test_no_gvcdyn_import_hides_in_a_function_without_its_reason() -> None:
    """An import inside a function hides a dependency from a reader of the module's top;
    where one is needed (to keep a command's start fast, to load a heavy optional library
    only when asked), a comment on the same line says why.

    The command line (gvcdyn/cli/) is exempt as a whole, with the reason its package
    docstring states: it imports the library when a command runs, so ``--help``,
    ``--version`` and a mistyped option cost well under a second.
    """
    assert "imports the library when a command runs" in (PACKAGE / "cli" / "__init__.py").read_text(
        encoding="utf-8"
    )
    unexplained = [
        f"{path.relative_to(PACKAGE.parent)}:{lineno}: {line.strip()}"
        for name, path in sorted(_modules().items())
        if not name.startswith("gvcdyn.cli")
        for lineno, line in _function_level_imports(path)
        if "#" not in line
    ]
    assert not unexplained, "move to the module's top, or say why on the line:\n" + "\n".join(
        unexplained
    )


def test_the_readme_layout_table_lists_the_layers_in_order() -> None:
    """The README's Layout table is the reader's copy of ``LAYERS``: its layers in this
    order, and each top-level module or package of a layer in a row of that layer."""
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in readme.split("## Layout", 1)[1].splitlines()
        if line.startswith("| ") and not line.startswith("| layer")
    ]
    order = list(dict.fromkeys(row[0] for row in rows))
    assert order == [name for name, _ in LAYERS]
    for name, tops in LAYERS:
        text = " ".join(row[-1] for row in rows if row[0] == name)
        missing = [top for top in tops - {"_version"} if f"gvcdyn/{top}" not in text]
        assert not missing, f"README's {name} rows do not name {missing}"
