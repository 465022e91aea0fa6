"""The docs stay honest: every command and every setting is documented."""

from __future__ import annotations

from pathlib import Path

import typer.main

from sweep.cli import app
from sweep.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def _commands(group, prefix=""):  # type: ignore[no-untyped-def]
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}"


def test_every_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    commands = list(_commands(typer.main.get_command(app)))
    assert "demo" in commands and "db upgrade" in commands
    for command in commands:
        assert f"sweep {command}" in readme, f"`sweep {command}` is not documented in README.md"


def test_every_setting_is_in_the_configuration_doc():
    doc = (ROOT / "docs" / "configuration.md").read_text()
    for name in Settings.model_fields:
        assert f"SWEEP_{name.upper()}" in doc, f"SWEEP_{name.upper()} is not documented"
