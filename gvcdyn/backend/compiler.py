"""Compile generated kernel source once per machine, cached by content, running nothing
that was not verified.

Layout. The kernel cache folder (``$GVCDYN_CACHE_DIR``, default
``~/.cache/gvcdyn/kernels``) holds ``gvcdyn_kernel_<key>.py``, the generated source under
a name derived from the hash of that source and of gvcdyn's runtime, and numba's cache of
its machine code in ``__pycache__``: per function an index (``.nbi``) and data files
(``.nbc``), both pickles. Unpickling runs code, so a cache file is as dangerous as a
Python file, and the cache is treated as code:

- **Who may write it.** The folder (and its ``__pycache__``) must belong to the current
  user and be writable by nobody else; anything else is refused with a message that says
  how to fix it (``chmod 700``, or a folder of one's own in ``$GVCDYN_CACHE_DIR``).
  Folders gvcdyn creates are 0700 and files it writes 0600. A cache of another user is
  refused too, even a read-only one: running its code would trust that user, so each
  user (each worker account) compiles into its own cache (docs/security.md).
- **What runs.** The module is never imported from the folder (an import would prefer a
  ``.pyc`` there to the checked source): its code object is compiled from the source text
  gvcdyn generated in memory and executed into a fresh module. The ``.py`` file is
  written only because numba's cache keys and tracebacks need a real file.
- **What is unpickled.** The functions of a kernel module read and write their numba
  cache files through :class:`_VerifiedCacheFile`, installed in place of numba's
  ``IndexDataCacheFile`` (numba's ``Cache`` looks the class up by name when it builds a
  cache; every other numba cache keeps numba's own class). Each file gvcdyn writes starts
  with a header: a magic line, the SHA-256 of the kernel source the file belongs to and
  the SHA-256 of the pickle that follows. Before unpickling, the file must be a regular
  file (no symlink) owned by the user and writable by nobody else, and its header must
  name this kernel's source and the digest of the bytes read; the very bytes checked are
  unpickled. A file that fails (planted, truncated, garbage, written by plain numba or an
  older gvcdyn, another kernel's file renamed) is ignored: numba compiles again and
  overwrites it, so a damaged cache repairs itself.

The digests live beside the data in the same folder, so they prove integrity and
provenance format, not authorship: whoever can write the folder can forge them. Authorship
rests on the folder's ownership and permissions, which is why those are enforced.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import os
import pickle
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numba
from numba.core import caching

from gvcdyn import runtime
from gvcdyn.backend import adaptive
from gvcdyn.backend.lever_names import cache_root
from gvcdyn.errors import GvcdynError, KernelCacheError

_loaded: dict[str, ModuleType] = {}
_MODULE_PREFIX = "gvcdyn_kernel_"
_MAGIC = b"gvcdyn numba cache v1\n"
_DIGEST = 32  # bytes of a SHA-256 digest


def _uid() -> int:
    """The user whose cache this process may use (a seam for tests of "another user")."""
    return os.geteuid()


def cache_dir() -> Path:
    """Where compiled kernels live: ``$GVCDYN_CACHE_DIR`` or the user cache directory.

    Created 0700 if missing; refused (:class:`KernelCacheError`) if it belongs to another
    user or others may write to it.
    """
    path = cache_root()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise KernelCacheError(
            f"cannot create the kernel cache {path}: {exc.strerror or exc}; "
            "set GVCDYN_CACHE_DIR to a folder of your own"
        ) from None
    _check_folder(path)
    return path


def _check_folder(path: Path) -> None:
    """Refuse a cache folder another user owns or others may write (they could plant code)."""
    try:
        info = path.stat()
    except OSError as exc:
        raise KernelCacheError(
            f"cannot use the kernel cache {path}: {exc.strerror or exc}; "
            "set GVCDYN_CACHE_DIR to a folder of your own"
        ) from None
    if not stat.S_ISDIR(info.st_mode):
        raise KernelCacheError(
            f"kernel cache {path} is not a folder; set GVCDYN_CACHE_DIR to a folder of your own"
        )
    if info.st_uid != _uid():
        raise KernelCacheError(
            f"kernel cache {path} belongs to another user (uid {info.st_uid}) and gvcdyn runs "
            "compiled code only from a cache you own: set GVCDYN_CACHE_DIR to a folder of "
            "your own (each user compiles once; see docs/security.md)"
        )
    writers = [
        w
        for bit, w in ((stat.S_IWGRP, "its group"), (stat.S_IWOTH, "others"))
        if info.st_mode & bit
    ]
    if writers:
        raise KernelCacheError(
            f"kernel cache {path} is writable by {' and '.join(writers)}, who could plant code "
            f"gvcdyn would run: chmod 700 {path} (or set GVCDYN_CACHE_DIR to a folder only "
            "you can write)"
        )


def kernel_key(source: str) -> str:
    """Content hash of a kernel: its source, the runtime helpers and the numba version."""
    digest = hashlib.sha256()
    digest.update(source.encode())
    digest.update(Path(runtime.__file__).read_bytes())
    digest.update(numba.__version__.encode())
    return digest.hexdigest()[:24]


def is_compiled(source: str, method: str) -> bool:
    """Whether numba's disk cache already holds the batch kernel of ``source`` for ``method``.

    Lets a front end say "compiling (first use)" or "loading" while the user waits; it
    reads numba's cache index names, so it is a hint, never a promise.
    """
    name = method.partition(":")[0]  # an adaptive method's tolerance is in its source
    key = f"{_MODULE_PREFIX}{kernel_key(source)}"
    # either kernel of a method: the one saving state cells only has a name of its own
    patterns = [f"{key}.batch_{name}-*.nbi", f"{key}.batch_{name}_states-*.nbi"]
    try:
        return any(any((cache_dir() / "__pycache__").glob(p)) for p in patterns)
    except (OSError, KernelCacheError):
        return False


def kernel_message(model: Any, method: str) -> str:
    """What running ``model`` with ``method`` will do first, for a progress stage:
    compile, or load a cached kernel (``is_compiled``: a hint, never a promise). An
    adaptive method's kernel has a module of its own (``gvcdyn.backend.adaptive``)."""
    source = model.source
    if adaptive.is_adaptive(method):
        # a bad method or model: the run says so, not the hint
        with contextlib.suppress(GvcdynError):
            source = adaptive.generate(model.ir, method)
    if is_compiled(source, method):
        return f"loading the compiled {method} kernel and running"
    return f"compiling {method} kernel (first use of this model, cached afterwards)"


@contextlib.contextmanager
def compile_headroom(limit: int = 50_000) -> Iterator[None]:
    """Raise Python's recursion limit while numba may compile a kernel.

    numba's SSA pass recurses along control-flow paths; a large generated kernel (many
    IF THEN ELSE branches, unrolled subscripts) exceeds the default limit of 1,000.
    """
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def load_kernel_module(source: str) -> ModuleType:
    """The kernel module of ``source``: executed from that text (never imported from the
    cache), its numba cache files verified before they are read (module docstring)."""
    key = kernel_key(source)
    if key in _loaded:
        return _loaded[key]
    folder = cache_dir()
    numba_folder = folder / "__pycache__"
    numba_folder.mkdir(mode=0o700, exist_ok=True)
    _check_folder(numba_folder)
    name = f"{_MODULE_PREFIX}{key}"
    path = folder / f"{name}.py"
    text = source.encode()
    if _read_or_none(path) != text:
        _write_atomic(path, text)
    _install_verified_cache_files()
    _kernels[name] = _Kernel(numba_folder, hashlib.sha256(text).digest())
    module = ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    exec(compile(text, str(path), "exec"), module.__dict__)  # the text generated, in memory
    _loaded[key] = module
    return module


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` as ``path``, 0600; a concurrent reader sees no file or the whole file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@dataclasses.dataclass(frozen=True)
class _Kernel:
    """A loaded kernel module's numba cache: its folder and the digest of its source."""

    folder: Path
    source_digest: bytes


_kernels: dict[str, _Kernel] = {}  # module name -> its cache, for _VerifiedCacheFile
_PACKAGE = Path(runtime.__file__).resolve().parent  # gvcdyn/, whose numba caches are ours
_install_lock = threading.Lock()


class _VerifiedCacheFile(caching.IndexDataCacheFile):
    """numba's index and data files, verified before unpickling for kernel modules.

    For any other function it is numba's ``IndexDataCacheFile`` unchanged, but for the
    data file names of gvcdyn's own functions (:meth:`save`). For a function
    of a kernel module (its file name starts with the module's name), every file is
    written with a header (magic, digest of the kernel source, digest of the payload) and
    read only if the header and the file's owner and mode check out; otherwise it counts
    as absent, so numba compiles again and overwrites it.
    """

    def __init__(self, cache_path: str, filename_base: str, source_stamp: Any) -> None:
        kernel = _kernels.get(filename_base.split(".", 1)[0])
        if kernel is not None:
            cache_path = str(kernel.folder)  # wherever numba's locator pointed
            source_stamp = kernel.source_digest  # numba's stamp of the file: the same bytes
        super().__init__(cache_path, filename_base, source_stamp)
        self._kernel = kernel
        # gvcdyn's own cached functions (runtime helpers, likelihood), in-tree
        self._ours = kernel is not None or Path(cache_path).resolve().is_relative_to(_PACKAGE)

    def save(self, key: Any, data: Any) -> None:
        """numba's ``save``, with the data file named after ``key`` for gvcdyn's functions.

        numba numbers a function's data files in the order of the index it read, so two
        processes adding different signatures at once (a runtime helper takes tuples of
        any length; test workers, dask workers) can each write file N while the index
        that wins names the other's signature: every later process would run one
        signature's machine code for the other. Named after its key, a data file holds
        that key's code only; the race can then lose an index entry, which compiles again.
        """
        if not self._ours:
            super().save(key, data)
            return
        overloads = self._load_index()
        data_name = overloads.get(key)
        if data_name is None:
            number = int.from_bytes(hashlib.sha256(repr(key).encode()).digest()[:7])
            data_name = self._data_name(number)  # numba's pattern wants a number
            overloads[key] = data_name
            self._save_index(overloads)
        self._save_data(data_name, data)

    def _load_index(self) -> dict:
        if self._kernel is None:
            return super()._load_index()
        payload = self._read_verified(self._index_path)
        if payload is None:
            return {}
        try:
            stream = io.BytesIO(payload)
            version = pickle.load(stream)
            if version != self._version:
                return {}
            stamp, overloads = pickle.loads(stream.read())
        except Exception:  # verified, so written by us: another format of ours
            return {}
        return overloads if stamp == self._source_stamp else {}

    def _save_index(self, overloads: dict) -> None:
        if self._kernel is None:
            super()._save_index(overloads)
            return
        payload = pickle.dumps(self._version, protocol=-1)
        payload += self._dump((self._source_stamp, overloads))
        self._write_verified(self._index_path, payload)

    def _load_data(self, name: str) -> Any:
        if self._kernel is None:
            return super()._load_data(name)
        path = self._data_path(name)
        payload = self._read_verified(path)
        if payload is None:  # numba's load() reads OSError as "not cached": it compiles
            raise FileNotFoundError(f"no verified numba cache file {path}")
        try:
            return pickle.loads(payload)
        except Exception as exc:
            raise FileNotFoundError(f"unreadable numba cache file {path}: {exc}") from None

    def _save_data(self, name: str, data: Any) -> None:
        if self._kernel is None:
            super()._save_data(name, data)
            return
        self._write_verified(self._data_path(name), self._dump(data))

    def _header(self, payload: bytes) -> bytes:
        assert self._kernel is not None
        return _MAGIC + self._kernel.source_digest + hashlib.sha256(payload).digest()

    def _write_verified(self, path: str, payload: bytes) -> None:
        _write_atomic(Path(path), self._header(payload) + payload)

    def _read_verified(self, path: str) -> bytes | None:
        """The payload of ``path`` if it is a file we wrote for this kernel, else None."""
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:  # missing, or a symlink
            return None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if (
                not stat.S_ISREG(info.st_mode)
                or info.st_uid != _uid()
                or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
            ):
                return None
            blob = handle.read()
        start = len(_MAGIC) + 2 * _DIGEST
        payload = blob[start:]
        if blob[:start] != self._header(payload):
            return None
        return payload


def _install_verified_cache_files() -> None:
    """Make numba build every function cache's files with :class:`_VerifiedCacheFile`."""
    with _install_lock:
        if caching.IndexDataCacheFile is not _VerifiedCacheFile:
            caching.IndexDataCacheFile = _VerifiedCacheFile  # type: ignore[misc]
