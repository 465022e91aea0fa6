"""``sweep lab …``: load an instrument's results, trace a tube, show the alert board."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sweep.clikit import AsUser, console, out, print_json, scope_of, session_scope
from sweep.plan.service import campaign_by_ref

app = typer.Typer(help="The lab: results, trace-back of positive pools, retests (检测结果、阳性追溯、单采复核).", no_args_is_help=True)
CampaignOpt = Annotated[str, typer.Option(help="Campaign number, or 'latest'.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="lab")



@app.command("import-results")
def import_results_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The instrument's CSV export.")],
    campaign: CampaignOpt = "latest",
    strict: Annotated[bool, typer.Option(help="Import nothing if any row is bad.")] = False,
    as_user: AsUser = None,
    as_json: JsonOpt = False,
) -> None:
    """Load results per tube from a CSV (tube_code, result, optional Ct values and time); bad rows are listed."""
    from sweep.lab.results_import import import_results

    with console.status(f"导入检测结果 loading {file.name}…"), session_scope(as_user=as_user) as session:
        current = campaign_by_ref(session=session, ref=campaign)
        report = import_results(session=session, campaign=current, filename=file.name, data=file.read_bytes(), at=datetime.now(), strict=strict)
    if as_json:
        print_json(asdict(report))
        return
    out.print(f"导入 imported [bold]{report.imported}[/bold] · 未变 unchanged {report.unchanged} · 退回 rejected "
              f"[{'red' if report.rejected else 'green'}]{report.rejected}[/] of {report.total_rows} rows")
    if report.positive_tubes or report.invalid_tubes:
        out.print(f"[red]阳性 positive[/red] {', '.join(report.positive_tubes) or '-'} · 无效 invalid {', '.join(report.invalid_tubes) or '-'}"
                  f" → 复核单 retest orders {report.retests_ordered}")
    if report.errors:
        table = Table(title="有误的行 bad rows")
        for column in ("行 row", "字段 field", "原因 reason"):
            table.add_column(column)
        for e in report.errors:
            table.add_row(str(e.row), e.field, e.reason)
        out.print(table)


@app.command("trace")
def trace_command(tube: Annotated[str, typer.Argument(help="Tube code.")], campaign: CampaignOpt = "latest", as_json: JsonOpt = False,
                  as_user: AsUser = None) -> None:
    """The people in a tube, with where and when they were sampled."""
    from sweep.lab.service import trace_tube
    from sweep.plan.service import campaign_by_ref

    with session_scope(as_user=as_user, personal=True) as session:
        found = trace_tube(session=session, campaign=campaign_by_ref(session=session, ref=campaign), tube_code=tube, scope=scope_of(session))
    if as_json:
        print_json(asdict(found))
        return
    out.print(f"管码 tube [bold]{found.tube_code}[/bold] · {found.site_name} ({found.site_code}) · 结果 result {found.result or '-'}")
    hhmm = lambda t: f"{t:%m-%d %H:%M}" if t else "-"  # noqa: E731
    out.print(f"封管 sealed {hhmm(found.sealed_at)} · 箱 box {found.box_code or '-'} · 交接 handed over {hhmm(found.handed_at)}"
              f" → {found.courier_name or '-'} · 签收 received {hhmm(found.received_at)}")
    table = Table()
    for column in ("#", "姓名 name", "证件 ID", "电话 phone", "社区 community", "楼栋 building", "采样时间 sampled"):
        table.add_column(column)
    for p in found.people:
        table.add_row(str(p.position), p.name or "", p.id_masked, p.phone or "", p.community, p.building or "", f"{p.sampled_at:%H:%M}")
    out.print(table)


@app.command("alerts")
def alerts_command(campaign: CampaignOpt = "latest", as_json: JsonOpt = False, as_user: AsUser = None) -> None:
    """Positive and invalid pools with their retest orders still open."""
    from sweep.lab.alerts import alerts
    from sweep.plan.service import campaign_by_ref

    with session_scope(as_user=as_user, personal=True) as session:
        board = alerts(session=session, campaign=campaign_by_ref(session=session, ref=campaign), now=datetime.now(), scope=scope_of(session))
    if as_json:
        print_json([{**asdict(a), "open": a.open, "overdue": a.overdue, "confirmed": a.confirmed} for a in board])
        return
    if not board:
        out.print("[green]无待处置阳性 no open alerts[/green]")
    for a in board:
        out.print(f"[red]{a.result}[/red] {a.tube_code} ({a.site_code}) {a.resulted_at:%m-%d %H:%M} · 待复核 open {a.open} · "
                  f"超时 overdue {a.overdue} · 确诊 confirmed {a.confirmed}")
