"""A streamed job's chunks reach the disk as they are written, not when the file closes.

netCDF's default chunk cache (64 MiB per variable) held every chunk of a streamed job in
memory until the end: 100,000 runs x 41 times x 5 variables kept all 164 MB and the
temporary file stayed empty. ``NetCDFSink`` now bounds each variable's cache to about
two of its chunks, so what is in memory does not grow with the number of runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from gvcdyn.execute import NetCDFSink, TimeSeriesLayout

N_RUNS, N_TIMES, ROWS = 60_000, 41, 5_000
NAMES = ["a", "b", "c", "d", "e"]


def _chunks() -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Chunks of 4,000 runs: they straddle the file's chunks of 5,000 rows."""
    rng = np.random.default_rng(7)
    out = []
    for start in range(0, N_RUNS, 4_000):
        n = min(4_000, N_RUNS - start)
        out.append((start, rng.random((n, len(NAMES) * N_TIMES)), np.zeros(n, dtype=np.int64)))
    return out


def _sink(path: Path) -> NetCDFSink:
    labels = np.array([f"run {i} of a sweep" for i in range(N_RUNS)])
    return NetCDFSink(
        path,
        N_RUNS,
        layout=TimeSeriesLayout(NAMES, np.arange(float(N_TIMES))),
        parameters=["p", "q"],
        X=np.arange(2.0 * N_RUNS).reshape(N_RUNS, 2),
        extra={"scenario": (("run",), labels, {"description": "labels"})},
        rows_per_block=ROWS,
    )


def test_chunks_are_on_disk_before_the_file_closes(tmp_path: Path) -> None:
    sink = _sink(tmp_path / "out.nc")
    chunks = _chunks()
    for start, Y, status in reversed(chunks):  # in any order, as dask finishes them
        sink.write(start, Y, status)
    data_bytes = N_RUNS * N_TIMES * len(NAMES) * 8  # 98 MB
    on_disk = sink._out.tmp.stat().st_size
    assert on_disk > 0.8 * data_bytes  # before: 0 bytes until close()
    path = sink.close()
    with xr.open_dataset(path) as ds:
        for start, Y, _ in chunks:
            rows = slice(start, start + len(Y))
            for j, name in enumerate(NAMES):
                block = Y[:, j * N_TIMES : (j + 1) * N_TIMES]
                np.testing.assert_array_equal(ds[name].values[rows], block)
        assert (ds["status"].values == 0).all()
        assert ds["scenario"].values[12_345] == "run 12345 of a sweep"
        np.testing.assert_array_equal(
            ds["parameter_value"].values[-1], [2.0 * N_RUNS - 2, 2.0 * N_RUNS - 1]
        )


def test_opening_the_file_leaves_the_labels_on_disk(tmp_path: Path) -> None:
    """xarray decodes a netCDF string variable whole when it opens the file (1,000,000
    labels: 600 MiB); the per-run labels are UTF-8 characters instead, read only when
    asked for, and come back as the same strings (non-ASCII and empty ones too)."""
    import tracemalloc

    labels = _labels()
    path = _labelled_file(tmp_path / "labels.nc", labels, np.zeros(len(labels), dtype=np.int64))
    tracemalloc.start()
    try:
        with xr.open_dataset(path) as ds:
            opened = tracemalloc.get_traced_memory()[1]
            assert "scenario" in ds.coords
            assert ds["scenario"].attrs == {"description": "label of each run"}
            head = ds["scenario"].isel(run=slice(0, 4)).values.tolist()
            assert head == labels[:4].tolist()
            assert ds["scenario"].values.tolist() == labels.tolist()
    finally:
        tracemalloc.stop()
    assert opened < 4 * 2**20  # before: 200,000 x 4 bytes x 28 characters and more (> 22 MB)


def _labels(n: int = 200_000) -> np.ndarray:
    labels = np.array([f"growth={i / 7:g}, size=é{i % 3}" for i in range(n)], dtype=object)
    labels[1], labels[2] = "", "ünïcode ☃"
    return labels


def _labelled_file(path: Path, labels: np.ndarray, status: np.ndarray) -> Path:
    n = len(labels)
    sink = NetCDFSink(
        path,
        n,
        outcomes=["y"],
        attrs={"coordinates": "scenario"},
        extra={"scenario": (("run",), labels, {"description": "label of each run"})},
    )
    sink.write(0, np.zeros((n, 1)), status)
    return sink.close()


def test_the_status_report_reads_only_the_labels_it_prints(tmp_path: Path, monkeypatch) -> None:
    """``gvcdyn run`` warns about the runs that did not finish, by label, from the file
    it streamed: it reads those labels, not all of them (200,000 labels: > 22 MB)."""
    import io
    import tracemalloc

    from gvcdyn.cli import common
    from gvcdyn.cli.whatif import _report_status

    labels = _labels()
    status = np.zeros(len(labels), dtype=np.int64)
    status[[2, 7, *range(100, 110)]] = 1
    path = _labelled_file(tmp_path / "status.nc", labels, status)
    printed = io.StringIO()
    monkeypatch.setattr(common.err, "file", printed)
    with xr.open_dataset(path) as ds:
        tracemalloc.start()
        try:
            _report_status(ds)
            used = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    text = printed.getvalue()
    assert "run 'ünïcode ☃'" in text and f"run {labels[107]!r}" in text
    assert f"run {labels[108]!r}" not in text and "2 more runs did not finish" in text
    assert used < 12 * 2**20  # before: every label decoded (200,000 of them)
