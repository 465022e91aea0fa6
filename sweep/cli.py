"""The ``sweep`` command. Thin: parse, call a service in one unit of work, print."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sweep.auth.cli import register as register_users
from sweep.clikit import SweepTyper, check_schema, console, fail, out, print_json, session_scope
from sweep.clikit import database_url as _url
from sweep.config import get_settings
from sweep.coverage import cli as coverage_cli
from sweep.errors import DomainError, NotFound
from sweep.inspect import cli as inspect_cli
from sweep.keygroups import cli as keygroups_cli
from sweep.lab import cli as lab_cli
from sweep.plan import cli as plan_cli
from sweep.plan import simulation_cli as simulate_cli
from sweep.plan.service import campaign_by_ref
from sweep.registry import cli as registry_cli
from sweep.report.cli import report as report_command

app = SweepTyper(help="Sweep: plan and command a district-wide mass testing round (全员核酸检测).", no_args_is_help=True)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")
register_users(app)
app.command("report")(report_command)
registry_cli.register(app)  # sweep import …, sweep registry …
simulate_cli.register(app)  # sweep simulate
app.add_typer(plan_cli.app, name="plan")  # sweep plan, sweep plan export
lab_cli.register(app)  # sweep lab …
coverage_cli.register(app)  # sweep coverage …, sweep rounds …
app.add_typer(keygroups_cli.app, name="keygroups")  # sweep keygroups …
inspect_cli.register(app)  # sweep inspect …
@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    database: Annotated[str | None, typer.Option(help="Database URL (default: SWEEP_DATABASE_URL).")] = None,
) -> None:
    """Create or upgrade the schema."""
    from sweep import migrate

    migrate.upgrade(_url(database), revision)
    console.print(f"[green]schema at {revision}[/green]")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision; 'base' removes the schema.")],
    database: Annotated[str | None, typer.Option(help="Database URL (default: SWEEP_DATABASE_URL).")] = None,
) -> None:
    """Step the schema back to a revision."""
    from sweep import migrate

    migrate.downgrade(_url(database), revision)
    console.print(f"[yellow]schema at {revision}[/yellow]")


@db_app.command("current")
def db_current(
    database: Annotated[str | None, typer.Option(help="Database URL (default: SWEEP_DATABASE_URL).")] = None,
) -> None:
    """Print the schema revision the database is at."""
    from sweep import migrate
    from sweep.db import make_engine

    engine = make_engine(_url(database))
    if engine.url.get_backend_name() == "sqlite" and engine.url.database and not Path(engine.url.database).is_file():
        raise NotFound("database", f"数据库文件不存在 (no database file): {engine.url.database}")
    out.print(migrate.current(engine) or "(empty)")


@app.command()
def demo(
    people: Annotated[int, typer.Option(min=100, help="People in the synthetic district.")] = 50_000,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same district and day.")] = 1,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Play the day live over HTTP with the dashboard open, then keep serving.")
    ] = True,
    speed: Annotated[float, typer.Option(min=1, help="Live day's clock against the wall clock (360: six hours in a minute).")] = 360,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object.")] = False,
    database: Annotated[
        str | None, typer.Option(help="Database for the demo; it is emptied first. Default: sweep-demo.db here.")
    ] = None,
    report_dir: Annotated[Path, typer.Option("--report-dir", help="Where the live demo writes the round's report.")] = Path("sweep-demo-report"),
    host: Annotated[str | None, typer.Option(help="Address to serve on (default: SWEEP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to serve on (default: SWEEP_PORT).")] = None,
) -> None:
    """Generate a district and plan a round; play its day (live over HTTP, or at once with --no-serve); summarise."""
    from sweep.demo.run import prepare, run_demo

    url = database or f"sqlite:///{Path.cwd() / 'sweep-demo.db'}"
    settings = get_settings()
    try:
        if not serve:
            summary = run_demo(url=url, people=people, seed=seed, console=console)
        else:
            from sweep.demo.live import run_live

            ready = prepare(url=url, people=people, seed=seed, console=console)
            summary, server = run_live(
                ready=ready, host=host or settings.host, port=port or settings.port, speed=speed, report_dir=report_dir, console=console
            )
    except DomainError as exc:
        fail(exc)
        return
    if as_json:
        print_json(summary)
    else:
        _print_summary(summary)
    if serve:
        console.print(f"[green]报告 report:[/green] {', '.join(summary['report'])}")
        console.print(f"[green]serving {summary['url']}/dashboard[/green] (Ctrl+C to stop)")
        try:
            server.wait()
        except KeyboardInterrupt:
            server.stop()


def _print_summary(summary: dict) -> None:
    table = Table(title="本轮概况 · the round")
    table.add_column("项目 item")
    table.add_column("数值 value", justify="right")
    labels = {
        "people": "应检人数 people",
        "sampled": "已采样 sampled",
        "coverage": "覆盖率 coverage",
        "sites": "采样点 sites",
        "desks": "采样台 desks",
        "tubes": "采样管 tubes",
        "boxes": "转运箱 boxes",
        "positives": "阳性管 positive pools",
        "finish_minutes": "完成用时(分) finish (min)",
        "deadline_minutes": "时限(分) deadline (min)",
        "on_time": "按时完成 on time",
    }
    for key, label in labels.items():
        value = summary[key]
        if key == "coverage":
            value = f"{value:.2%}"
        elif isinstance(value, float):
            value = f"{value:.1f}"
        elif isinstance(value, int) and not isinstance(value, bool):
            value = f"{value:,}"
        table.add_row(label, str(value))
    out.print(table)


WORKER_START_SECONDS = 60


def _serve(url: str, host: str | None, port: int | None, workers: int = 1) -> None:
    import uvicorn

    from sweep.api import create_app
    from sweep.config import Settings
    from sweep.db import make_engine

    settings = get_settings()
    engine = make_engine(url)
    check_schema(engine)  # a server on a database without the current schema would answer every log-in 500
    host = host or settings.host
    port = port or settings.port
    console.print(f"[green]serving http://{host}:{port}[/green] ({workers} worker{'s' if workers > 1 else ''}; Ctrl+C to stop)")
    if workers > 1:
        # Each worker a process of its own, on one listening socket that uvicorn binds and hands to
        # them (a worker that dies or stops answering is started again); each makes the app from the
        # same settings. A worker answers the supervisor's pings once its imports are done, which on a
        # busy machine took longer than uvicorn's default 5 s, and the supervisor then restarted it
        # again and again: it is given WORKER_START_SECONDS.
        engine.dispose()  # each worker makes its own
        os.environ["SWEEP_DATABASE_URL"] = url
        uvicorn.run("sweep.api:create_app", factory=True, host=host, port=port, workers=workers, log_level="warning",
                    timeout_worker_healthcheck=WORKER_START_SECONDS)
        return
    app_ = create_app(settings=Settings(**{**settings.model_dump(), "database_url": url}), engine=engine)
    uvicorn.run(app_, host=host, port=port, log_level="warning")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address (default: SWEEP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: SWEEP_PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes sharing the port (one per core).")] = 1,
) -> None:
    """Serve the pages and the API on the configured database."""
    _serve(get_settings().database_url, host, port, workers)


@app.command()
def status(
    campaign: Annotated[str, typer.Option(help="Campaign number, or 'latest'.")] = "latest",
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """The round's figures: sampled, coverage, tubes, boxes, results, finish time."""
    from sweep.coverage.service import round_figures

    with session_scope() as session:
        current = campaign_by_ref(session=session, ref=campaign)
        fig = round_figures(session=session, campaign=current)
    data = {
        "campaign": fig.campaign_id, "people": fig.people, "sampled": fig.sampled, "coverage": round(fig.coverage, 6),
        "tubes": fig.tubes, "boxes": fig.boxes, "results": fig.results, "positives": fig.positives,
        "finish_minutes": None if fig.finish_minutes is None else round(fig.finish_minutes, 1),
        "deadline_minutes": fig.deadline_minutes,
    }
    if as_json:
        out.print_json(json.dumps(data))
    else:
        for key, value in data.items():
            out.print(f"{key:>18}: {value}")


if __name__ == "__main__":  # pragma: no cover
    app()
