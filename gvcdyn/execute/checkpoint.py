"""Finished chunks on disk, so that an interrupted job loses only the chunks in flight.

A job's checkpoint is a folder next to its requested output (``results/sa.nc`` ->
``results/sa.nc.job/``) holding a manifest, one file per finished chunk, the chunks'
SHA-256 digests (``chunks.sha256``, ``sha256sum -c`` reads it) and a lock file. Every
file is written through ``gvcdyn.io.atomic``, so a job killed at any instant leaves either
a whole chunk or none.

- The manifest records a fingerprint of everything that decides the result: the
  computation's identity (``gvcdyn.identity``: model and kernel source, data files,
  method, time grid, the whole fixed parameter row, outputs), the job's settings, seed,
  chunking and the design itself. A resume with any of it changed is refused with a
  message that names each changed field with its old and new value, because mixing
  chunks of two different jobs would be a silently wrong result.
- A chunk is used only if its bytes match the digest recorded as it was saved; one that
  does not (altered, replaced, a float32 copy) is computed again, with a warning naming
  the file: it can be recomputed exactly from the fingerprinted inputs, so discarding it
  costs only its runs and never mixes numbers.
- A running job holds an ``fcntl.flock`` on ``lock`` in its folder (released when it
  ends, also when it is killed): a second job writing to the same output is refused as
  running, instead of being told to resume it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import socket
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gvcdyn.errors import CheckpointError
from gvcdyn.io.atomic import AtomicFile, atomic_write_bytes
from gvcdyn.limits import update_hash

__all__ = [
    "Checkpoint",
    "Fingerprint",
    "Seed",
    "as_plain",
    "checkpoint_dir",
    "decode_plain",
    "encode_plain",
    "fingerprint",
    "job_checkpoints",
    "refuse_unfinished_job",
    "release_checkpoints",
    "remove_checkpoints",
]

_FORMAT = 2  # 2: the computation's identity and the chunks' digests (1: neither)
#: a job's random seed, or the seeds of its tasks (a calibration's starts), or none
Seed = int | tuple[int, ...] | None
_CHUNK_FILE = re.compile(r"^chunk-(\d{6,})\.npz$")
_DIGESTS = "chunks.sha256"
_LOCK = "lock"
#: lock files of the job folders this process holds, by resolved folder
_HELD: dict[Path, int] = {}


@dataclass(frozen=True)
class Fingerprint:
    """What a job's result depends on, each part hashed so that a mismatch can be named."""

    model: str
    config: str
    seed: str
    chunking: str
    inputs: str
    computation: str = "{}"  # gvcdyn.identity of the job's function, canonical JSON

    @property
    def digest(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def fingerprint(
    *,
    model: str,
    config: Mapping[str, Any] | None,
    seed: Seed,
    n_runs: int,
    chunk_size: int,
    X: np.ndarray | None = None,
    times: np.ndarray | None = None,
    computation: Mapping[str, Any] | None = None,
    items: Sequence[Any] | None = None,
) -> Fingerprint:
    """Fingerprint of a chunked job.

    ``model`` is the model's content hash (``model.ir.source_hash``); ``config`` is any
    JSON-able description of the job's settings (N, bounds...); ``computation`` is the
    job function's ``identity()`` (``gvcdyn.identity``: kernel source, data files,
    method, time grid, fixed parameters, outputs). ``Execution.checkpoint`` fills
    ``model`` and ``computation`` from the function itself; a caller of this low-level
    form must pass them. The job's inputs are a parameter matrix ``X`` (``map_runs``)
    or a list of plain ``items`` (``map_tasks``; see ``encode_plain``).
    """
    return Fingerprint(
        model=str(model),
        config=_canonical(dict(config or {})),
        seed=_canonical(seed),
        chunking=f"{n_runs} runs in chunks of {chunk_size}",
        inputs=_inputs_digest(X, times, items),
        computation=_canonical(dict(computation or {})),
    )


def _inputs_digest(
    X: np.ndarray | None, times: np.ndarray | None, items: Sequence[Any] | None
) -> str:
    inputs = hashlib.sha256()
    if items is not None:  # a task list: its plain encoding, arrays by their bytes
        arrays: dict[str, np.ndarray] = {}
        inputs.update(json.dumps(encode_plain(list(items), arrays), sort_keys=True).encode())
        for key, array in arrays.items():
            inputs.update(f"{key} {array.dtype.str} {array.shape}".encode())
            inputs.update(np.ascontiguousarray(array).tobytes())
        return inputs.hexdigest()[:24]
    if X is None:
        raise CheckpointError("a job's fingerprint needs its parameter matrix X or its items")
    update_hash(inputs, X)  # in blocks of rows: no copy of a design of several GiB
    inputs.update(repr(X.shape).encode())
    if times is not None:
        inputs.update(np.ascontiguousarray(times, dtype=np.float64).tobytes())
    return inputs.hexdigest()[:24]


#: the key of a saved task chunk's plain values (JSON) beside its arrays
_PLAIN = "plain"


def encode_plain(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    """``value`` as JSON-able data, its numpy arrays moved into ``arrays`` (by key).

    A task's items and results are plain data: dicts with string keys, lists and
    tuples (read back as lists), strings, numbers, booleans, None and numpy arrays;
    dataclasses are taken as the dict of their fields. A checkpoint then saves them as
    data, never as code (no pickle), whole (a message of any length), and floats
    exactly (JSON writes the shortest repr that reads back to the same bits).
    """
    if isinstance(value, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"__array__": key}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise CheckpointError(f"a task's dict keys must be strings, got {list(value)[:5]}")
        if "__array__" in value:
            raise CheckpointError("'__array__' is reserved in a task's results")
        return {k: encode_plain(v, arrays) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode_plain(v, arrays) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise CheckpointError(
        f"a task's items and results must be plain data (dicts, lists, strings, numbers, "
        f"numpy arrays, dataclasses of them); got a {type(value).__name__}"
    )


def decode_plain(value: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    """The data ``encode_plain`` encoded (lists for tuples, dicts for dataclasses)."""
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            return arrays[value["__array__"]]
        return {k: decode_plain(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_plain(v, arrays) for v in value]
    return value


def as_plain(value: Any) -> Any:
    """``value`` as a checkpoint gives it back (tuples as lists, dataclasses as dicts,
    numpy scalars as Python numbers): what ``map_tasks`` returns, saved or not."""
    arrays: dict[str, np.ndarray] = {}
    return decode_plain(json.loads(json.dumps(encode_plain(value, arrays))), arrays)


def checkpoint_dir(output: str | Path) -> Path:
    """The checkpoint folder of a job whose result goes to ``output``."""
    output = Path(output)
    return output.with_name(output.name + ".job")


def job_checkpoints(output: str | Path) -> list[Path]:
    """Every checkpoint folder of the job written to ``output``, sorted: its own
    (``<output>.job/``) and its steps' (``<output>.<step>.job/``, as calibrate keeps)."""
    output = Path(output)
    steps = output.parent.glob(f"{glob.escape(output.name)}.*.job")
    return sorted({*steps, *([checkpoint_dir(output)] if checkpoint_dir(output).exists() else [])})


def remove_checkpoints(output: str | Path) -> None:
    """Delete the job's checkpoints: call it once ``output`` is written (atomically), never
    before, so that a failed write (disk full, an error in the analysis) loses no runs."""
    for folder in job_checkpoints(output):
        shutil.rmtree(folder, ignore_errors=True)
        _unlock(folder)


def release_checkpoints(output: str | Path) -> None:
    """Let another process resume the job written to ``output``: release the locks this
    process holds on its checkpoint folders, which are kept. A process releases them
    when it ends (also when killed) or removes the folders; a long-lived one (a
    notebook) whose job failed after its runs were all in calls this instead."""
    for folder in job_checkpoints(output):
        _unlock(folder)


def refuse_unfinished_job(
    output: str | Path, *, resume: bool, resume_command: str | None = None
) -> None:
    """Refuse to start over a job whose checkpoint waits beside ``output`` (it holds
    someone's unfinished work), or to run beside a job that is running now (with
    ``resume`` too: two jobs would write the same chunks). Callers that start workers
    call it before them."""
    waiting = job_checkpoints(output)
    for folder in waiting:
        _refuse_if_running(folder, resume_command)
    if resume:
        return
    if waiting:
        how = _how_to_resume(_recorded_command(waiting[0]) or resume_command)
        raise CheckpointError(
            f"{waiting[0]} holds an unfinished job; {how}, or delete that folder to start over"
        )


def _how_to_resume(resume_command: str | None) -> str:
    """In the caller's words: the command line that resumes, or the library argument."""
    return f"continue it with: {resume_command}" if resume_command else "pass resume=True"


def _recorded_command(folder: Path) -> str:
    """The command line that resumes the job saved in ``folder``, as its manifest
    recorded it ("" if none): the job waiting there may be another command's (a
    sensitivity study where a sweep now writes), whose resume this command is not."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        return str(json.loads((folder / "manifest.json").read_text()).get("resume_command", ""))
    return ""


def recorded_seed(output: str | Path) -> int | None:
    """The random seed the job waiting beside ``output`` was drawn with, as its manifest
    recorded it (:func:`fingerprint`), or None: no job, an unreadable manifest (opening
    the job says which), or no single integer seed (a calibration's seeds per start)."""
    manifest = checkpoint_dir(output) / "manifest.json"
    try:
        seed = json.loads(json.loads(manifest.read_text())["fingerprint"]["seed"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


def _locked(folder: Path, resume_command: str | None, *, record: bool = True) -> bool:
    """Take the lock of a job folder for this process: True if taken now, False if this
    process held it already; a ``CheckpointError`` if another process holds it (or the
    lock cannot be taken). ``record``: write this process's id into the lock file."""
    key = folder.resolve()
    if key in _HELD:
        return False
    try:
        fd = os.open(folder / _LOCK, (os.O_RDWR | os.O_CREAT) if record else os.O_RDONLY, 0o666)
    except OSError as exc:
        raise CheckpointError(f"cannot lock {folder / _LOCK}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = _holder(fd)
        os.close(fd)
        if isinstance(exc, BlockingIOError):
            raise CheckpointError(_running(folder, holder, resume_command)) from None
        raise CheckpointError(f"cannot lock {folder / _LOCK}: {exc.strerror or exc}") from None
    if record:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"process {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
    _HELD[key] = fd
    return True


def _unlock(folder: Path) -> None:
    """Release this process's lock of a job folder (no-op if it holds none)."""
    with contextlib.suppress(OSError):
        fd = _HELD.pop(folder.resolve(), None)
        if fd is not None:
            os.close(fd)


def _refuse_if_running(folder: Path, resume_command: str | None) -> None:
    """A ``CheckpointError`` if another process holds the job folder's lock."""
    if folder.resolve() in _HELD or not (folder / _LOCK).is_file():
        return
    if _locked(folder, resume_command, record=False):
        _unlock(folder)


def _holder(fd: int) -> str:
    with contextlib.suppress(OSError):
        return os.pread(fd, 200, 0).decode(errors="replace").strip()
    return ""


def _running(folder: Path, holder: str, resume_command: str | None) -> str:
    who = f" ({holder})" if holder else ""
    then = f"; if it was stopped, continue it with: {resume_command}" if resume_command else ""
    return (
        f"{folder} belongs to a job that is running now{who}: two jobs cannot write the "
        f"same output. Wait for it to finish, or stop it first{then}"
    )


class Checkpoint:
    """The checkpoint folder of one job: manifest, finished chunks and their digests.

    ``Checkpoint.open(output, fp, resume=...)`` creates it, or reopens it when resuming,
    and takes its lock (a job running in another process is refused). Without
    ``resume`` an existing folder is an error (it holds someone's unfinished work); with
    ``resume`` a folder of another job (different fingerprint) is an error.
    ``keep``: the folder outlives ``map_runs`` until whoever writes the job's output
    calls ``remove_checkpoints(output)`` after writing it (the commands do); otherwise
    ``map_runs`` deletes it once the result is in its sink.
    """

    def __init__(
        self, path: Path, fp: Fingerprint, resume_command: str | None, *, keep: bool = False
    ) -> None:
        self.path = path
        self.fingerprint = fp
        self.resume_command = resume_command
        self.keep = keep

    @classmethod
    def open(
        cls,
        output: str | Path,
        fp: Fingerprint,
        *,
        resume: bool = False,
        resume_command: str | None = None,
        keep: bool = False,
    ) -> Checkpoint:
        path = checkpoint_dir(output)
        manifest = path / "manifest.json"
        existed = path.exists()
        path.mkdir(parents=True, exist_ok=True)
        taken = _locked(path, resume_command)  # first: a running job is not "unfinished"
        try:
            if existed and not resume:
                how = _how_to_resume(_recorded_command(path) or resume_command)
                raise CheckpointError(
                    f"{path} holds an unfinished job; {how}, or delete that folder to start over"
                )
            if resume and manifest.is_file():
                cls._check_same_job(manifest, fp)
            elif resume and existed:
                raise CheckpointError(f"{path} has no manifest.json; delete it to start over")
        except BaseException:
            if taken:
                _unlock(path)
            if not existed:
                shutil.rmtree(path, ignore_errors=True)
            raise
        for stale in path.glob(".*.tmp"):  # a write cut short by a kill (we hold the lock)
            stale.unlink(missing_ok=True)
        checkpoint = cls(path, fp, resume_command, keep=keep)
        if not manifest.is_file():
            body = {
                "format": _FORMAT,
                "fingerprint": asdict(fp),
                "digest": fp.digest,
                "resume_command": resume_command or "",
            }
            atomic_write_bytes(manifest, json.dumps(body, indent=2).encode())
        return checkpoint

    @staticmethod
    def _check_same_job(manifest: Path, fp: Fingerprint) -> None:
        try:
            body = json.loads(manifest.read_text())
            saved = body["fingerprint"]
            made_by = body.get("format")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(
                f"{manifest}: unreadable checkpoint manifest ({exc}); delete "
                f"{manifest.parent} to start over"
            ) from None
        if made_by != _FORMAT:
            raise CheckpointError(
                f"{manifest.parent} was made by an older gvcdyn (checkpoint format "
                f"{made_by}, this gvcdyn writes {_FORMAT}), which did not record everything "
                "a resume must check; delete that folder and rerun the job"
            )
        changes = _differences(saved, asdict(fp))
        if changes:
            raise CheckpointError(
                f"cannot resume the job in {manifest.parent}: {'; '.join(changes)}. Rerun "
                "with the original model, data files, settings and seed, or delete that "
                "folder to start over"
            )

    def check_job(
        self,
        X: np.ndarray | None,
        times: np.ndarray | None,
        chunk_size: int,
        *,
        items: Sequence[Any] | None = None,
    ) -> None:
        """Refuse to run a job other than the one fingerprinted: a chunk file holds rows
        (or tasks) by chunk index, so another chunking or other inputs would mix them
        silently."""
        n = len(items) if items is not None else len(X)
        now = fingerprint(
            model="",
            config=None,
            seed=None,
            n_runs=n,
            chunk_size=chunk_size,
            X=X,
            times=times,
            items=items,
        )
        for key, what in (("chunking", "chunking"), ("inputs", "parameter sets")):
            if getattr(now, key) != getattr(self.fingerprint, key):
                raise CheckpointError(
                    f"the job run with checkpoint {self.path} is not the one it was opened "
                    f"for: its {what} differ ({getattr(now, key)} vs "
                    f"{getattr(self.fingerprint, key)}); pass the same X (or items) and "
                    "chunk_size to fingerprint() and map_runs() (or map_tasks())"
                )

    def check_function(self, f: Any) -> None:
        """Refuse to run a function whose identity is not the fingerprinted one (when
        both say what they are): its numbers would not be the saved chunks'."""
        identity = getattr(f, "identity", None)
        if self.fingerprint.computation == "{}" or not callable(identity):
            return
        changes = _differences(
            {"computation": self.fingerprint.computation},
            {"computation": _canonical(dict(identity()))},
        )
        if changes:
            raise CheckpointError(
                f"the function run with checkpoint {self.path} is not the one it was opened "
                f"for: {'; '.join(changes)}"
            )

    # ------------------------------------------------------------------ chunks
    def chunk_path(self, index: int) -> Path:
        return self.path / f"chunk-{index:06d}.npz"

    def finished(self) -> list[int]:
        """Indices of the chunks saved so far."""
        found = (_CHUNK_FILE.match(p.name) for p in self.path.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def save(self, index: int, Y: np.ndarray, status: np.ndarray) -> None:
        """Save one finished chunk of runs (see ``_save``)."""
        self._save(index, {"Y": Y, "status": status})

    def save_tasks(self, index: int, results: Sequence[Any]) -> None:
        """Save one finished chunk of tasks: their plain results (``encode_plain``)."""
        arrays: dict[str, np.ndarray] = {}
        plain = json.dumps(encode_plain(list(results), arrays))
        self._save(index, {**arrays, _PLAIN: np.array(plain)})

    def _save(self, index: int, arrays: Mapping[str, np.ndarray]) -> None:
        """Save one finished chunk atomically, its digest recorded first: a chunk file is
        never in place without the digest it must match. (The digest file is not flushed
        to disk on its own: a digest lost in a power cut makes its chunk run again.)"""
        path = self.chunk_path(index)
        with AtomicFile(path, clean_stale=False) as out:  # open() cleaned the folder
            with open(out.tmp, "wb") as handle:
                np.savez(handle, **arrays)
            with open(out.tmp, "rb") as handle:  # from the page cache
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
            fd = os.open(self.path / _DIGESTS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                os.write(fd, f"{digest}  {path.name}\n".encode())
            finally:
                os.close(fd)

    def digests(self) -> dict[str, str]:
        """``{chunk file name: sha256}`` as recorded when each chunk was saved (the last
        record of a file wins: a chunk saved again after a kill)."""
        try:
            text = (self.path / _DIGESTS).read_text(errors="replace")
        except FileNotFoundError:
            return {}
        found = {}
        for line in text.splitlines():
            digest, _, name = line.partition("  ")
            if len(digest) == 64 and _CHUNK_FILE.match(name):
                found[name] = digest
        return found

    def load(
        self, index: int, digests: Mapping[str, str] | None = None
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """A saved chunk of runs ``(Y, status)``, or None (see ``_load``)."""
        arrays = self._load(index, digests, ("Y", "status"))
        return None if arrays is None else (arrays["Y"], arrays["status"])

    def load_tasks(self, index: int, digests: Mapping[str, str] | None = None) -> list | None:
        """A saved chunk of tasks' results, as ``save_tasks`` got them, or None."""
        arrays = self._load(index, digests, (_PLAIN,))
        if arrays is None:
            return None
        return decode_plain(json.loads(str(arrays.pop(_PLAIN))), arrays)

    def _load(
        self, index: int, digests: Mapping[str, str] | None, needed: tuple[str, ...]
    ) -> dict[str, np.ndarray] | None:
        """A saved chunk's arrays, or None if its file is unreadable, lacks one of
        ``needed`` or does not match its recorded digest (it is then deleted and computed
        again, with a warning naming it)."""
        path = self.chunk_path(index)
        recorded = (self.digests() if digests is None else digests).get(path.name)
        try:
            with open(path, "rb") as handle:
                actual = hashlib.file_digest(handle, "sha256").hexdigest()
                if actual == recorded:
                    handle.seek(0)
                    with np.load(handle, allow_pickle=False) as saved:
                        arrays = {key: saved[key] for key in saved.files}
                    if all(key in arrays for key in needed):
                        return arrays
                    raise KeyError(needed)
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)
            return None
        why = "has no recorded digest" if recorded is None else "does not match its digest"
        warnings.warn(
            f"{path} {why} in {_DIGESTS} (altered or replaced after it was saved); "
            "its runs are computed again",
            stacklevel=2,
        )
        path.unlink(missing_ok=True)
        return None

    def remove(self) -> None:
        """Delete the folder once the job's output is safely written."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.release()

    def release(self) -> None:
        """Let another process resume this job (it no longer runs here)."""
        _unlock(self.path)

    def all_in(self) -> None:
        """Every run is in the sink: delete the folder, unless it is kept until the
        job's output is written (``keep``; see ``remove_checkpoints``)."""
        if not self.keep:
            self.remove()

    def interrupted_message(self, n_done: int, n_chunks: int) -> str:
        command = self.resume_command or "the same call with resume=True"
        return (
            f"interrupted: {n_done} of {n_chunks} chunks are saved in {self.path}; "
            f"resume with: {command}"
        )


#: what a change of each fingerprint field means, in the refusal's words
_HEADLINES = {
    "model": "the model changed (its .mdl file's sha256)",
    "config": "the configuration changed",
    "seed": "the seed changed",
    "chunking": "the chunking changed",
    "inputs": "the parameter sets to run changed",
}
#: the computation's parts (gvcdyn.identity): headline and the name of one part
_COMPUTATION = {
    "model_sha256": ("the model changed", ".mdl file sha256"),
    "kernel_sha256": ("the model changed", "generated kernel sha256"),
    "data_files": ("a data file of the model changed", "data file"),
    "gvcdyn": ("gvcdyn changed", "gvcdyn version"),
    "method": ("the configuration changed", "integration method"),
    "time_grid": ("the configuration changed", "time grid"),
    "fixed_parameters": ("the configuration changed", "fixed parameter"),
    "varied_parameters": ("the configuration changed", "varied parameters"),
    "outputs": ("the configuration changed", "outputs"),
}
_MAX_LISTED = 5  # differences named per field; the rest are counted


def _differences(saved: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """Each field that differs, named, with its old and new value (shortened); one
    headline each ("the configuration changed" gathers the config's and the computation's
    settings)."""
    by_headline: dict[str, list[str]] = {}
    for key, headline in _HEADLINES.items():
        if saved.get(key) == now.get(key):
            continue
        if key == "config":
            parts = _dict_changes(_json(saved.get(key)), _json(now.get(key)), "")
        else:
            was, new = _short(saved.get(key), quote=False), _short(now[key], quote=False)
            parts = [f"was {was}, now {new}"]
        by_headline.setdefault(headline, []).extend(parts)
    if saved.get("computation") != now.get("computation"):
        old, new = _json(saved.get("computation")), _json(now.get("computation"))
        explained = any(old.get(k) != new.get(k) for k in ("model_sha256", "data_files", "gvcdyn"))
        said = {"model_sha256"} if saved.get("model") != now.get("model") else set()
        if explained:  # the kernel changed because of them: name them, not it
            said.add("kernel_sha256")
        found_any = False
        for part, (headline, name) in _COMPUTATION.items():
            if part in said or _same(old.get(part), new.get(part)):
                continue
            a, b = old.get(part), new.get(part)
            if isinstance(a, dict) and isinstance(b, dict):
                found = _dict_changes(a, b, f"{name} ")
            else:
                found = [f"{name} was {_short(a)}, now {_short(b)}"]
            by_headline.setdefault(headline, []).extend(found)
            found_any = True
        if not found_any:  # a part this gvcdyn does not know
            by_headline["the computation changed"] = ["its identity differs"]
    return [f"{headline}: {_listed(parts)}" for headline, parts in by_headline.items()]


def _dict_changes(old: Mapping[str, Any], new: Mapping[str, Any], name: str) -> list[str]:
    """``name'key' was A, now B`` for each key whose value differs (absent: '(none)')."""
    found = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key, _ABSENT), new.get(key, _ABSENT)
        if _same(a, b):
            continue
        if isinstance(a, str) and isinstance(b, str) and ("\n" in a or "\n" in b):
            found.append(f"{name}{key!r} {_line_change(a, b)}")  # a file's text
        else:
            found.append(f"{name}{key!r} was {_short(a)}, now {_short(b)}")
    return found


def _line_change(old: str, new: str) -> str:
    """The first line where two texts (a config or mapping file recorded whole) differ:
    their starts, shortened, read the same whatever changed further down."""
    a, b = old.splitlines(), new.splitlines()
    i = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    was = _short(a[i]) if i < len(a) else "(no such line)"
    now = _short(b[i]) if i < len(b) else "(no such line)"
    return f"line {i + 1} was {was}, now {now}"


def _listed(parts: list[str]) -> str:
    more = len(parts) - _MAX_LISTED
    return ", ".join(parts[:_MAX_LISTED]) + (f" (and {more} more)" if more > 0 else "")


_ABSENT = object()


def _same(a: Any, b: Any) -> bool:
    """Equal as recorded (NaN equals NaN: compared as JSON)."""
    return _canonical(a) == _canonical(b) if a is not _ABSENT and b is not _ABSENT else a is b


def _json(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return {"": text}
    return value if isinstance(value, dict) else {"": value}


def _short(value: Any, limit: int = 48, *, quote: bool = True) -> str:
    """A value as the message shows it: whole when short, else its start and end; text
    other than one word (a method, a hash) in quotes, unless ``quote`` is False (a
    fingerprint's own fields: JSON or gvcdyn's words already)."""
    if value is _ABSENT or value is None:
        return "(none)"
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if quote and isinstance(value, str) and not re.fullmatch(r"[\w.+-]*", value):
        text = json.dumps(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 14]}...{text[-11:]}"
