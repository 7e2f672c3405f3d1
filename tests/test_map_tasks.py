"""``map_tasks``: heterogeneous tasks through the executors, saved as plain data.

A task's item and result are plain data (dicts, lists, strings, numbers, numpy arrays),
so a checkpoint saves them whole and exactly (no fixed-width record cutting a message,
no index carried as a float), as data (no pickle), and a resume takes every finished
task from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from recording_progress import Recorder

from gvcdyn.errors import CheckpointError, JobInterrupted
from gvcdyn.execute import Checkpoint, Execution, fingerprint, map_tasks
from gvcdyn.execute.checkpoint import decode_plain, encode_plain

ITEMS = [{"index": i, "x": np.linspace(0.0, 1.0, 3) * i, "label": f"task {i}"} for i in range(5)]


class Describe:
    """A task: a result of every plain kind, with a message longer than 200 characters."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.stop_at = stop_at
        self.calls: list[int] = []

    def identity(self) -> dict:
        """What decides its numbers (Execution fingerprints a checkpoint by it)."""
        return {"task": "describe"}

    def __call__(self, item: dict) -> dict:
        self.calls.append(item["index"])
        if item["index"] == self.stop_at:
            raise KeyboardInterrupt  # as Ctrl-C
        return {
            "index": item["index"],
            "total": float(item["x"].sum()) / 3.0,  # not a short decimal: bits must survive
            "square": item["x"] ** 2,
            "ok": item["index"] % 2 == 0,
            "message": f"{item['label']}: " + "é, a long explanation " * 40,
            "nested": [{"n": np.int64(item["index"])}, None, (1, 2)],
        }


def _expected() -> list[dict]:
    return [Describe()(item) for item in ITEMS]


def _same(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x["index"] == y["index"] and x["total"] == y["total"]
        assert x["square"].tobytes() == y["square"].tobytes()
        assert x["ok"] is y["ok"] and x["message"] == y["message"]
        assert len(y["message"]) > 200
        assert y["nested"] == [{"n": int(x["index"])}, None, [1, 2]]


def test_results_come_back_in_item_order_and_are_counted() -> None:
    progress = Recorder()
    results = map_tasks(Describe(), ITEMS, chunk_size=2, progress=progress, description="t")
    _same(_expected(), results)
    assert [(t.description, t.total, t.steps) for t in progress.tasks] == [("t", 5, [2, 2, 1])]


def test_a_batched_function_gets_each_chunk_whole() -> None:
    seen = []

    def batch(items: list[int]) -> list[int]:
        seen.append(list(items))
        return [i * 10 for i in items]

    assert map_tasks(batch, list(range(5)), chunk_size=3, batched=True) == [0, 10, 20, 30, 40]
    assert seen == [[0, 1, 2], [3, 4]]


def _checkpoint(output: Path, *, resume: bool = False) -> Checkpoint:
    fp = fingerprint(model="m", config={"job": "test"}, seed=1, n_runs=5, chunk_size=1, items=ITEMS)
    return Checkpoint.open(output, fp, resume=resume, resume_command="again")


def test_an_interrupted_job_resumes_with_its_saved_results_whole(tmp_path: Path) -> None:
    output = tmp_path / "out.nc"
    with pytest.raises(JobInterrupted, match="3 of 5 chunks are saved"):
        map_tasks(Describe(stop_at=3), ITEMS, checkpoint=_checkpoint(output))
    again = Describe()
    results = map_tasks(again, ITEMS, checkpoint=_checkpoint(output, resume=True))
    assert again.calls == [3, 4]  # only the tasks not finished before
    _same(_expected(), results)
    assert not (tmp_path / "out.nc.job").exists()  # all in: removed (not kept)


def test_a_resume_with_other_items_is_refused(tmp_path: Path) -> None:
    output = tmp_path / "out.nc"
    with pytest.raises(JobInterrupted):
        map_tasks(Describe(stop_at=1), ITEMS, checkpoint=_checkpoint(output))
    other = [dict(item, label="other") for item in ITEMS]
    fp = fingerprint(model="m", config={"job": "test"}, seed=1, n_runs=5, chunk_size=1, items=other)
    with pytest.raises(CheckpointError, match="the parameter sets to run changed"):
        Checkpoint.open(output, fp, resume=True)


@dataclass
class _Opaque:
    value: object


def test_a_result_that_is_not_plain_data_is_refused(tmp_path: Path) -> None:
    """Saved or not: a job's results are the same whether they came from a checkpoint."""
    with pytest.raises(CheckpointError, match=r"plain data .* got a object"):
        map_tasks(lambda item: {"x": object()}, ITEMS, checkpoint=_checkpoint(tmp_path / "o"))
    with pytest.raises(CheckpointError, match=r"plain data .* got a object"):
        map_tasks(lambda item: {"x": object()}, ITEMS)


def test_dataclasses_are_saved_as_their_fields() -> None:
    arrays: dict[str, np.ndarray] = {}
    plain = encode_plain(_Opaque([np.arange(3), "text"]), arrays)
    back = decode_plain(plain, arrays)
    assert back["value"][1] == "text" and np.array_equal(back["value"][0], np.arange(3))


def test_execution_map_tasks_fingerprints_the_items(tmp_path: Path) -> None:
    execution = Execution(output=tmp_path / "out.nc", keep_checkpoint=True)
    config = {"job": "test"}
    assert execution.map_tasks(Describe(), ITEMS, config=config, seed=3)[4]["index"] == 4
    assert (tmp_path / "out.nc.job").is_dir()  # kept until the caller writes its output
    again = Execution(output=tmp_path / "out.nc", resume=True)
    none_run = Describe()
    _same(_expected(), again.map_tasks(none_run, ITEMS, config=config, seed=3))
    assert none_run.calls == []
