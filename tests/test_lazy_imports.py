"""A cold build imports only what it uses (issue 21), and PySD still works when asked for.

Reading, compiling and running a model (``gvcdyn.load``, ``Model.simulate``) needs PySD's
translator, not its runtime, and builds no table or Dataset: pandas, xarray, openpyxl and
PySD's runtime (about 0.35 s of CPU per process) stay unimported. One import added at a
module's top would undo that silently, hence the first test. PySD's package ``__init__``
is deferred (``gvcdyn.language.pysd_package``); the others check that PySD, asked for
later in the same process, is the whole PySD, with the translator loaded only once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from gvcdyn.language.frontend import declared_encoding
from gvcdyn.language.pysd_package import _DeferredPackage, defer_init

REPO = Path(__file__).resolve().parents[1]
TEACUP = REPO / "tests" / "sd-test-models" / "teacup" / "teacup.mdl"
#: what a cold build does not use: the runtime of PySD and what it imports
UNUSED = ("xarray", "pandas", "openpyxl", "pysd.pysd", "pysd.py_backend", "matplotlib", "dask")


def _python(code: str, tmp_path: Path) -> str:
    """Run ``code`` in a fresh interpreter (an empty kernel cache); its standard output."""
    env = dict(os.environ, GVCDYN_CACHE_DIR=str(tmp_path / "cache"), NUMBA_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_a_cold_build_imports_neither_pandas_nor_xarray_nor_pysd_runtime(tmp_path) -> None:
    out = _python(
        f"""
        import sys
        import gvcdyn
        model = gvcdyn.load({str(TEACUP)!r})
        raw = model.simulate(model.defaults()[None, :])
        assert raw.status.tolist() == [0], raw.status
        print(",".join(m for m in {UNUSED!r} if m in sys.modules))
        print("pysd.translators.vensim.vensim_file" in sys.modules)
        """,
        tmp_path,
    )
    imported, translator = out.split("\n")[:2]
    assert imported == "", f"a cold build imported {imported}"
    assert translator == "True", "the test did not translate with PySD"


def test_pysd_asked_for_after_a_translation_is_whole(tmp_path) -> None:
    copy = tmp_path / "teacup.mdl"  # PySD writes its .py beside the model
    copy.write_bytes(TEACUP.read_bytes())
    out = _python(
        f"""
        import sys
        import gvcdyn
        model = gvcdyn.load({str(copy)!r})
        translator = sys.modules["pysd.translators.vensim.vensim_file"]
        import pysd
        from pysd import load
        from pysd.translators.vensim import vensim_file
        assert "read_vensim" in dir(pysd) and load is pysd.load
        # one copy of the translator: the package's attribute is the module gvcdyn used
        assert pysd.translators.vensim.vensim_file is vensim_file is translator
        frame = pysd.read_vensim({str(copy)!r}).run()
        theirs = float(frame["Teacup Temperature"].iloc[-1])
        ours = float(model.run()["Teacup Temperature"].values[0, -1])
        print(pysd.__version__, repr(theirs), repr(ours))
        """,
        tmp_path,
    )
    version, theirs, ours = out.split()
    assert version.startswith("3.")
    assert float(theirs) == pytest.approx(float(ours), rel=1e-12)  # the same Euler steps


def _package(root: Path, name: str, init: str) -> None:
    (root / name).mkdir()
    (root / name / "__init__.py").write_text(init)
    (root / name / "sub.py").write_text("VALUE = 7\n")


def test_a_deferred_package_runs_its_init_once_when_a_name_is_asked(tmp_path, monkeypatch):
    name = "gvcdyn_deferred_ok"
    _package(tmp_path, name, "import builtins\nbuiltins.RUNS_OK += 1\nX = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("builtins.RUNS_OK", 0, raising=False)
    monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.delitem(sys.modules, f"{name}.sub", raising=False)
    import builtins

    defer_init(name)
    module = sys.modules[name]
    assert type(module) is _DeferredPackage
    from gvcdyn_deferred_ok.sub import VALUE  # type: ignore[import-not-found]

    assert VALUE == 7 and builtins.RUNS_OK == 0  # a submodule without the __init__
    assert module.X == 1 and builtins.RUNS_OK == 1
    assert type(module) is not _DeferredPackage and module.sub.VALUE == 7
    with pytest.raises(AttributeError):
        module.missing  # noqa: B018
    assert builtins.RUNS_OK == 1
    defer_init(name)  # imported already: left alone
    assert sys.modules[name] is module


def test_threads_asking_at_once_wait_for_the_one_init(tmp_path, monkeypatch):
    """As a second ``import`` waits for the first: a thread asking while another runs the
    ``__init__`` gets the name once it is defined, not an AttributeError of a half-made
    module. The ``__init__``'s own lookups of names it has not defined yet are ordinary
    misses (here ``hasattr``), not a second run."""
    name = "gvcdyn_deferred_slow"
    _package(
        tmp_path,
        name,
        "import builtins, sys, time\n"
        "builtins.RUNS_SLOW += 1\n"
        "EARLY = hasattr(sys.modules[__name__], 'X')\n"
        "time.sleep(0.3)  # the other threads ask meanwhile\n"
        "X = 1\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("builtins.RUNS_SLOW", 0, raising=False)
    monkeypatch.delitem(sys.modules, name, raising=False)
    import builtins

    defer_init(name)
    module = sys.modules[name]
    start = threading.Barrier(4)
    found: list[object] = []

    def ask() -> None:
        start.wait(10)
        try:
            found.append(module.X)
        except AttributeError as exc:
            found.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert found == [1, 1, 1, 1]
    assert builtins.RUNS_SLOW == 1 and module.EARLY is False


def test_a_deferred_init_that_fails_fails_again_on_the_next_lookup(tmp_path, monkeypatch):
    name = "gvcdyn_deferred_bad"
    _package(tmp_path, name, "raise ImportError('a dependency is missing')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    defer_init(name)
    module = sys.modules[name]
    for _ in range(2):  # as a failed import fails again on the next import
        with pytest.raises(ImportError, match="a dependency is missing"):
            module.X  # noqa: B018
    assert type(module) is _DeferredPackage
    defer_init("gvcdyn_no_such_package_anywhere")  # not installed: nothing registered
    assert "gvcdyn_no_such_package_anywhere" not in sys.modules


@pytest.mark.parametrize(
    "first_line",
    [
        b"{UTF-8}\n",
        b"{UTF-8}\r\n",
        b"{windows-1252}\n",
        b"{UTF-8} {extra}\n",  # PySD takes from the first '{' to the last '}'
        b"{UTF-8}",  # the whole file on one line
        b"no mark here\n",
        b"\n",
        b"\xef\xbb\xbf{UTF-8}\n",  # a byte-order mark: PySD's own guess
        b"{ISO-8859-1} caf\xe9\n",  # not ASCII: PySD's own guess
    ],
)
def test_the_declared_encoding_is_pysds_reading(first_line, tmp_path) -> None:
    """Where gvcdyn reads the ``{...}`` mark itself, it reads what PySD's detector does;
    elsewhere it leaves the file to PySD (None)."""
    from pysd.translators.vensim import vensim_utils

    path = tmp_path / "m.mdl"
    path.write_bytes(first_line + b"x = 1\n~~|\n")
    found = declared_encoding(path.read_bytes())
    if found is not None:
        assert found == vensim_utils._detect_encoding_from_file(path)
    expected_read_here = first_line.isascii() and b"{" in first_line
    assert (found is not None) == expected_read_here
