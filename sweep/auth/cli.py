"""``sweep user`` and ``sweep audit``: the accounts of a district, and who did what."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from sweep.auth import accounts
from sweep.auth.auditlog import audit_lines
from sweep.auth.models import USER_ROLES, User
from sweep.auth.service import OPERATOR, create_user, site_of
from sweep.clikit import AsUser, console, out, print_json, session_scope

app = typer.Typer(help="Users and their roles: create, list, disable, change role or scope, reset a password, end log-ins.",
                  no_args_is_help=True)
UserArg = Annotated[str, typer.Argument(help="The account's username.")]
SiteOpt = Annotated[str | None, typer.Option("--site", help="The fixed site's code, for a site leader or site staff.")]
OfficeOpt = Annotated[int | None, typer.Option(help="Office of an office user.")]
PasswordOpt = Annotated[
    str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="At least 10 characters; asked if not given.")
]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="user")
    root.command("audit")(audit_command)


@app.command("create")
def create(
    username: Annotated[str, typer.Option(help="Log-in name.")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(USER_ROLES)}.")],
    display_name: Annotated[str | None, typer.Option(help="Name shown on pages (default: the username).")] = None,
    office_id: OfficeOpt = None,
    site: SiteOpt = None,
    plan_site_id: Annotated[int | None, typer.Option(help="Or the site by one round's copy of it (its id in a plan).")] = None,
    password: PasswordOpt = "",
    as_user: AsUser = None,
) -> None:
    """Create a user. There is no default account: the first admin is made here."""
    with session_scope(as_user=as_user) as session:
        user = create_user(
            session=session, username=username, display_name=display_name or username, role=role,
            office_id=office_id, plan_site_id=plan_site_id, site_code=site, password=password,
        )
        console.print(f"[green]✓[/green] user {user.username} ({user.role}) #{user.id}")


@app.command("list")
def list_command(
    role: Annotated[str | None, typer.Option(help="Only this role.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Every account: role, scope, whether active, and how many log-ins are still valid."""
    with session_scope() as session:
        rows = accounts.list_accounts(session=session, role=role)
    if as_json:
        print_json([asdict(a) for a in rows])
        return
    table = Table(title=f"账号 accounts ({len(rows)})")
    for column in ("用户名 username", "姓名 name", "角色 role", "辖区 scope", "状态 state", "有效登录 log-ins"):
        table.add_column(column)
    for a in rows:
        where = f"office {a.office}" if a.office else f"site {a.site}" if a.site else "district"
        table.add_row(a.username, a.display_name, a.role, where, "active" if a.active else "[red]disabled[/red]", str(a.tokens))
    out.print(table)


def _change(username: str, as_user: str | None, change: Callable[[Session, User, int | None], object], done: str) -> None:
    with session_scope(as_user=as_user) as session:
        user = accounts.account(session=session, username=username)
        change(session, user, session.info.get(OPERATOR))
        console.print(f"[green]✓[/green] {user.username}: {done}")


@app.command("disable")
def disable(username: UserArg, as_user: AsUser = None) -> None:
    """Disable an account; its log-ins end at once, on every server within seconds."""
    _change(username, as_user, lambda s, u, by: accounts.set_active(session=s, user=u, active=False, by=by), "disabled")


@app.command("enable")
def enable(username: UserArg, as_user: AsUser = None) -> None:
    """Enable a disabled account again (it logs in anew)."""
    _change(username, as_user, lambda s, u, by: accounts.set_active(session=s, user=u, active=True, by=by), "enabled")


@app.command("set-role")
def set_role(username: UserArg, role: Annotated[str, typer.Argument(help=f"One of: {', '.join(USER_ROLES)}.")],
             office_id: OfficeOpt = None, site: SiteOpt = None, as_user: AsUser = None) -> None:
    """A new role, with the office or site it needs; the account's log-ins end."""
    _change(username, as_user, lambda s, u, by: accounts.set_role(session=s, user=u, role=role, by=by, office_id=office_id,
                                                                    site=site_of(session=s, site_code=site)), f"role {role}")


@app.command("set-scope")
def set_scope(username: UserArg, office_id: OfficeOpt = None, site: SiteOpt = None, as_user: AsUser = None) -> None:
    """Move an office user to another office, or site staff to another site; the account's log-ins end."""
    _change(username, as_user, lambda s, u, by: accounts.set_scope(session=s, user=u, by=by, office_id=office_id, site_code=site),
            "scope changed")


@app.command("reset-password")
def reset_password(username: UserArg, password: PasswordOpt = "", as_user: AsUser = None) -> None:
    """A new password; the account's log-ins end."""
    _change(username, as_user, lambda s, u, by: accounts.reset_password(session=s, user=u, password=password, by=by), "password reset")


@app.command("revoke-tokens")
def revoke_tokens(username: UserArg, as_user: AsUser = None) -> None:
    """End every log-in of an account (a lost phone)."""
    _change(username, as_user, lambda s, u, by: accounts.revoke_tokens(session=s, user=u, by=by), "log-ins ended")


def audit_command(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's actions.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action; 'personal' for every view of personal data.")] = None,
    since: Annotated[datetime | None, typer.Option(help="From this time.")] = None,
    until: Annotated[datetime | None, typer.Option(help="Before this time.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many lines, newest first.")] = 1000,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the lines to this CSV.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The audit log by user, action and time: who did what, and who saw whose personal data."""
    with session_scope() as session:
        lines = audit_lines(session=session, username=user, action=action, since=since, until=until, limit=limit)
    if out_file is not None:
        with out_file.open("w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "at", "user", "campaign", "action", "entity", "entity_id", "detail"])
            for a in lines:
                writer.writerow([a.id, a.at.isoformat(sep=" "), a.username or "", a.campaign_id or "", a.action, a.entity,
                                 a.entity_id or "", "" if a.detail is None else json.dumps(a.detail, ensure_ascii=False)])
        console.print(f"[green]✓[/green] {len(lines):,} → {out_file}")
        return
    if as_json:
        print_json([asdict(a) for a in lines])
        return
    table = Table(title=f"审计日志 audit log ({len(lines):,})")
    for column in ("时间 at", "用户 user", "操作 action", "对象 entity", "详情 detail"):
        table.add_column(column)
    for a in lines:
        table.add_row(f"{a.at:%Y-%m-%d %H:%M:%S}", a.username or "", a.action, f"{a.entity} {a.entity_id or ''}", str(a.detail or ""))
    out.print(table)
