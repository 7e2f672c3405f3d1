"""A study given no seed resumes with the seed it was drawn with.

Interrupted, a study prints the command that resumes it: the same arguments plus
``--resume``. Without ``--seed`` that command drew a fresh seed, was refused as another
job ("the seed changed"), and the finished chunks could be used only by guessing the seed
from the manifest. The resume now takes the seed the job recorded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gvcdyn
from gvcdyn.errors import JobInterrupted
from gvcdyn.execute import Execution
from gvcdyn.sensitivity import study as sens

ISHIGAMI = Path(__file__).parent / "models" / "ishigami.mdl"
N = 16  # 16 * (3 + 2) = 80 runs, chunks of 20: 4 chunks


class _StopsAfter:
    """The study's evaluator, interrupted (as by Ctrl-C) on its call number ``calls``."""

    def __init__(self, evaluator, calls: int) -> None:
        self.evaluator, self.calls, self.seen = evaluator, calls, 0

    def __getattr__(self, name: str):
        return getattr(self.evaluator, name)

    def __call__(self, X, times=None):
        self.seen += 1
        if self.seen == self.calls:
            raise KeyboardInterrupt
        return self.evaluator(X)


@pytest.mark.parametrize("method", ["sobol", "morris"])
def test_a_study_without_a_seed_resumes_with_its_own(method: str, tmp_path: Path) -> None:
    study = sens.prepare(gvcdyn.load(ISHIGAMI), ["Ishigami"])
    analysis = getattr(sens, method)
    output = tmp_path / "indices.nc"
    real = study.evaluator
    study.evaluator = _StopsAfter(real, calls=3)
    try:
        with pytest.raises(JobInterrupted, match="2 of"):
            analysis(study, N, chunk=20, execution=Execution(output=output))
    finally:
        study.evaluator = real

    counting = _StopsAfter(real, calls=0)  # never stops; counts the chunks computed
    study.evaluator = counting
    try:
        resumed = analysis(study, N, chunk=20, execution=Execution(output=output, resume=True))
    finally:
        study.evaluator = real
    seed = int(resumed.attrs["seed"])
    whole = analysis(study, N, seed=seed, chunk=20)
    assert counting.seen == len(range(0, resumed.attrs["n_runs"], 20)) - 2  # the rest only
    for name in resumed.data_vars:
        np.testing.assert_array_equal(resumed[name].values, whole[name].values)
