"""A resume refused for a changed configuration says "the configuration changed" once.

The job's own settings (``config``: N, bounds...) and the computation's settings (its
method, time grid, outputs) are both "the configuration"; a resume after both changed
listed the headline twice ("the configuration changed: 'N' was 8, now 16; the
configuration changed: integration method was ..."). They are one list now.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gvcdyn.errors import CheckpointError
from gvcdyn.execute.checkpoint import Checkpoint, fingerprint


def _fp(n: int, method: str):
    X = np.zeros((4, 2))
    computation = {"method": method, "outputs": ["Stock"]}
    return fingerprint(
        model="m", config={"N": n}, seed=1, n_runs=4, chunk_size=2, X=X, computation=computation
    )


def test_config_and_computation_changes_share_one_headline(tmp_path: Path) -> None:
    out = tmp_path / "out.nc"
    Checkpoint.open(out, _fp(8, "euler")).release()
    with pytest.raises(CheckpointError) as refused:
        Checkpoint.open(out, _fp(16, "rk4"), resume=True)
    said = str(refused.value)
    assert said.count("the configuration changed") == 1, said
    assert "'N' was 8, now 16" in said and "integration method was euler, now rk4" in said
