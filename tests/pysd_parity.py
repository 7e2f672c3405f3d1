"""Test helper: a gvcdyn batch against PySD run by run, with the library's own comparator."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pysd
import xarray as xr

from gvcdyn.io.reference import compare_frames, dataset_columns


def assert_runs_match_pysd(
    ds: xr.Dataset,
    path: Path,
    runs: Sequence[Mapping[str, Any]],
    *,
    rtol: float,
    atol: float = 0.0,
) -> None:
    """Run ``ds``'s model in PySD with the parameters of each of ``runs`` and require every
    column gvcdyn reports for that run to match PySD's at every time (NaN by NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = pysd.read_vensim(str(path))
        references = [model.run(params=dict(params)) for params in runs]
    for run, (params, reference) in enumerate(zip(runs, references, strict=True)):
        time, columns = dataset_columns(ds, run=run)
        result = compare_frames(columns, reference, time=time, rtol=rtol, atol=atol)
        assert result.passed, f"run {run} {dict(params)}: {result.summary()}"
        assert result.n_compared_columns == len(columns), f"run {run}: {result.summary()}"
        assert not result.missing_times, f"run {run}: {result.summary()}"
