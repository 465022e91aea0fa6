"""``sweep inspect …``: the SOP's checklists and the findings still open."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

import typer

from sweep.clikit import AsUser, out, print_json, scope_of, session_scope

app = typer.Typer(help="Supervision: checklists, findings, rectification (督导、整改).", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="inspect")


@app.command("templates")
def templates_command() -> None:
    """Install the SOP's checklist templates (if missing) and list them."""
    from sweep.inspect import service

    with session_scope() as session:
        made = service.install_templates(session=session)
        found = service.templates(session=session)
        for t in found:
            out.print(f"[bold]{t.code}[/bold] {t.name} v{t.version}: {len(t.items)} 项 items ({sum(i.critical for i in t.items)} critical)")
    out.print(f"新建 installed {made}")


@app.command("findings")
def findings_command(
    campaign: Annotated[str, typer.Option(help="Campaign number, or 'latest'.")] = "latest",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    as_user: AsUser = None,
) -> None:
    """Findings not yet rectified, by site, the overdue first."""
    from sweep.inspect import service
    from sweep.plan.service import campaign_by_ref

    with session_scope(as_user=as_user) as session:
        sites = service.open_findings(session=session, campaign=campaign_by_ref(session=session, ref=campaign),
                                      now=datetime.now(), scope=scope_of(session))
    if as_json:
        print_json([{**asdict(s), "overdue": s.overdue} for s in sites])
        return
    if not sites:
        out.print("[green]无未整改问题 no open findings[/green]")
    for s in sites:
        out.print(f"[bold]{s.site_code}[/bold] {s.site_name}: {len(s.findings)} 未整改 open, [red]{s.overdue}[/red] 超期 overdue")
        for f in s.findings:
            out.print(f"  [{f.severity}] {f.description} (期限 by {f.rectify_by:%m-%d %H:%M})" if f.rectify_by else f"  [{f.severity}] {f.description}")
