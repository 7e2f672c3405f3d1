"""The kernel cache: one compile per machine, never a file next to the user's model.

Every test points ``GVCDYN_CACHE_DIR`` at a fresh folder and writes a model whose text is
unique to the test (the kernel is keyed by content), so no test depends on the user
cache or on a kernel another test compiled. Recompilation is detected by numba's own
cache files and counters, never by timing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from mdl_helpers import write_mdl

import gvcdyn
from gvcdyn.backend.compiler import cache_dir

# Run by a new Python process: load, run both methods, report numba's cache counters and
# save the results so the parent can compare them with its own.
CHILD = """
import json, sys
import numpy as np
import gvcdyn
model = gvcdyn.load(sys.argv[1])
report = {}
for method in ("euler", "rk4"):
    ds = model.run({"k": [0.5, 1.5]}, method=method)
    np.save(sys.argv[2] + "_" + method + ".npy", ds["x"].values)
    stats = model.kernel(method).stats
    report[method] = {"hits": sum(stats.cache_hits.values()),
                      "misses": sum(stats.cache_misses.values())}
print(json.dumps(report))
"""


def _equations() -> str:
    tag = uuid.uuid4().hex  # unique model text, hence a kernel no other test compiled
    return f"""
k = 1
	~	1/Month
	~	Decay rate (cache test {tag}).
	|
x = INTEG(-k * x, 1)
	~	Widgets
	~		|
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty kernel cache for this test."""
    path = tmp_path / "kernel-cache"
    monkeypatch.setenv("GVCDYN_CACHE_DIR", str(path))
    return path


@pytest.fixture
def model_path(tmp_path: Path) -> Path:
    """A unique small model in its own folder (apart from the cache)."""
    folder = tmp_path / "user-models"
    folder.mkdir()
    return write_mdl(folder, _equations(), final_time=4, time_step=0.5, name="decay")


def _snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under ``folder``: modification time (ns) and contents."""
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_cache_dir_follows_environment(cache: Path) -> None:
    """GVCDYN_CACHE_DIR chooses where kernels go (and is created on demand)."""
    assert cache_dir() == cache
    assert cache.is_dir()


def test_same_process_reuses_module(cache: Path, model_path: Path) -> None:
    """Loading one model twice in a process gives the very same compiled kernels and
    writes one kernel source to the cache."""
    first = gvcdyn.load(model_path)
    a = first.run({"k": 0.5})
    second = gvcdyn.load(model_path)
    assert second.kernel("euler") is first.kernel("euler")
    assert second.kernel("rk4") is first.kernel("rk4")
    b = second.run({"k": 0.5})
    np.testing.assert_array_equal(a["x"].values, b["x"].values)
    kernels = list(cache.glob("*.py"))
    assert len(kernels) == 1
    assert kernels[0].read_text() == first.source


def test_new_process_does_not_recompile(cache: Path, model_path: Path, tmp_path: Path) -> None:
    """A second process loading and running a compiled model loads numba's cached machine
    code: its cache counters show hits and no misses, and no cache file changes."""
    env = {**os.environ, "GVCDYN_CACHE_DIR": str(cache)}

    def child(tag: str) -> dict[str, dict[str, int]]:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(model_path), str(tmp_path / tag)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    first = child("first")
    assert first == {m: {"hits": 0, "misses": 1} for m in ("euler", "rk4")}, first
    pycache = cache / "__pycache__"
    index_files = sorted(p.name for p in pycache.glob("*.nbi"))
    data_files = sorted(p.name for p in pycache.glob("*.nbc"))
    assert index_files and data_files
    before = _snapshot(cache)

    second = child("second")
    assert second == {m: {"hits": 1, "misses": 0} for m in ("euler", "rk4")}, second
    assert _snapshot(cache) == before  # nothing rewritten, nothing added

    for method in ("euler", "rk4"):
        np.testing.assert_array_equal(
            np.load(tmp_path / f"first_{method}.npy"), np.load(tmp_path / f"second_{method}.npy")
        )


def test_nothing_written_next_to_the_model(cache: Path, model_path: Path) -> None:
    """Loading and running a model leaves its folder as it was: only the .mdl file."""
    folder = model_path.parent
    before = _snapshot(folder)
    model = gvcdyn.load(model_path)
    model.run(method="euler")
    model.run(method="rk4")
    assert _snapshot(folder) == before
    assert sorted(p.name for p in folder.iterdir()) == ["decay.mdl"]
    assert any(cache.glob("*.py"))  # the kernel went to the cache instead


def test_changed_model_gets_a_new_kernel(cache: Path, model_path: Path) -> None:
    """Editing the model changes the kernel key: a second kernel file, new results."""
    old = gvcdyn.load(model_path)
    model_path.write_text(model_path.read_text().replace("-k * x", "-2 * k * x"))
    new = gvcdyn.load(model_path)
    assert new.kernel("euler") is not old.kernel("euler")
    assert len(list(cache.glob("*.py"))) == 2
    x_old = old.run()["x"].isel(run=0).values
    x_new = new.run()["x"].isel(run=0).values
    assert x_new[1] == pytest.approx(0.0) and x_old[1] == pytest.approx(0.5)


def test_is_compiled_tells_first_use_from_cached(cache: Path, tmp_path: Path) -> None:
    """compiler.is_compiled (the CLI's "compiling" vs "loading" hint) is False before the
    first run of a method and True after it, per method."""
    from gvcdyn.backend.compiler import is_compiled

    model = gvcdyn.load(write_mdl(tmp_path, _equations(), name="hint"))
    assert not is_compiled(model.source, "euler")
    model.run()
    assert is_compiled(model.source, "euler")
    assert not is_compiled(model.source, "rk4")


def test_the_hint_knows_an_adaptive_kernel(cache: Path, tmp_path: Path) -> None:
    """An adaptive method's kernel lives in a module of its own, per tolerance:
    kernel_message says "compiling" before its first run and "loading" after."""
    from gvcdyn.backend.compiler import kernel_message

    model = gvcdyn.load(write_mdl(tmp_path, _equations(), name="hint"))
    assert kernel_message(model, "rk23").startswith("compiling")
    model.run(method="rk23")
    assert kernel_message(model, "rk23").startswith("loading")
    assert kernel_message(model, "rk23:1e-7").startswith("compiling")
    assert kernel_message(model, "euler").startswith("compiling")


# --- trust: the cache is code (compiler module docstring) -----------------------------

# Unpickled, this writes the file named in the environment: a stand-in for planted code.
PLANT = """
import pathlib, pickle, sys
CODE = "open(__import__('os').environ['PLANTED_MARKER'], 'w').write('ran')"
class Planted:
    def __reduce__(self):
        return (eval, (CODE,))
version = pickle.dumps(sys.argv[2], protocol=-1)
pathlib.Path(sys.argv[1]).write_bytes(version + pickle.dumps(Planted(), protocol=-1))
"""


def _child(cache: Path, model_path: Path, out: Path, **env: str) -> dict[str, dict[str, int]]:
    """Run CHILD for the Euler kernel only (one compile) in a new process."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD.replace('("euler", "rk4")', '("euler",)'),
            str(model_path),
            str(out),
        ],
        env={**os.environ, "GVCDYN_CACHE_DIR": str(cache), **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_cache_folder_is_created_private(cache: Path) -> None:
    """A new cache folder is 0700: nobody else may read or plant kernels in it."""
    assert (cache_dir().stat().st_mode & 0o777) == 0o700


@pytest.mark.parametrize("mode", [0o775, 0o757, 0o777])
def test_cache_writable_by_others_is_refused(cache: Path, mode: int) -> None:
    """A cache folder others may write is refused before anything is read from it, with
    the command that fixes it."""
    from gvcdyn.errors import KernelCacheError

    cache.mkdir()
    cache.chmod(mode)
    with pytest.raises(KernelCacheError, match=rf"writable by .*chmod 700 {re.escape(str(cache))}"):
        cache_dir()


def test_cache_of_another_user_is_refused(
    cache: Path, model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache folder owned by another user (simulated: the compiler's notion of the
    current user changes) is refused with what to do, not a PermissionError traceback."""
    from gvcdyn.backend import compiler
    from gvcdyn.errors import KernelCacheError

    model = gvcdyn.load(model_path)
    model.run()  # compiled into the cache by its owner
    compiler._loaded.clear()
    monkeypatch.setattr(compiler, "_uid", lambda: os.geteuid() + 4242)
    with pytest.raises(KernelCacheError, match=r"belongs to another user.*GVCDYN_CACHE_DIR"):
        compiler.load_kernel_module(model.source)


def test_cli_refuses_a_world_writable_cache(tmp_path: Path, model_path: Path) -> None:
    """Through the console script: one line naming the folder and the fix, no traceback."""
    cache = tmp_path / "shared-cache"
    cache.mkdir()
    cache.chmod(0o777)
    done = subprocess.run(
        ["gvcdyn", "run", str(model_path)],
        env={**os.environ, "GVCDYN_CACHE_DIR": str(cache)},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: kernel cache") and f"chmod 700 {cache}" in lines[0]


def test_planted_pyc_is_never_run(cache: Path, model_path: Path, tmp_path: Path) -> None:
    """A ``.pyc`` beside the kernel source with a header that matches it (what an import
    would trust) is ignored: the kernel runs from the generated text."""
    import importlib._bootstrap_external as bootstrap
    import importlib.util

    from gvcdyn.backend.compiler import kernel_key

    model = gvcdyn.load(model_path)
    marker = tmp_path / "pyc-ran"
    name = f"gvcdyn_kernel_{kernel_key(model.source)}"
    source_file = cache_dir() / f"{name}.py"
    source_file.write_text(model.source)
    info = source_file.stat()
    planted = compile(f"open({str(marker)!r}, 'w').write('ran')\n", str(source_file), "exec")
    pyc = Path(importlib.util.cache_from_source(str(source_file)))
    pyc.parent.mkdir(exist_ok=True)
    pyc.write_bytes(bootstrap._code_to_timestamp_pyc(planted, info.st_mtime, info.st_size))
    x = model.run({"k": 0.5})["x"].isel(run=0).values
    assert not marker.exists()
    assert x[1] == pytest.approx(1 - 0.5 * 0.5)


@pytest.mark.slow
def test_planted_index_is_never_unpickled(cache: Path, model_path: Path, tmp_path: Path) -> None:
    """numba index files replaced by pickles that run code (with numba's own version
    header, so plain numba would unpickle them) are ignored: the next process compiles
    again, runs nothing planted, gets the same results, and its files are then reused."""
    first = _child(cache, model_path, tmp_path / "first")
    indexes = sorted((cache / "__pycache__").glob("*.nbi"))
    assert indexes
    import numba

    for index in indexes:
        subprocess.run(
            [sys.executable, "-c", PLANT, str(index), numba.__version__], check=True, timeout=60
        )
    marker = tmp_path / "planted-ran"
    second = _child(cache, model_path, tmp_path / "second", PLANTED_MARKER=str(marker))
    assert not marker.exists()
    assert second == first == {"euler": {"hits": 0, "misses": 1}}
    third = _child(cache, model_path, tmp_path / "third", PLANTED_MARKER=str(marker))
    assert third == {"euler": {"hits": 1, "misses": 0}}
    np.testing.assert_array_equal(
        np.load(tmp_path / "first_euler.npy"), np.load(tmp_path / "second_euler.npy")
    )


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncate-data", "garbage-index", "foreign-owner"])
def test_damaged_cache_files_are_recompiled(
    cache: Path, model_path: Path, tmp_path: Path, damage: str
) -> None:
    """A truncated data file, an index of garbage or a file another user owns (chown needs
    root; otherwise its mode makes it group-writable, which is refused the same way) is
    treated as absent: the kernel compiles again (no UnpicklingError), and the next
    process loads the repaired cache."""
    _child(cache, model_path, tmp_path / "first")
    pycache = cache / "__pycache__"
    if damage == "truncate-data":
        for data in pycache.glob("*.nbc"):
            data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    elif damage == "garbage-index":
        for index in pycache.glob("*.nbi"):
            index.write_bytes(os.urandom(200))
    else:
        for index in pycache.glob("*.nbi"):
            if os.geteuid() == 0:
                os.chown(index, 4242, 4242)
            else:
                index.chmod(0o664)
    second = _child(cache, model_path, tmp_path / "second")
    assert second == {"euler": {"hits": 0, "misses": 1}}
    third = _child(cache, model_path, tmp_path / "third")
    assert third == {"euler": {"hits": 1, "misses": 0}}
    np.testing.assert_array_equal(
        np.load(tmp_path / "first_euler.npy"), np.load(tmp_path / "third_euler.npy")
    )


@pytest.mark.slow
def test_every_numba_file_of_a_split_kernel_is_verified(
    cache: Path, model_path: Path, tmp_path: Path
) -> None:
    """A split kernel's parts are numba C functions compiled by the runtime, not by the
    module: their cache files too carry gvcdyn's verified header, and a new process loads
    them all."""
    from gvcdyn.backend import compiler

    first = _child(cache, model_path, tmp_path / "first", GVCDYN_KERNEL_SPLIT="always")
    files = sorted((cache / "__pycache__").glob("*.nb[ic]"))
    parts = [f for f in files if ".batch_" not in f.name and ".simulate_" not in f.name]
    assert parts, [f.name for f in files]  # the C functions of the parts have their own
    assert all(f.read_bytes().startswith(compiler._MAGIC) for f in files)
    before = _snapshot(cache)
    second = _child(cache, model_path, tmp_path / "second", GVCDYN_KERNEL_SPLIT="always")
    assert first == {"euler": {"hits": 0, "misses": 1}}
    assert second == {"euler": {"hits": 1, "misses": 0}}
    assert _snapshot(cache) == before  # every file was accepted: nothing compiled again
