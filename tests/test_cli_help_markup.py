"""Help texts and printed messages keep their square brackets.

Typer draws ``--help`` with rich, which reads ``[word ...]`` as a style tag and drops it:
an option's help that says ``[default: ...]`` or names a TOML table (``[posterior]``)
lost those words silently (``--integration``'s help ended "first step) ."). Every help
text must render to itself, so any bracket in it is escaped (``rich.markup.escape``).
A message built from data (a case value, a path) must be escaped too before rich prints it.
"""

from __future__ import annotations

from typing import Any

import pytest
import typer
from console import gvcdyn
from rich.markup import render

from gvcdyn.cli import app


def _commands() -> list[tuple[str, Any]]:
    """Every subcommand of the console script, by name (the app as click sees it: typer
    0.2x builds it with its own copy of click, so no click class is named here)."""
    return sorted(typer.main.get_command(app).commands.items())


def _texts(command: Any) -> list[tuple[str, str]]:
    """The command's help, epilog and every option's help: what --help draws with rich."""
    texts = [("help", command.help or ""), ("epilog", command.epilog or "")]
    texts += [
        (f"{param.name} help", getattr(param, "help", None) or "") for param in command.params
    ]
    return [(where, text) for where, text in texts if text]


@pytest.mark.parametrize(("name", "command"), _commands())
def test_every_help_text_renders_to_itself(name: str, command: Any) -> None:
    """A bracket rich would read as a style tag (and drop) is escaped (click's \\b, the
    mark of a paragraph not to rewrap, is no text)."""
    for where, text in _texts(command):
        text = text.replace("\b", "")
        assert render(text).plain == text.replace("\\[", "["), (name, where, text)


def test_the_help_pages_say_the_bracketed_words(tmp_path) -> None:
    """The three help texts that lost words on screen say them now."""
    run = gvcdyn("run", "--help", cwd=tmp_path, columns=400)
    assert "[default: the model's settings file's" in run.stdout, run.stdout
    calibrate = gvcdyn("calibrate", "--help", cwd=tmp_path, columns=400)
    assert "Sample the config's [posterior] table" in calibrate.stdout, calibrate.stdout
    reality = gvcdyn("reality-check", "--help", cwd=tmp_path, columns=400)
    assert "Number of draws with --perturb [default: 500]." in reality.stdout, reality.stdout


def test_no_option_shows_a_python_type_as_its_value(tmp_path) -> None:
    """``--data <list[Path]>``, ``--set <list[str]>``, ``--scheduler <str>`` and
    ``--workers <int range>`` showed typer's Python types; an option shows what its value
    looks like (FILE, NAME=VALUE, ADDRESS, N)."""
    for name, _ in _commands():
        page = gvcdyn(name, "--help", cwd=tmp_path, columns=400).stdout
        for python in ("list[", "<str>", "<int range>"):
            assert python not in page, (name, [x for x in page.splitlines() if python in x])
    for name, option, shown in (
        ("run", "--data", "FILE"),
        ("reality-check", "--set", "NAME=VALUE"),
    ):
        page = gvcdyn(name, "--help", cwd=tmp_path, columns=400).stdout
        row = next(x for x in page.splitlines() if f" {option} " in x)
        assert row.split(option, 1)[1].split()[0] == shown, (name, row)
