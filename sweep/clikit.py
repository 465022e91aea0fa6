"""What every command shares: the consoles, one unit of work on the database, and how a refusal is printed.

Below every area, so that each area's ``cli.py`` imports it at the top and ``sweep.cli`` only
assembles the commands.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.auth.models import SYSTEM_USERNAME, User
from sweep.auth.scope import Scope
from sweep.auth.service import CONTEXT, OPERATOR, authenticate
from sweep.config import get_settings
from sweep.db import make_engine, make_session_factory, unit_of_work
from sweep.errors import DomainError, InvalidInput, NotFound

console = Console(stderr=True)
out = Console()


def fail(exc: DomainError) -> None:
    """Print a domain error as the field and the reason, and exit 2: nothing was changed."""
    console.print(f"[red]错误 error[/red] [bold]{exc.field}[/bold]: {exc.reason}")
    raise typer.Exit(code=2)


def database_url(database: str | None = None) -> str:
    return database or get_settings().database_url


AsUser = Annotated[
    str | None,
    typer.Option("--as", help="The user this is done as, recorded in the audit log; for personal data, their password is asked."),
]


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return "unknown"


def sign_in(session: Session, as_user: str | None, *, personal: bool) -> Scope:
    """Who runs the command: the named user, or the system account; the OS user is on every audit line.

    A command that shows personal data (names with phones, full ID numbers) runs only as a named
    user, with that user's password and scope, exactly as over the API.
    """
    session.info[CONTEXT] = {"via": "cli", "os_user": _os_user()}
    if as_user is None:
        if personal:
            raise InvalidInput("as", "此命令显示个人信息，请用 --as 用户名 并输入其密码 "
                               "(this command shows personal data: run it --as a user, whose password is asked)")
        system = session.scalar(select(User.id).where(User.username == SYSTEM_USERNAME))
        session.info[OPERATOR] = system
        return Scope.system(system)
    if personal:
        password = typer.prompt(f"{as_user} 的密码 password", hide_input=True, err=True)
        user = authenticate(session=session, username=as_user, password=password)
    else:
        named = session.scalar(select(User).where(User.username == as_user.strip()))
        if named is None or named.username == SYSTEM_USERNAME:
            raise NotFound("as", f"没有这个用户 (no such user): {as_user}")
        user = named
    session.info[OPERATOR] = user.id
    return Scope.of(user)


@contextmanager
def session_scope(database: str | None = None, *, as_user: str | None = None, personal: bool = False) -> Iterator[Session]:
    """One unit of work on the configured database, for a CLI command, recorded under its operator."""
    engine = make_engine(database_url(database))
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            session.info["scope"] = sign_in(session, as_user, personal=personal)
            yield session
    finally:
        engine.dispose()


def scope_of(session: Session) -> Scope:
    """The scope of the command's operator (see ``session_scope``)."""
    return session.info["scope"]


def print_json(data: object) -> None:
    """One JSON object on standard output, Chinese as it is (not escaped), times as ISO text."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()
