"""Writing a file so that its name never holds a partial file: the one writer gvcdyn uses.

Results, checkpoint chunks and manifests, streamed sweeps (and anything else that must
not be half-written when a job is killed) go through :class:`AtomicFile`:

1. the data go to a temporary file in the target's folder, ``.NAME.PID-RANDOM.tmp``
   (same folder: the rename below is atomic; hidden: a listing shows no half file);
2. it is flushed to disk (``fsync``) and given the mode of any new file (0666 less the
   umask, or ``mode``), not ``mkstemp``'s 0600;
3. it is renamed over NAME, and the folder is flushed so that the rename survives a
   power cut;
4. on an error or Ctrl-C the temporary file is removed. One left by a killed process
   (SIGKILL, power cut) is removed when the next write of the same NAME starts, unless
   the process named in it is still alive (it may be writing NAME right now).

This module imports nothing of gvcdyn, so any module can use it.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path

__all__ = ["AtomicFile", "atomic_write", "atomic_write_bytes", "remove_stale_temps"]

_TEMP = re.compile(r"^\.(?P<name>.+)\.(?:(?P<pid>\d+)-)?[A-Za-z0-9_]+\.tmp$")


class AtomicFile:
    """A temporary file beside ``path`` (``self.tmp``) that becomes ``path`` on
    :meth:`commit`, or vanishes on :meth:`discard`. Write to ``self.tmp`` by name (the
    netCDF libraries open files by name). As a context manager: commits when the block
    ends normally, discards when it raises. ``clean_stale=False`` skips the scan of the
    folder for stale temporary files of ``path`` (a job folder of many chunk files is
    cleaned once, when the job opens it).
    """

    def __init__(
        self, path: str | Path, *, mode: int | None = None, clean_stale: bool = True
    ) -> None:
        self.path = Path(path)
        if clean_stale:  # off where the caller cleans the folder itself (job folders)
            remove_stale_temps(self.path)
        self.tmp, self.mode = _create_temp(self.path)
        if mode is not None:
            self.mode = mode
        self.done = False

    def commit(self) -> Path:
        """Flush the temporary file to disk, give it its mode and rename it into place."""
        try:
            with open(self.tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.chmod(self.tmp, self.mode)
            os.replace(self.tmp, self.path)
        except BaseException:
            self.discard()
            raise
        self.done = True
        _fsync_folder(self.path.parent)
        return self.path

    def discard(self) -> None:
        """Remove the temporary file (``path`` is left as it was)."""
        self.done = True
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        if self.done:
            return
        if kind is None:
            self.commit()
        else:
            self.discard()


def atomic_write(
    path: str | Path, write: Callable[[Path], None], *, mode: int | None = None
) -> Path:
    """Call ``write(tmp)`` to write a temporary file beside ``path``, then put it in place
    (see the module's steps); on any error ``path`` is untouched and ``tmp`` is gone."""
    with AtomicFile(path, mode=mode) as file:
        write(file.tmp)
    return file.path


def atomic_write_bytes(path: str | Path, data: bytes, *, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data), mode=mode)


def remove_stale_temps(path: str | Path) -> list[Path]:
    """Remove the temporary files of writes of ``path`` cut short by a killed process:
    those of a process that no longer runs, and those without a process id (written by
    gvcdyn before it named them). Returns what was removed."""
    path = Path(path)
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            found = _TEMP.match(entry.name)
            if not found or found["name"] != path.name:
                continue
            pid = found["pid"]
            if pid is not None and (int(pid) == os.getpid() or _alive(int(pid))):
                continue
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _create_temp(path: Path) -> tuple[Path, int]:
    """A new empty temporary file beside ``path`` and the mode a new file gets here (the
    kernel applies the umask to 0666 as the file is created: no umask call, no race)."""
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        try:
            mode = os.fstat(fd).st_mode & 0o777
        finally:
            os.close(fd)
        return tmp, mode
    raise FileExistsError(f"no free temporary name beside {path}")


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (the rename) to disk, where the system allows it."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True
