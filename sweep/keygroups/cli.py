"""``sweep keygroups …``: the key groups' schedules and who is overdue (重点人群)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from sweep.clikit import AsUser, fail, out, print_json, scope_of, session_scope
from sweep.errors import DomainError
from sweep.keygroups.service import compliance, schedules

app = typer.Typer(help="Key groups: schedules and who is overdue (重点人群).", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


@app.command("schedules")
def schedules_command(as_json: JsonOpt = False) -> None:
    """Each key group's test interval, members and workplaces."""
    try:
        with session_scope() as session:
            rows = schedules(session=session)
    except DomainError as exc:
        fail(exc)
        return
    if as_json:
        print_json([asdict(r) for r in rows])
        return
    for g in rows:
        out.print(f"{g.code} {g.name}: 每 {g.test_every_days} 天 every {g.test_every_days} d · {g.members:,} 人 people · {g.workplaces} 场所 workplaces")


@app.command("compliance")
def compliance_command(
    as_of: Annotated[datetime | None, typer.Option(help="As of this time (default: now).")] = None,
    key_group: Annotated[str | None, typer.Option(help="Only this group (its code).")] = None,
    as_json: JsonOpt = False,
    as_user: AsUser = None,
) -> None:
    """Who is overdue for a test, by employer (names and phones: run --as a user, with their password)."""
    try:
        with session_scope(as_user=as_user, personal=True) as session:
            rows = compliance(session=session, as_of=as_of or datetime.now(), key_group=key_group, scope=scope_of(session))
    except DomainError as exc:
        fail(exc)
        return
    if as_json:
        print_json([asdict(r) for r in rows])
        return
    table = Table(title="重点人群检测 key-group compliance")
    for column in ("用人单位 employer", "人群 group", "间隔(天) every", "人数 members", "逾期 overdue", "阳性 positive"):
        table.add_column(column)
    for e in rows:
        table.add_row(e.employer, e.key_group, str(e.test_every_days), f"{e.members:,}", f"[{'red' if e.overdue else 'green'}]{len(e.overdue):,}[/]", str(e.positives))
    out.print(table)
