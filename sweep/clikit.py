"""What every command shares: the consoles, one unit of work on the database, and how a refusal is printed.

Below every area, so that each area's ``cli.py`` imports it at the top and ``sweep.cli`` only
assembles the commands.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from sweep.config import get_settings
from sweep.db import make_engine, make_session_factory, unit_of_work
from sweep.errors import DomainError

console = Console(stderr=True)
out = Console()


def fail(exc: DomainError) -> None:
    """Print a domain error as the field and the reason, and exit 2: nothing was changed."""
    console.print(f"[red]错误 error[/red] [bold]{exc.field}[/bold]: {exc.reason}")
    raise typer.Exit(code=2)


def database_url(database: str | None = None) -> str:
    return database or get_settings().database_url


@contextmanager
def session_scope(database: str | None = None) -> Iterator[Session]:
    """One unit of work on the configured database, for a CLI command."""
    engine = make_engine(database_url(database))
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def print_json(data: object) -> None:
    """One JSON object on standard output, Chinese as it is (not escaped), times as ISO text."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()
