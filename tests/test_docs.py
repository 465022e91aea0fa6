"""The docs stay honest: every command and every setting is documented."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from sweep.cli import app
from sweep.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    commands = [name for name, _ in _command_objects(typer.main.get_command(app))]
    assert "demo" in commands and "db upgrade" in commands
    for command in commands:
        assert f"sweep {command}" in readme, f"`sweep {command}` is not documented in README.md"


def test_every_setting_is_in_the_configuration_doc():
    doc = (ROOT / "docs" / "configuration.md").read_text()
    for name in Settings.model_fields:
        assert f"SWEEP_{name.upper()}" in doc, f"SWEEP_{name.upper()} is not documented"


def _command_objects(group, prefix=""):  # type: ignore[no-untyped-def]
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            yield from _command_objects(cmd, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", cmd


def _readme_rows() -> dict[str, str]:
    """The usage of each command in the README's table (a row may give two: `sweep a`, `sweep b`)."""
    rows: dict[str, str] = {}
    names = sorted((name for name, _ in _command_objects(typer.main.get_command(app))), key=len, reverse=True)
    for line in (ROOT / "README.md").read_text().splitlines():
        if not line.startswith("| `sweep "):
            continue
        for usage in re.findall(r"`(sweep [^`]*)`", line.split(" | ")[0]):
            words = usage.split(" ")
            # `sweep import people\|buildings FILE` gives the usage of two commands.
            at = next((i for i, w in enumerate(words) if "\\|" in w and not w.startswith(("-", "[", "FILE"))), None)
            spelled = [usage] if at is None else [" ".join([*words[:at], alt, *words[at + 1:]]) for alt in words[at].split("\\|")]
            for one in spelled:
                name = next((n for n in names if re.match(rf"sweep {re.escape(n)}(?= |$)", one)), None)
                if name:
                    rows[name] = rows.get(name, "") + " " + one
    return rows


def test_every_option_of_every_command_is_in_its_readme_row_and_back():
    rows = _readme_rows()
    missing, unknown = [], []
    for name, cmd in _command_objects(typer.main.get_command(app)):
        row = rows.get(name)
        if row is None:
            missing.append(f"sweep {name}: no row in README.md's usage table")
            continue
        forms = [[opt for opt in (*param.opts, *param.secondary_opts) if opt.startswith("--")] for param in cmd.params]
        forms = [f for f in forms if f and f != ["--help"]]
        real = {opt for f in forms for opt in f}
        for f in forms:  # a flag is documented by either of its forms (--pdf or --no-pdf)
            if not any(re.search(rf"{re.escape(opt)}(?![\w-])", row) for opt in f):
                missing.append(f"sweep {name} {'/'.join(f)}: not in README.md")
        usage = row.split(" | ")[0]
        for opt in re.findall(r"--[a-z][\w-]*", usage):
            if opt not in real:
                unknown.append(f"sweep {name} {opt}: in README.md but not an option of the command")
    assert not missing and not unknown, "\n".join(missing + unknown)


def test_every_setting_in_the_configuration_doc_is_a_setting_with_that_default():
    doc = (ROOT / "docs" / "configuration.md").read_text()
    fields = Settings.model_fields
    wrong = []
    for name, default in re.findall(r"^\| `SWEEP_([A-Z0-9_]+)` \| ([^|]*) \|", doc, flags=re.M):
        field = fields.get(name.lower())
        if field is None:
            wrong.append(f"SWEEP_{name}: documented but not a setting")
            continue
        literal = re.fullmatch(r"`([^`]*)`", default.strip())
        if literal and field.default is not None and not isinstance(field.default, bool | str | int | float):
            continue
        if literal is None:
            continue
        text, real = literal.group(1), field.default
        same = (float(text) == float(real)) if isinstance(real, int | float) and not isinstance(real, bool) and re.fullmatch(r"-?[\d.]+", text) \
            else str(real).lower() == text.lower()
        if not same:
            wrong.append(f"SWEEP_{name}: documented default {literal.group(1)!r}, real {field.default!r}")
    assert not wrong, "\n".join(wrong)
