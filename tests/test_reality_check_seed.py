"""``gvcdyn reality-check --seed`` must be an integer >= 0, as sensitivity's is.

A negative seed with ``--perturb`` reached numpy's generator and ended in a traceback
("expected non-negative integer"); it is refused in one line, before any run.
"""

from __future__ import annotations

import pytest
from console import assert_one_line_error, gvcdyn

import gvcdyn as gd
from gvcdyn.bundled import resolve_model
from gvcdyn.errors import RealityCheckError


def test_a_negative_seed_is_refused_in_one_line(tmp_path) -> None:
    done = gvcdyn("reality-check", "gvc_upgrading", "gvc_upgrading.checks.toml", "--perturb",
                  "0.2", "--draws", "3", "--seed", "-1", cwd=tmp_path)  # fmt: skip
    assert_one_line_error(done, "seed", "-1", ">= 0", stdout_empty=True)


def test_reality_check_refuses_a_negative_seed_before_running() -> None:
    path = resolve_model("gvc_upgrading")
    model = gd.load(path)
    checks = path.with_name("gvc_upgrading.checks.toml")
    with pytest.raises(RealityCheckError, match="seed must be an integer >= 0, got -1"):
        gd.reality_check(model, checks, perturb=0.2, draws=3, seed=-1)
