"""Processes sharing the kernel cache: what a race between two of them may cost.

Test workers (pytest-xdist) and dask workers compile into one cache at once. numba's own
cache numbers a function's data files in the order of the index each process read, so two
processes adding different signatures at the same time could leave an index naming one
signature and a data file holding the other's machine code, run by every later process.
The interleaving is replayed here step by step, in one process.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from gvcdyn.backend import compiler

SOURCE = "def helper(x):\n    return x\n"


def _cache_file(name: str, folder: Path) -> compiler._VerifiedCacheFile:
    return compiler._VerifiedCacheFile(str(folder), f"{name}.helper-1.py311", b"stamp")


@pytest.mark.parametrize("ours", ["kernel module", "gvcdyn module"])
def test_two_processes_adding_signatures_at_once_never_swap_their_code(
    ours: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GVCDYN_CACHE_DIR", str(tmp_path / "cache"))
    if ours == "kernel module":
        module = compiler.load_kernel_module(SOURCE + f"# {tmp_path}\n")  # a new kernel
        name, folder = module.__name__, compiler.cache_dir() / "__pycache__"
    else:  # as numba's in-tree locator places the cache of gvcdyn/runtime.py
        folder = Path(compiler.runtime.__file__).resolve().parent / "__pycache__"
        folder.mkdir(exist_ok=True)
        name = f"runtime_race_{uuid.uuid4().hex}"
    a, b = _cache_file(name, folder), _cache_file(name, folder)
    index_read_by_b = b._load_index()  # both processes read the index before either saves
    monkeypatch.setattr(b, "_load_index", lambda: dict(index_read_by_b))
    save_data_of_a = a._save_data

    def a_writes_its_data_last(data_name: str, data: object) -> None:
        b.save("signature b", "code of b")  # b saves its index and data between a's steps
        save_data_of_a(data_name, data)

    monkeypatch.setattr(a, "_save_data", a_writes_its_data_last)
    try:
        a.save("signature a", "code of a")
        later = _cache_file(name, folder)  # a later process
        assert later.load("signature a") in (None, "code of a")
        assert later.load("signature b") in (None, "code of b")
        assert {later.load("signature a"), later.load("signature b")} != {None}
    finally:
        if ours == "gvcdyn module":
            for path in folder.glob(f"{name}.*"):
                path.unlink()


def test_other_functions_keep_numbas_numbering(tmp_path: Path) -> None:
    other = compiler._VerifiedCacheFile(str(tmp_path), "theirs.f-1.py311", b"stamp")
    other.save("signature", "code")
    assert sorted(p.name for p in tmp_path.glob("*.nbc")) == ["theirs.f-1.py311.1.nbc"]
