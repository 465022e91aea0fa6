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
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from sweep.auth.models import SYSTEM_USERNAME, User
from sweep.auth.scope import Scope
from sweep.auth.service import CONTEXT, OPERATOR, authenticate
from sweep.config import get_settings
from sweep.db import make_engine, make_session_factory, unit_of_work
from sweep.errors import DomainError, InvalidInput, NotFound, Unavailable

console = Console(stderr=True)
out = Console()


def fail(exc: DomainError) -> None:
    """Print a domain error as the field and the reason, and exit 2: nothing was changed."""
    _one_line(exc.field, exc.reason)
    raise typer.Exit(code=2)


def database_url(database: str | None = None) -> str:
    return database or get_settings().database_url


UPGRADE = "请运行 sweep db upgrade (run sweep db upgrade)"


def check_schema(engine: Engine) -> None:
    """Refuse a database that is not there or whose schema is not the code's, naming the fix.

    SQLite would make an empty file for a path that does not exist, and every command would then
    fail on its first table; a server would start and answer 500."""
    from sweep import migrate

    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") and not Path(url.database).is_file():
        raise NotFound("database", f"数据库文件不存在 (no database file): {url.database}；{UPGRADE}")
    try:
        at = migrate.current(engine)
    except OperationalError as exc:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else exc.__class__.__name__
        raise Unavailable("database", f"无法连接数据库 (cannot reach the database): {first}") from None
    expected = migrate.head()
    if at is None:
        raise InvalidInput("database", f"数据库尚未建表 (the database has no schema)；{UPGRADE}")
    if at != expected:
        raise InvalidInput("database", f"数据库结构为 {at}，程序需要 {expected} (the schema is at {at}, the code needs {expected})；{UPGRADE}")


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
    """One unit of work on the configured database, for a CLI command, recorded under its operator.

    A refusal inside it (a domain error) rolls the work back and is printed as its field and reason,
    exit 2, here: so no command repeats the same ``except``."""
    engine = make_engine(database_url(database))
    try:
        check_schema(engine)
        with unit_of_work(make_session_factory(engine)) as session:
            session.info["scope"] = sign_in(session, as_user, personal=personal)
            yield session
    except DomainError as exc:
        fail(exc)
    finally:
        engine.dispose()


def scope_of(session: Session) -> Scope:
    """The scope of the command's operator (see ``session_scope``)."""
    return session.info["scope"]


def print_json(data: object) -> None:
    """One JSON object on standard output, Chinese as it is (not escaped), times as ISO text."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


class SweepTyper(typer.Typer):
    """The ``sweep`` command: an ordinary mistake (a database that is not there or has no schema,
    a folder that does not exist, a refused value) is one line, Chinese and English, and exit 2;
    never a traceback, which may carry personal data or a password's hash in its SQL."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except DomainError as exc:
            _one_line(exc.field, exc.reason)
        except OperationalError as exc:
            _one_line("database", f"数据库无法访问或结构不对 (the database cannot be used: {_first_line(exc)})；{UPGRADE}")
        except SQLAlchemyError as exc:
            _one_line("database", f"数据库拒绝了此操作 (the database refused this: {exc.__class__.__name__})")
        except OSError as exc:
            where = exc.filename or ""
            _one_line("file", f"无法读写文件或文件夹 (cannot read or write the file or folder) {where}: {exc.strerror or exc}")
        sys.exit(2)


def _first_line(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return (str(orig).strip().splitlines() or [""])[0] if orig is not None else exc.__class__.__name__


def _one_line(field: str, reason: str) -> None:
    console.print(f"[red]错误 error[/red] [bold]{escape(field)}[/bold]: {escape(reason)}", soft_wrap=True, highlight=False)


def print_rejected(rejected: list[dict[str, Any]], *, first: int = 50) -> None:
    """The rows an import turned away, by row, field and reason (the first ``first`` of them)."""
    if not rejected:
        return
    table = Table(title=f"未导入的行 · rejected rows (first {first})")
    for col in ("行 row", "字段 field", "原因 reason"):
        table.add_column(col)
    for r in rejected[:first]:
        table.add_row(str(r["row"]), r["field"], r["reason"])
    out.print(table)
