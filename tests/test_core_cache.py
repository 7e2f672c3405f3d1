"""The kernel cache: one compile per machine, never a file next to the user's model.

Every test points ``GVCDYN_CACHE_DIR`` at a fresh folder and writes a model whose text is
unique to the test (the kernel is keyed by content), so no test depends on the user
cache or on a kernel another test compiled. Recompilation is detected by numba's own
cache files and counters, never by timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from mdl_helpers import write_mdl

import gvcdyn
from gvcdyn.compiler import cache_dir

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
    from gvcdyn.compiler import is_compiled

    model = gvcdyn.load(write_mdl(tmp_path, _equations(), name="hint"))
    assert not is_compiled(model.source, "euler")
    model.run()
    assert is_compiled(model.source, "euler")
    assert not is_compiled(model.source, "rk4")
