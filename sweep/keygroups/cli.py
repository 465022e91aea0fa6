"""``sweep keygroups …``: the key groups, their schedules, workplaces, members and tests, and who is overdue (重点人群)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sweep.clikit import AsUser, console, out, print_json, print_rejected, scope_of, session_scope
from sweep.config import get_settings
from sweep.keygroups.importer import import_keygroup_file
from sweep.keygroups.service import COMPLIANCE_BY, compliance, create_group, schedules, update_group
from sweep.registry.models import KeyGroup

app = typer.Typer(help="Key groups: schedules, workplaces, members, tests and who is overdue (重点人群).", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or XLSX file.")]


def _tube(single_tube: bool, pool_size: int | None) -> str:
    if single_tube:
        return "单人单管 single tube"
    return f"{pool_size}混1 pooled {pool_size} a tube" if pool_size else "混采 pooled"


def _line(g: KeyGroup) -> str:
    tube = _tube(g.single_tube, g.pool_size)
    return f"{g.code} {g.name}: 每 {g.test_every_days} 天 every {g.test_every_days} d · {tube}"


@app.command("create")
def create_command(
    code: Annotated[str, typer.Argument(help="The group's code, e.g. airport.")],
    name: Annotated[str, typer.Option(help="Its name, as the people import's 人员类别 column writes it (机场工作人员).")],
    every: Annotated[int, typer.Option(help="Test every this many days (1-30).")],
    single_tube: Annotated[bool, typer.Option("--single-tube/--pooled", help="One person a tube (单人单管), or pooled.")] = True,
    pool_size: Annotated[int | None, typer.Option(help="Pooled at most this many a tube (2-20, e.g. 5 for 5混1); implies --pooled.")] = None,
) -> None:
    """Create a key group with its test interval (重点人群)."""
    with session_scope() as session:
        group = create_group(session=session, code=code, name=name, test_every_days=every, single_tube=single_tube,
                             pool_size=pool_size)
        line = _line(group)
    console.print(f"[green]✓[/green] {line}")


@app.command("set")
def set_command(
    code: Annotated[str, typer.Argument(help="The group's code.")],
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    every: Annotated[int | None, typer.Option(help="Test every this many days (1-30).")] = None,
    single_tube: Annotated[
        bool | None, typer.Option("--single-tube/--pooled", help="One person a tube, or pooled.", show_default=False)
    ] = None,
    pool_size: Annotated[int | None, typer.Option(help="Pooled at most this many a tube (2-20); 0: the round's pool size.")] = None,
) -> None:
    """Change a key group's name, interval or tube kind; each change is audited."""
    with session_scope() as session:
        g = update_group(session=session, key_group=code, name=name, test_every_days=every, single_tube=single_tube,
                         pool_size=pool_size)
        line = _line(g)
    console.print(f"[green]✓[/green] {line}")


@app.command("import")
def import_command(
    kind: Annotated[str, typer.Argument(
        help="workplaces (场所编码, 场所名称, 用人单位, 人员类别), members (身份证号, 场所编码) or tests (身份证号, 采样时间, 检测结果).")],
    file: FileArg,
    as_json: JsonOpt = False,
) -> None:
    """Import workplaces, their members or a workplace's own tests; bad rows are listed by row, field and reason."""
    with session_scope() as session, file.open("rb") as stream:
        report = import_keygroup_file(session=session, kind=kind, stream=stream, filename=file.name, key=get_settings().secret_key,
                                      scope=scope_of(session))
        data = report.as_dict()
    if as_json:
        print_json(data)
        return
    out.print(f"导入 import of {kind} ({data['file']}): 数据行 rows {data['rows']:,} · 新增 imported {data['imported']:,} · "
              f"更新 updated {data['updated']:,} · 未变 unchanged {data['unchanged']:,} · 未导入 rejected {data['rejected_rows']:,}")
    print_rejected(data["rejected"])


@app.command("schedules")
def schedules_command(as_json: JsonOpt = False) -> None:
    """Each key group's test interval, members and workplaces."""
    with session_scope() as session:
        rows = schedules(session=session)
    if as_json:
        print_json([asdict(r) for r in rows])
        return
    for g in rows:
        tube = _tube(g.single_tube, g.pool_size)
        out.print(f"{g.code} {g.name}: 每 {g.test_every_days} 天 every {g.test_every_days} d · {tube} · {g.members:,} 人 people · "
                  f"{g.workplaces} 场所 workplaces")
    if not rows:
        out.print("尚无重点人群，用 sweep keygroups create 建立 (no key groups yet: create them with sweep keygroups create)")


@app.command("compliance")
def compliance_command(
    as_of: Annotated[datetime | None, typer.Option(help="As of this time (default: now).")] = None,
    key_group: Annotated[str | None, typer.Option(help="Only this group (its code).")] = None,
    by: Annotated[str, typer.Option(help=f"Sum by {' or '.join(COMPLIANCE_BY)} (where the people live).")] = "employer",
    as_json: JsonOpt = False,
    as_user: AsUser = None,
) -> None:
    """Who is overdue for a test, by employer or by office; the most overdue first (names and phones: run
    --as a user, with their password)."""
    with session_scope(as_user=as_user, personal=True) as session:
        rows = compliance(session=session, as_of=as_of or datetime.now(), key_group=key_group, by=by, scope=scope_of(session))
    if as_json:
        print_json([asdict(r) for r in rows])
        return
    table = Table(title="重点人群检测 key-group compliance")
    first = "办事处 office" if by == "office" else "用人单位 employer"
    for column in (first, "人群 group", "间隔(天) every", "人数 members", "逾期 overdue", "阳性 positive"):
        table.add_column(column)
    for e in rows:
        overdue = f"[{'red' if e.overdue else 'green'}]{len(e.overdue):,}[/]"
        table.add_row(e.office if by == "office" else e.employer, e.key_group, str(e.test_every_days), f"{e.members:,}", overdue, str(e.positives))
    out.print(table)
