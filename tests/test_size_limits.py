"""Hostile sizes get one short error with the size and the limit, before any allocation
(issue 23): ``gvcdyn.limits`` and the commands that check their sizes with it.

A test that asks for a huge job runs either with a small configured limit (so a
regressed check runs a small job) or as the console script in a subprocess whose
address space is capped (so a regressed check fails inside the subprocess, never
taking the machine's memory).
"""

from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from gvcdyn import limits
from gvcdyn.cli import run_cli
from gvcdyn.errors import GvcdynError, MemoryLimitError

ISHIGAMI = str(Path(__file__).parent / "models" / "ishigami.mdl")
#: address space of a console-script subprocess: enough for numba, far from the machine's
CAPPED_BYTES = 4 * 2**30


def run_console(
    args: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed ``gvcdyn`` console script with its address space capped."""
    script = Path(sys.executable).with_name("gvcdyn")
    environment = {k: v for k, v in os.environ.items() if k != limits.ENV_VAR}
    environment.update(env or {})

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (CAPPED_BYTES, CAPPED_BYTES))

    return subprocess.run(
        [str(script), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        preexec_fn=cap,
        timeout=600,
    )


# --------------------------------------------------------------------------- the helper


@pytest.mark.parametrize(
    ("text", "expected"),
    [("16GiB", 16 * 2**30), ("16G", 16 * 2**30), ("500 MB", 500 * 10**6), ("1e9", 10**9)],
)
def test_sizes_are_read_with_their_units(text, expected):
    assert limits.parse_size(text) == expected


@pytest.mark.parametrize("text", ["lots", "12 parsecs", "-5G", "0"])
def test_a_limit_that_is_not_a_size_is_refused(text):
    with pytest.raises(MemoryLimitError, match=limits.ENV_VAR):
        limits.parse_size(text)


def test_the_limit_comes_from_the_environment_or_half_the_ram(monkeypatch):
    monkeypatch.delenv(limits.ENV_VAR, raising=False)
    ram = limits.physical_memory()
    assert ram is not None and limits.memory_limit() == ram // 2
    monkeypatch.setenv(limits.ENV_VAR, "3GiB")
    assert limits.memory_limit() == 3 * 2**30


def test_a_refusal_says_the_size_the_limit_and_how_to_change_it(monkeypatch):
    monkeypatch.setenv(limits.ENV_VAR, "1GiB")
    with pytest.raises(MemoryLimitError) as caught:
        limits.check_memory(3 * 2**30, "12 runs", hint="ask for fewer")
    message = str(caught.value)
    assert message.startswith("12 runs would need 3 GiB of memory (limit 1 GiB")
    assert f"set {limits.ENV_VAR}=" in message and message.endswith("; ask for fewer")
    assert isinstance(caught.value, GvcdynError)
    limits.check_memory(2**30, "fits")  # at the limit: accepted


def test_an_array_is_hashed_without_a_copy_and_to_the_same_digest():
    X = np.random.default_rng(1).random((1_000_000, 10))  # 80 MB
    expected = hashlib.sha256(X.tobytes()).hexdigest()
    tracemalloc.start()
    try:
        hasher = hashlib.sha256()
        limits.update_hash(hasher, X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert hasher.hexdigest() == expected
    assert peak < 2 * 2**20
    odd = np.asfortranarray(X[:1000, :3])  # copied in blocks, same bytes as C order
    hasher = hashlib.sha256()
    limits.update_hash(hasher, odd, chunk_bytes=1000)
    assert hasher.hexdigest() == hashlib.sha256(np.ascontiguousarray(odd).tobytes()).hexdigest()


def test_a_checkpoint_fingerprint_hashes_the_design_without_copying_it():
    from gvcdyn.execute.checkpoint import fingerprint

    X = np.random.default_rng(2).random((1_000_000, 10))  # 80 MB: tobytes() copied it
    tracemalloc.start()
    try:
        fingerprint(model="m", config={}, seed=1, n_runs=len(X), chunk_size=10, X=X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20


# --------------------------------------------------------------------------- sensitivity


def test_sensitivity_refuses_a_design_over_the_limit_before_sampling(monkeypatch, capsys):
    from SALib.sample import sobol as sobol_sample

    sampled = []
    monkeypatch.setattr(sobol_sample, "sample", lambda *a, **k: sampled.append(a) or 1 / 0)
    monkeypatch.setenv(limits.ENV_VAR, "8MiB")
    code = run_cli(["sensitivity", ISHIGAMI, "--vars", "Ishigami", "--n", "16384", "--seed", "1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and sampled == []
    assert err.startswith("error: a design of 81,920 runs x 3 levers with 1 outputs")
    assert "would need" in err and "(limit 8 MiB, from GVCDYN_MEMORY_LIMIT" in err
    assert "smaller N" in err and "\n" not in err


def test_morris_refuses_a_design_over_the_limit(monkeypatch, capsys):
    monkeypatch.setenv(limits.ENV_VAR, "8MiB")
    argv = ["sensitivity", ISHIGAMI, "--vars", "Ishigami", "--method", "morris", "--n", "100000"]
    assert run_cli(argv) == 2
    assert "a design of 400,000 runs x 3 levers" in capsys.readouterr().err


def test_console_sensitivity_n_2_30_is_a_short_error_not_a_traceback():
    """The issue's command: it tried to allocate 288 GiB (a traceback); under a 4 GiB
    address space a regressed check fails here with a MemoryError, not the machine."""
    done = run_console(["sensitivity", ISHIGAMI, "--vars", "Ishigami", "--n", str(2**30)])
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert "error: a design of 5,368,709,120 runs" in done.stderr
    assert "TiB of memory (limit" in done.stderr and limits.ENV_VAR in done.stderr


# --------------------------------------------------------------------------- input files

TOY = str(Path(__file__).parent / "data" / "calibration" / "toy_upgrading.mdl")


def nested_scenario(tmp_path: Path, depth: int) -> Path:
    path = tmp_path / f"nested{depth}.toml"
    value = "[" * depth + "1" + "]" * depth
    path.write_text(f'description = "deep"\n[parameters]\n"Support" = {value}\n')
    return path


def test_a_scenario_nested_too_deeply_for_the_parser_is_one_line(tmp_path, capsys):
    """10,000 nested arrays ended in a RecursionError traceback inside tomllib."""
    path = nested_scenario(tmp_path, 10_000)
    assert run_cli(["run", TOY, "--scenario", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: scenario file {path} nests arrays or inline tables too deeply")
    assert "\n" not in err


def test_a_nested_value_is_quoted_short(tmp_path, capsys):
    """A value the parser reads but is no number is quoted abbreviated, not in full."""
    path = nested_scenario(tmp_path, 300)
    assert run_cli(["run", TOY, "--scenario", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("key 'Support' must be a number, got [[[[...]]]]")
    long_list = tmp_path / "long.toml"
    long_list.write_text('[parameters]\n"Support" = [' + "1," * 100_000 + "]\n")
    assert run_cli(["run", TOY, "--scenario", str(long_list)]) == 2
    assert capsys.readouterr().err.strip().endswith("got [1, 1, 1, 1, ...]")


def lookup_model(tmp_path: Path, points: int) -> Path:
    """A model whose one lookup has ``points`` points."""
    table = ",".join(f"({i},{i % 7})" for i in range(points))
    path = tmp_path / f"lookup{points}.mdl"
    path.write_text(
        "{UTF-8}\n"
        f"tab(\n[(0,0)-({points},7)],{table})\n~ ~ |\n"
        "y = tab(Time) ~ ~ |\n"
        "INITIAL TIME = 0 ~ ~ |\nFINAL TIME = 10 ~ ~ |\nTIME STEP = 1 ~ ~ |\nSAVEPER = 1 ~ ~ |\n"
    )
    return path


def test_a_model_too_big_for_the_translator_is_refused_before_it_parses(
    tmp_path, monkeypatch, capsys
):
    from pysd.translators.vensim import vensim_file

    path = lookup_model(tmp_path, 2000)
    parsed = []
    monkeypatch.setattr(vensim_file.VensimFile, "parse", lambda self: parsed.append(1) or 1 / 0)
    monkeypatch.setenv(limits.ENV_VAR, "16MiB")
    assert run_cli(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: reading {path} (")
    assert "would need" in err and "(limit 16 MiB" in err and "GET DIRECT LOOKUPS" in err
    assert parsed == []


def test_console_a_lookup_of_a_million_points_is_a_short_error():
    """It reached 12.7 GiB inside PySD's parser; capped at 4 GiB a regression fails here."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = lookup_model(Path(folder), 1_000_000)
        done = run_console(["run", str(path)])
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert "characters, the longest equation" in done.stderr and "of memory (limit" in done.stderr
