"""``sweep simulate``: the stored plan's day, simulated many times; the distribution it gives."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sweep.clikit import console, fail, out, session_scope
from sweep.errors import DomainError
from sweep.plan.service import campaign_by_ref

# As SWEEP_SIM_RUNS: a hundred thousand simulated days already take minutes for a district.
MAX_RUNS = 100_000
if TYPE_CHECKING:
    from sweep.simulate.schemas import SimulationRead, SpreadRead


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)


def simulate(
    campaign: Annotated[str, typer.Option(help="Campaign number, or 'latest'.")] = "latest",
    runs: Annotated[int | None, typer.Option(min=1, max=MAX_RUNS, help="Simulated days (default: SWEEP_SIM_RUNS).")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed: the same seed gives the same answer.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the distribution as one JSON object.")] = False,
) -> None:
    """Simulate the plan's day: P(all sampled by the deadline), finish times, the sites likely late."""
    from sweep.config import get_settings
    from sweep.plan.simulation import day_input
    from sweep.simulate.model import DayModel
    from sweep.simulate.montecarlo import simulate_day
    from sweep.simulate.schemas import SimulationRead

    settings = get_settings()
    runs = runs or settings.sim_runs
    try:
        with session_scope() as session:
            current = campaign_by_ref(session=session, ref=campaign)
            campaign_id, name = current.id, current.name
            day = day_input(session=session, campaign=current)
        model = DayModel.from_settings(settings)
        with Progress(
            TextColumn("模拟采样日 simulating the day"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as bar:
            task = bar.add_task("runs", total=runs)
            outcome = simulate_day(
                day, model=model, runs=runs, rng=np.random.default_rng(seed),
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    except DomainError as exc:
        fail(exc)
        return
    result = SimulationRead.of(outcome, campaign_id=campaign_id, seed=seed)
    if as_json:
        sys.stdout.write(result.model_dump_json(exclude={"grid", "series"}) + "\n")
        sys.stdout.flush()
        return
    out.print(_summary(result, name))
    if result.late_sites:
        out.print(_late_sites(result))


def _summary(r: SimulationRead, name: str) -> Table:
    table = Table(title=f"{name} · 模拟采样日 the simulated day ({r.runs} runs, seed {r.seed})")
    table.add_column("项目 item")
    table.add_column("均值 mean", justify="right")
    table.add_column("5%", justify="right")
    table.add_column("中位 median", justify="right")
    table.add_column("95%", justify="right")

    def row(label: str, s: SpreadRead) -> None:
        table.add_row(label, *("—" if v is None else f"{v:,.1f}" for v in (s.mean, s.p5, s.p50, s.p95)))

    row(f"完成用时(分) finish (min), deadline {r.deadline_minutes}", r.finish)
    row("排队等候(分) wait (min)", r.wait)
    row("采样到送达(分) swab to lab (min)", r.sample_to_lab)
    row("采样到结果(分) swab to result (min)", r.sample_to_result)
    row("结果全出(分) last result (min)", r.results_done)
    table.add_row("按时完成概率 P(on time)", f"{r.p_on_time:.1%}", "", "", "")
    table.add_row("超4小时送达的管 tubes > 4 h to lab", f"{r.tubes_late_to_lab:.2%}", "", "", "")
    table.add_row("采样 people · 管 tubes · 箱 boxes", f"{r.people:,.0f} · {r.tubes:,.0f} · {r.boxes:,.0f}", "", "", "")
    return table


def _late_sites(r: SimulationRead) -> Table:
    by_code = {s.code: s for s in r.sites}
    table = Table(title="可能超时的采样点 · sites most likely late")
    table.add_column("采样点 site", no_wrap=True)
    for col in ("台 desks (staffed)", "应检 called", "P(late)", "完成 p50", "完成 p95", "最长排队 queue"):
        table.add_column(col, justify="right")
    for code in r.late_sites:
        s = by_code[code]
        table.add_row(
            code, f"{s.desks} ({s.desks_staffed})", f"{s.called:,}", f"{s.p_late:.0%}",
            "—" if s.finish.p50 is None else f"{s.finish.p50:.0f}", "—" if s.finish.p95 is None else f"{s.finish.p95:.0f}",
            f"{s.queue_peak:.0f}",
        )
    return table
