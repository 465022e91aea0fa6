"""``sweep coverage …`` and ``sweep rounds …``: who stands where, round over round,
and the key groups' compliance."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sweep.clikit import AsUser, console, out, print_json, scope_of, session_scope
from sweep.plan.service import campaign_by_ref

coverage_app = typer.Typer(help="Coverage and the missing list (应检尽检、未检人员名单).", no_args_is_help=True)
rounds_app = typer.Typer(help="Round over round (多轮起底式).", no_args_is_help=True)
CampaignOpt = Annotated[str, typer.Option(help="Campaign number, or 'latest'.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def register(root: typer.Typer) -> None:
    root.add_typer(coverage_app, name="coverage")
    root.add_typer(rounds_app, name="rounds")



@coverage_app.command("table")
def table_command(
    campaign: CampaignOpt = "latest",
    by: Annotated[str, typer.Option(help="office, community, grid or building.")] = "community",
    as_json: JsonOpt = False,
    as_user: AsUser = None,
) -> None:
    """Everyone's standing summed by area: expected, called, sampled, resulted, exempt, missing."""
    from sweep.coverage.service import coverage_by

    with session_scope(as_user=as_user) as session:
        rows = coverage_by(session=session, campaign=campaign_by_ref(session=session, ref=campaign), scope=scope_of(session), level=by)
    if as_json:
        print_json([{**asdict(r), "missing": r.missing, "fraction": round(r.fraction, 6)} for r in rows])
        return
    table = Table(title=f"覆盖率 coverage by {by}")
    for column in ("编码 code", "名称 name", "应检 expected", "已通知 called", "已采 sampled", "已出结果 resulted", "免检 exempt", "未检 missing", "覆盖率"):
        table.add_column(column, justify="right" if column[0] not in "编名" else "left")
    for r in rows:
        table.add_row(r.code, r.name, f"{r.expected:,}", f"{r.called:,}", f"{r.sampled:,}", f"{r.resulted:,}", f"{r.exempt:,}",
                      f"[{'red' if r.missing else 'green'}]{r.missing:,}[/]", f"{r.fraction:.2%}")
    out.print(table)


@coverage_app.command("missing")
def missing_command(
    campaign: CampaignOpt = "latest",
    community: Annotated[str | None, typer.Option(help="Only this community (its code).")] = None,
    grid: Annotated[str | None, typer.Option(help="Only this grid (its code).")] = None,
    building: Annotated[str | None, typer.Option(help="Only this building (its code).")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write an XLSX for door-to-door follow-up (ID numbers masked).")] = None,
    full_ids: Annotated[bool, typer.Option(help="Full ID numbers in the XLSX, for a role allowed to see them (audited).")] = False,
    as_json: JsonOpt = False,
    as_user: AsUser = None,
) -> None:
    """The missing list: everyone due with no sample this round (names and phones: run --as a user, with their password)."""
    from sweep.config import get_settings
    from sweep.coverage.export import missing_workbook
    from sweep.coverage.service import missing_list

    with session_scope(as_user=as_user, personal=True) as session:
        current = campaign_by_ref(session=session, ref=campaign)
        if out_file is not None:
            with console.status("生成名单 writing the list…"):
                made = missing_workbook(session=session, campaign=current, key=get_settings().secret_key, scope=scope_of(session),
                                        full_ids=full_ids, community_code=community, grid_code=grid, building_code=building)
            out_file.write_bytes(made.content)
            console.print(f"[green]✓[/green] {made.rows:,} 人 people → {out_file}")
            return
        rows = missing_list(session=session, campaign=current, scope=scope_of(session), community_code=community, grid_code=grid,
                            building_code=building)
    if as_json:
        print_json([asdict(r) for r in rows])
        return
    table = Table(title=f"未检人员名单 missing list ({len(rows):,})")
    for column in ("社区 community", "楼栋 building", "单元-房 unit-room", "姓名 name", "证件 ID", "电话 phone", "上门 home"):
        table.add_column(column)
    for r in rows[:500]:
        table.add_row(r.community, r.building, f"{r.unit or ''}-{r.room or ''}", r.name, r.id_masked, r.phone or "", "是" if r.home_sampling else "")
    out.print(table)
    if len(rows) > 500:
        out.print(f"… {len(rows) - 500:,} more; use --out FILE.xlsx for the whole list")


@coverage_app.command("refresh")
def refresh_command(
    campaign: CampaignOpt = "latest",
    full: Annotated[bool, typer.Option(help="Count everything again (after a registry import moved people).")] = False,
    as_user: AsUser = None,
) -> None:
    """Bring the coverage tallies up to date (the pages and API do this on every look)."""
    from sweep.coverage import tallies

    with console.status("统计 counting…"), session_scope(as_user=as_user) as session:
        counts = tallies.refresh(session=session, campaign=campaign_by_ref(session=session, ref=campaign), full=full)
    console.print(f"[green]✓[/green] {sum(c[0] for c in counts.values()):,} sampled in {len(counts):,} buildings")


@rounds_app.command("compare")
def compare_command(
    campaign: CampaignOpt = "latest",
    previous: Annotated[int | None, typer.Option(help="The round to compare with (default: the one before).")] = None,
    low: Annotated[float, typer.Option(help="A building under this share sampled is low.")] = 0.95,
    as_json: JsonOpt = False,
    as_user: AsUser = None,
) -> None:
    """Who was missed twice (names and phones: run --as a user, with their password), which buildings stay low, which sites were late."""
    from sweep.coverage.rounds import compare_rounds
    from sweep.plan.service import get_campaign

    with session_scope(as_user=as_user, personal=True) as session:
        before = get_campaign(session=session, campaign_id=previous) if previous is not None else None
        found = compare_rounds(session=session, campaign=campaign_by_ref(session=session, ref=campaign), previous=before, low=low,
                               now=datetime.now(), scope=scope_of(session))
    if as_json:
        print_json(asdict(found))
        return
    out.print(f"第{found.campaign_id}轮 对比 第{found.previous_id}轮 (round {found.campaign_id} against {found.previous_id})")
    out.print(f"两轮均未检 missed twice: [red]{len(found.missed_twice):,}[/red]")
    out.print(f"两轮覆盖率均低于 {low:.0%} 的楼栋 buildings low in both: {len(found.buildings_low):,}")
    for b in found.buildings_low[:20]:
        out.print(f"  {b.code} {b.name}: {b.previous:.1%} → {b.current:.1%} of {b.expected}")
    out.print(f"迟滞采样点 sites late: {len(found.sites_late)}")
    for s in found.sites_late:
        out.print(f"  {s.code} {s.name}: finish {s.previous_finish or 0:.0f} → {s.current_finish or 0:.0f} min; "
                  f"readiness late {s.previous_readiness_late} → {s.current_readiness_late}")


@rounds_app.command("carry-over")
def carry_over_command(
    campaign: CampaignOpt = "latest",
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="Write the list as FILE.csv or FILE.xlsx: names, masked ID numbers, phones, building, unit, room, rounds missed in a row."
    )] = None,
    as_json: JsonOpt = False,
    as_user: AsUser = None,
) -> None:
    """Those the next round's call-up must reach on purpose: the missing, and the away and in hospital."""
    from sweep.coverage.carryover import carry_over_file
    from sweep.coverage.rounds import carry_over

    with session_scope(as_user=as_user, personal=out_file is not None) as session:
        current = campaign_by_ref(session=session, ref=campaign)
        if out_file is not None:
            made = carry_over_file(session=session, campaign=current, fmt=out_file.suffix.lower().lstrip("."), scope=scope_of(session))
            out_file.write_bytes(made.content)
            console.print(f"[green]✓[/green] {made.rows:,} 人 people → {out_file}")
            return
        rows = carry_over(session=session, campaign=current, scope=scope_of(session))
    if as_json:
        print_json([asdict(r) for r in rows])
    else:
        twice = sum(r.rounds_missed >= 2 for r in rows)
        out.print(f"带入下一轮 carried into the next call-up: {len(rows):,} (连续两轮及以上未检 missed two rounds or more: {twice:,})")
