"""``sweep import …`` and ``sweep registry …``: thin commands over the registry services."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sweep.clikit import AsUser, console, out, print_json, print_rejected, scope_of, session_scope
from sweep.config import get_settings

if TYPE_CHECKING:
    pass

import_app = typer.Typer(help="Import the registry from CSV, XLSX or GeoJSON (导入人口、楼栋、采样点、人员).", no_args_is_help=True)
registry_app = typer.Typer(help="The population registry: summary and exports (人口分布).", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV, XLSX or GeoJSON file.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")]
CommunityOpt = Annotated[str | None, typer.Option(help="Limit the import to one community (its code).")]
RejectedOpt = Annotated[Path | None, typer.Option(help="Write the rejected rows, with a reason column, to this XLSX.")]


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
    app.add_typer(registry_app, name="registry")


def _run_import(kind: str, path: Path, as_json: bool, community: str | None, rejected_xlsx: Path | None, as_user: str | None) -> None:
    from sweep.registry.importer import import_file
    from sweep.registry.report import rejected_xlsx as make_xlsx

    settings = get_settings()
    with Progress(TextColumn(f"导入 importing {kind}"), BarColumn(pulse_style="red"), TextColumn("{task.completed:,} 行 rows"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(kind, total=None)
        with session_scope(as_user=as_user) as session, path.open("rb") as stream:
            report = import_file(
                session=session, kind=kind, stream=stream, filename=path.name, key=settings.secret_key, scope=scope_of(session),
                community_code=community, progress=lambda done: bar.update(task, completed=done),
            )
            stored = report.stored()
    if rejected_xlsx is not None:
        rejected_xlsx.write_bytes(make_xlsx(stored))
    if as_json:
        print_json(report.as_dict())
        return
    _print_report(report.as_dict())
    if rejected_xlsx is not None:
        console.print(f"未导入的行已写入 rejected rows written to {rejected_xlsx}")


def _print_report(data: dict) -> None:
    table = Table(title=f"导入结果 · import of {data['kind']} ({data['file']})")
    table.add_column("项目 item")
    table.add_column("数量 count", justify="right")
    for key, label in (("rows", "数据行 rows"), ("imported", "新增 imported"), ("updated", "更新 updated"),
                       ("unchanged", "未变 unchanged"), ("rejected_rows", "未导入 rejected"),
                       ("warnings_total", "提醒 warnings")):
        table.add_row(label, f"{data[key]:,}")
    for what, n in data["created"].items():
        table.add_row(f"新建 created {what}", f"{n:,}")
    out.print(table)
    print_rejected(data["rejected"])


def _kind_command(kind: str, doc: str) -> Callable[..., None]:
    def command(
        file: FileArg,
        as_json: JsonOpt = False,
        community: CommunityOpt = None,
        rejected_xlsx: RejectedOpt = None,
        as_user: AsUser = None,
    ) -> None:
        _run_import(kind, file, as_json, community, rejected_xlsx, as_user)

    command.__doc__ = doc
    return command


import_app.command("people")(_kind_command("people", "Import people (姓名, 身份证号, 楼栋 …); rejected rows are listed with reasons."))
import_app.command("buildings")(_kind_command("buildings", "Import buildings (楼栋编码, 网格, 经纬度 …) from CSV, XLSX or GeoJSON."))
import_app.command("grids")(_kind_command("grids", "Import grids (网格编码, 社区, boundary) from CSV, XLSX or GeoJSON."))
import_app.command("sites")(_kind_command("sites", "Import candidate sampling sites (采样点编码, 经纬度, 最多采样台 …)."))
import_app.command("staff")(_kind_command("staff", "Import the staff pool (姓名, 手机号, 社区, 人员类型)."))


@registry_app.command("summary")
def summary(
    community: Annotated[str | None, typer.Option(help="Only this community (its code).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Counts by office, community and grid; by age band; home sampling; key groups."""
    from sweep.registry.summary import registry_summary

    with session_scope() as session:
        data = registry_summary(session=session, community_code=community)
    if as_json:
        print_json(data)
        return
    head = Table(title="人口分布 · the registry")
    head.add_column("项目 item")
    head.add_column("人数 people", justify="right")
    head.add_row("总人数 people", f"{data['people']:,}")
    head.add_row("上门采样 home sampling", f"{data['home_sampling']:,}")
    for band in data["age_bands"]:
        head.add_row(f"年龄 age {band['band']}", f"{band['people']:,}")
    for group in data["key_groups"]:
        head.add_row(f"重点人群 {group['name']}", f"{group['people']:,}")
    out.print(head)
    for level, title in (("offices", "办事处 offices"), ("communities", "社区 communities")):
        table = Table(title=title)
        for col in ("编码 code", "名称 name", "楼栋 buildings", "人数 people", "上门 home", "重点 key"):
            table.add_column(col, justify="right" if col[0] in "楼人上重" else "left")
        for a in data[level]:
            table.add_row(a["code"], a["name"], f"{a['buildings']:,}", f"{a['people']:,}", f"{a['home_sampling']:,}",
                          f"{a['key_group']:,}")
        out.print(table)


@registry_app.command("export")
def export(
    output: Annotated[Path, typer.Argument(help="File to write: .xlsx or .csv (UTF-8 with BOM, opens in Excel).")],
    community: Annotated[str | None, typer.Option(help="Only this community (its code).")] = None,
    full_ids: Annotated[bool, typer.Option(help="Full ID numbers, for a role allowed to see them (audited).")] = False,
    as_user: AsUser = None,
) -> None:
    """Export the registry's people in the scope of the user named --as (whose password is asked); ID numbers masked
    unless --full-ids and the role may see them."""
    from sweep.registry.export import export_people

    settings = get_settings()
    with session_scope(as_user=as_user, personal=True) as session:
        n = export_people(session=session, path=output, community_code=community, scope=scope_of(session), full_ids=full_ids,
                          key=settings.secret_key)
    console.print(f"[green]✓[/green] 已导出 exported {n:,} people to {output}")


__all__ = ["import_app", "register", "registry_app"]
