"""``sweep plan``: make the round's plan (sites, desks, call-up, roster, materials) and export it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from sweep.clikit import console, fail, out, print_json, session_scope
from sweep.plan.service import campaign_by_ref

app = typer.Typer(help="The plan of a round (一套工作方案): sites, desks, call-up slots, roster, materials.",
                  invoke_without_command=True)


@app.callback()
def plan(
    ctx: typer.Context,
    campaign: Annotated[str, typer.Option(help="Campaign number, or 'latest' (one is created if there is none).")] = "latest",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
    max_sites: Annotated[int | None, typer.Option(min=1, help="At most this many sites (a hard cap; without it the walking limit decides the count).")] = None,
    max_samplers: Annotated[int | None, typer.Option(min=2, help="At most this many samplers (two a desk).")] = None,
    accept_beyond_limit: Annotated[bool, typer.Option(
        "--accept-beyond-limit", help="Store a capped plan even though the cap sends people beyond the walking limit (refused otherwise).")] = False,
    time_limit: Annotated[float | None, typer.Option(min=1, help="Seconds for site placement (default: SWEEP_PLAN_TIME_LIMIT_SECONDS).")] = None,
    new_round: Annotated[bool, typer.Option("--new-round", help="Start the next round from the latest one's sites.")] = False,
    starts_at: Annotated[str | None, typer.Option(help="Start of sampling for a new campaign, 'YYYY-MM-DD HH:MM'.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulated days that check the deadline.")] = 1,
) -> None:
    """Make the plan of the latest (or named) round and store it; differences from the last round are shown."""
    if ctx.invoked_subcommand is not None:
        return
    import numpy as np

    from sweep.config import get_settings
    from sweep.plan.deadline import check_deadline
    from sweep.plan.planning import make_plan
    from sweep.plan.service import choose_campaign

    settings = get_settings()
    with session_scope() as session:
        current, created = choose_campaign(session=session, settings=settings, ref=campaign, new_round=new_round,
                                           starts_at=_when(starts_at))
        if created:
            console.print(f"[yellow]新建第{current.round_no}轮 created campaign {current.id}[/yellow]: {current.name}, "
                          f"{current.starts_at:%Y-%m-%d %H:%M}")
        with console.status("制定方案 planning…") as status:
            outcome = make_plan(session=session, settings=settings, campaign=current, max_sites=max_sites,
                                max_samplers=max_samplers, time_limit=time_limit, accept_beyond_limit=accept_beyond_limit,
                                progress=lambda msg: status.update(f"制定方案 planning: {msg}"))
            status.update(f"模拟检验 checking the deadline over {settings.sim_runs} simulated days…")
            deadline = check_deadline(session=session, settings=settings, campaign=current, rng=np.random.default_rng(seed))
    data = {**outcome.as_json(), "created_campaign": created, "deadline_check": deadline.as_json()}
    if as_json:
        print_json(data)
        return
    _print(data)


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        from sweep.errors import InvalidInput

        fail(InvalidInput("starts_at", "格式应为 YYYY-MM-DD HH:MM (expected 'YYYY-MM-DD HH:MM')"))
        raise


def _print(data: dict[str, Any]) -> None:

    table = Table(title=f"第{data['round_no']}轮方案 · the plan of round {data['round_no']} (campaign {data['campaign']})")
    table.add_column("项目 item")
    table.add_column("数值 value", justify="right")
    rows = [
        ("采样点 sites", f"{data['sites']:,}"), ("采样台 desks", f"{data['desks']:,}"), ("采样员 samplers", f"{data['samplers']:,}"),
        ("应检人数 people", f"{data['people']:,}"), ("上门采样 home sampling", f"{data['home_sampling']:,}"),
        ("平均步行 mean walk (m)", f"{data['mean_walk_m']:,.0f}"), ("95%步行 walk p95 (m)", f"{data['walk_p95_m']:,.0f}"),
        ("最远步行 max walk (m)", f"{data['max_walk_m']:,.0f}"),
        ("流动采样点 mobile sites", str(data["mobile_sites"])),
        ("因无点可及而上门采样的楼栋 buildings out of reach sampled at home", str(data["home_sampling_buildings"])),
        ("目标值 objective", f"{data['objective']:,.0f}"), ("下界 bound", f"{data['bound']:,.0f}"),
        ("最优性差距 gap", f"{data['gap']:.3%}"), ("求解 solver", f"{data['status']} · {data['method']}"),
        ("预计完成 predicted finish (min)", f"{data['predicted_finish_minutes']:.0f} / {data['deadline_minutes']}"),
        ("超出步行范围的楼栋 buildings beyond the walking limit", str(data["beyond_limit"])),
    ]
    for label, value in rows:
        table.add_row(label, value)
    out.print(table)
    for e in data["exceptions"][:20]:
        colour = "red" if e["served_by"] == "beyond_limit" else "yellow"
        out.print(f"[{colour}]例外 exception[/{colour}] {e['community']} {e['name']} ({e['people']}人): {e['reason']}; "
                  f"最近候选点 nearest {e['nearest_site']} {e['nearest_m']:.0f} m → {e['fix']}")
    if len(data["exceptions"]) > 20:
        out.print(f"… {len(data['exceptions']) - 20} more (sweep plan --json lists all)")
    for w in data["warnings"]:
        out.print(f"[yellow]注意 warning[/yellow] {w}")
    for site in data["site_list"]:
        if site["mobile"]:
            out.print(f"[cyan]流动采样点 mobile site[/cyan] {site['name']} ({site['code']}): {site['desks']} 台 desks, "
                      f"{site['people']} 人 people, 最远步行 max walk {site['max_walk_m']:.0f} m")
    for s in data["shortfalls"][:20]:
        roles = ", ".join(f"{k} {v}" for k, v in s.items() if k not in ("site", "name"))
        out.print(f"[red]缺员 short[/red] {s['name']} ({s['site']}): {roles}")
    check = data["deadline_check"]
    out.print(f"按时完成 on time: 最差采样点 worst site P = {check['p_min_site']:.1%}, 全部采样点 all sites P = {check['p_all_sites']:.1%} "
              f"({check['runs']} simulated days, target {check['p_target']:.0%} a site)")
    for c in check["desks_added"]:
        out.print(f"[green]加台 desks added[/green] {c['site']}: {c['desks_before']} → {c['desks_after']} "
                  f"(P {c['p_before']:.0%} → {c['p_after']:.0%}); the roster needs a registrar and two samplers for each")
    for c in check["still_short"]:
        out.print(f"[red]仍难按时 still short[/red] {c['site']}: {c['desks_after']} desks (its space's most) reach P {c['p_after']:.0%}; "
                  "call fewer people to it or open a site nearby")
    if data["diff"]:
        d = data["diff"]
        out.print(f"与第{d['previous_campaign']}号轮次相比 vs campaign {d['previous_campaign']}: 保留 kept {d['sites_kept']}, "
                  f"新增 added {len(d['sites_added'])}, 撤销 dropped {len(d['sites_dropped'])}, "
                  f"采样台变化 desks changed {len(d['desks_changed'])}, 楼栋改点 buildings moved {d['buildings_moved']}")


@app.command("export")
def export(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write into (created if missing).")],
    campaign: Annotated[str, typer.Option(help="Campaign number, or 'latest'.")] = "latest",
) -> None:
    """Write the work plan (HTML), the roster and call-up workbooks (XLSX) and the notices per grid."""
    from sweep.plan.export import write_all

    with session_scope() as session:
        current = campaign_by_ref(session=session, ref=campaign)
        written = write_all(session=session, campaign=current, folder=out_dir)
    for path in written:
        console.print(f"[green]✓[/green] {path}")
