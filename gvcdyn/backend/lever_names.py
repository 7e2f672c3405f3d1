"""The parameter names of model files seen before: a mistyped lever is refused at once.

A model's names are known only once PySD has parsed its ``.mdl`` (about a second for the
GVC model, most of the cost of a command that fails on a typo). So each time a model
file is loaded its parameter names are kept in the kernel cache under the file's SHA-256
(``names/<sha256>.json``), and a later command checks the names it was given against
them before parsing. The file holds data, never code: a missing, damaged or planted one
changes only the speed of a mistake, because a name it lists still goes through the full
check after parsing, and one it lacks is refused with the message that check would give.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from gvcdyn.errors import UnknownParameterError
from gvcdyn.io.atomic import atomic_write_bytes
from gvcdyn.language.subscripts import name_key

__all__ = ["cache_root", "refuse_unknown", "remember", "unknown_message"]


def cache_root() -> Path:
    """The kernel cache folder's path (``$GVCDYN_CACHE_DIR`` or the user cache), not
    created or checked: ``gvcdyn.backend.compiler.cache_dir`` does that before writing."""
    root = os.environ.get("GVCDYN_CACHE_DIR")
    if root:
        return Path(root)
    import platformdirs

    return Path(platformdirs.user_cache_dir("gvcdyn")) / "kernels"


def unknown_message(kind: str, name: str, known: list[str]) -> str:
    """``unknown <kind> '<name>'`` with up to three close names."""
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    if not close:
        keyed = {name_key(k): k for k in known}
        close = [keyed[k] for k in difflib.get_close_matches(name_key(name), list(keyed), n=3)]
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown {kind} '{name}'{hint}"


def _names_file(digest: str) -> Path:
    return cache_root() / "names" / f"{digest}.json"


def remember(cache: Path, digest: str, names: list[str]) -> None:
    """Keep a model file's parameter names (``digest``: the file's SHA-256) in ``cache``,
    the checked kernel cache folder (``gvcdyn.backend.compiler.cache_dir()``); best effort."""
    data = json.dumps(sorted(names)).encode()
    try:
        folder = cache / "names"
        target = folder / f"{digest}.json"
        if target.is_file() and target.read_bytes() == data:
            return  # kept already: a cache is never rewritten by a load
        folder.mkdir(mode=0o700, exist_ok=True)
        atomic_write_bytes(target, data)
    except OSError:
        pass  # only a speed-up: a read-only cache is fine


def refuse_unknown(model_file: str | Path, keys: Iterable[tuple[str, str]]) -> None:
    """Raise the ``UnknownParameterError`` the full check would raise for the first
    ``(source, key)`` whose key the model file's remembered names lack; nothing when the
    file was never loaded here (or its names file is unreadable)."""
    try:
        digest = hashlib.sha256(Path(model_file).read_bytes()).hexdigest()
        names = json.loads(_names_file(digest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return
    known = {name_key(n) for n in names}
    for source, key in keys:
        if name_key(key) not in known:
            raise UnknownParameterError(
                f"{source}: key {key!r}: {unknown_message('parameter', key, names)}"
            )
