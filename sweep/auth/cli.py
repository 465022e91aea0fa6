"""``sweep user``: accounts for the HQ, offices, sites, couriers, labs and inspectors."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from sweep.auth.models import USER_ROLES
from sweep.clikit import console, fail, session_scope

app = typer.Typer(help="Users and their roles.", no_args_is_help=True)


@app.command("create")
def create(
    username: Annotated[str, typer.Option(help="Log-in name.")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(USER_ROLES)}.")],
    display_name: Annotated[Optional[str], typer.Option(help="Name shown on pages (default: the username).")] = None,
    office_id: Annotated[Optional[int], typer.Option(help="Office of an office user.")] = None,
    plan_site_id: Annotated[Optional[int], typer.Option(help="Site of a site leader or site staff member.")] = None,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="At least 10 characters; asked if not given.")
    ] = "",
) -> None:
    """Create a user. There is no default account: the first admin is made here."""
    from sweep.auth.service import create_user
    from sweep.errors import DomainError

    try:
        with session_scope() as session:
            user = create_user(
                session=session, username=username, display_name=display_name or username, role=role,
                office_id=office_id, plan_site_id=plan_site_id, password=password,
            )
            console.print(f"[green]✓[/green] user {user.username} ({user.role}) #{user.id}")
    except DomainError as exc:
        fail(exc)
