"""Finished chunks on disk, so that an interrupted job loses only the chunks in flight.

A job's checkpoint is a folder next to its requested output (``results/sa.nc`` ->
``results/sa.nc.job/``) holding a manifest and one file per finished chunk. Every file is
written to a temporary name and renamed into place, so a job killed at any instant
leaves either a whole chunk or none. The manifest records a fingerprint of everything
that determines the result (model hash, configuration, seed, chunking and the inputs
themselves): resuming with a changed model, config or seed is refused with a message
that says what changed, because mixing chunks of two different jobs would be a silently
wrong result.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gvcdyn.errors import CheckpointError
from gvcdyn.limits import update_hash

__all__ = [
    "Checkpoint",
    "Fingerprint",
    "Seed",
    "checkpoint_dir",
    "fingerprint",
    "job_checkpoints",
    "refuse_unfinished_job",
    "remove_checkpoints",
]

_FORMAT = 1
#: a job's random seed, or the seeds of its tasks (a calibration's starts), or none
Seed = int | tuple[int, ...] | None
_CHUNK_FILE = re.compile(r"^chunk-(\d{6,})\.npz$")


@dataclass(frozen=True)
class Fingerprint:
    """What a job's result depends on, each part hashed so that a mismatch can be named."""

    model: str
    config: str
    seed: str
    chunking: str
    inputs: str

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
    X: np.ndarray,
    times: np.ndarray | None = None,
) -> Fingerprint:
    """Fingerprint of a chunked job.

    ``model`` is the model's content hash (``model.ir.source_hash``); ``config`` is any
    JSON-able description of the job's settings (method, outcomes, bounds, N...).
    """
    inputs = hashlib.sha256()
    update_hash(inputs, X)  # in blocks of rows: no copy of a design of several GiB
    inputs.update(repr(X.shape).encode())
    if times is not None:
        inputs.update(np.ascontiguousarray(times, dtype=np.float64).tobytes())
    return Fingerprint(
        model=str(model),
        config=_canonical(dict(config or {})),
        seed=_canonical(seed),
        chunking=f"{n_runs} runs in chunks of {chunk_size}",
        inputs=inputs.hexdigest()[:24],
    )


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


def refuse_unfinished_job(
    output: str | Path, *, resume: bool, resume_command: str | None = None
) -> None:
    """Refuse to start over a job whose checkpoint waits beside ``output`` (it holds
    someone's unfinished work). Callers that start workers call it before them."""
    if resume:
        return
    waiting = job_checkpoints(output)
    if waiting:
        how = _how_to_resume(resume_command)
        raise CheckpointError(
            f"{waiting[0]} holds an unfinished job; {how}, or delete that folder to start over"
        )


def _how_to_resume(resume_command: str | None) -> str:
    """In the caller's words: the command line that resumes, or the library argument."""
    return f"continue it with: {resume_command}" if resume_command else "pass resume=True"


def _atomic_write(path: Path, write: Any) -> None:
    """Write through ``write(handle)`` to a temporary file in the same folder, then rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Checkpoint:
    """The checkpoint folder of one job: manifest plus finished chunks.

    ``Checkpoint.open(output, fp, resume=...)`` creates it, or reopens it when resuming.
    Without ``resume`` an existing folder is an error (it holds someone's unfinished
    work); with ``resume`` a folder of another job (different fingerprint) is an error.
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
        if path.exists() and not resume:
            how = _how_to_resume(resume_command)
            raise CheckpointError(
                f"{path} holds an unfinished job; {how}, or delete that folder to start over"
            )
        if resume and manifest.is_file():
            cls._check_same_job(manifest, fp)
        elif resume and path.exists():
            raise CheckpointError(f"{path} has no manifest.json; delete it to start over")
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob(".*.tmp"):  # a write cut short by a kill
            stale.unlink(missing_ok=True)
        checkpoint = cls(path, fp, resume_command, keep=keep)
        if not manifest.is_file():
            body = {
                "format": _FORMAT,
                "fingerprint": asdict(fp),
                "digest": fp.digest,
                "resume_command": resume_command or "",
            }
            text = json.dumps(body, indent=2).encode()
            _atomic_write(manifest, lambda handle: handle.write(text))
        return checkpoint

    @staticmethod
    def _check_same_job(manifest: Path, fp: Fingerprint) -> None:
        try:
            saved = json.loads(manifest.read_text())["fingerprint"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(
                f"{manifest}: unreadable checkpoint manifest ({exc}); delete "
                f"{manifest.parent} to start over"
            ) from None
        now = asdict(fp)
        what = {
            "model": "the model changed (its content hash differs)",
            "config": "the configuration changed",
            "seed": "the seed changed",
            "chunking": "the chunking changed",
            "inputs": "the parameter sets to run changed",
        }
        changed = [key for key in what if saved.get(key) != now[key]]
        if changed:
            details = "; ".join(
                f"{what[key]}: was {_short(saved.get(key))}, now {_short(now[key])}"
                for key in changed
            )
            raise CheckpointError(
                f"cannot resume the job in {manifest.parent}: {details}. Rerun with the "
                "original model, config and seed, or delete that folder to start over"
            )

    def check_job(self, X: np.ndarray, times: np.ndarray | None, chunk_size: int) -> None:
        """Refuse to run a job other than the one fingerprinted: a chunk file holds rows
        by chunk index, so another chunking or other inputs would mix rows silently."""
        now = fingerprint(
            model="", config=None, seed=None, n_runs=len(X), chunk_size=chunk_size, X=X, times=times
        )
        for key, what in (("chunking", "chunking"), ("inputs", "parameter sets")):
            if getattr(now, key) != getattr(self.fingerprint, key):
                raise CheckpointError(
                    f"the job run with checkpoint {self.path} is not the one it was opened "
                    f"for: its {what} differ ({getattr(now, key)} vs "
                    f"{getattr(self.fingerprint, key)}); pass the same X and chunk_size to "
                    "fingerprint() and map_runs()"
                )

    # ------------------------------------------------------------------ chunks
    def chunk_path(self, index: int) -> Path:
        return self.path / f"chunk-{index:06d}.npz"

    def finished(self) -> list[int]:
        """Indices of the chunks saved so far."""
        found = (_CHUNK_FILE.match(p.name) for p in self.path.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def save(self, index: int, Y: np.ndarray, status: np.ndarray) -> None:
        """Save one finished chunk atomically."""
        _atomic_write(self.chunk_path(index), lambda handle: np.savez(handle, Y=Y, status=status))

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray] | None:
        """A saved chunk, or None if its file is unreadable (it is then computed again)."""
        try:
            with np.load(self.chunk_path(index), allow_pickle=False) as data:
                return data["Y"], data["status"]
        except (OSError, ValueError, KeyError):
            self.chunk_path(index).unlink(missing_ok=True)
            return None

    def remove(self) -> None:
        """Delete the folder once the job's output is safely written."""
        shutil.rmtree(self.path, ignore_errors=True)

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


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."
