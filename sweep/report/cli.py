"""``sweep report``: the round's report as HTML (and PDF) with XLSX workbooks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sweep.clikit import console, fail, session_scope
from sweep.plan.service import campaign_by_ref


def report(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the report into (made if missing).")],
    campaign: Annotated[str, typer.Option(help="Campaign number, or 'latest'.")] = "latest",
    lang: Annotated[str, typer.Option(help="zh (default) or en.")] = "zh",
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also print the HTML to PDF with the system's Chromium.")] = False,
    database: Annotated[str | None, typer.Option(help="Database URL (default: SWEEP_DATABASE_URL).")] = None,
) -> None:
    """Write the round's report: report.html, report.xlsx (and report.pdf)."""
    from sweep.config import get_settings
    from sweep.errors import DomainError, InvalidInput
    from sweep.report.render import write_html, write_xlsx
    from sweep.report.service import build_report
    from sweep.web.i18n import LANGUAGES

    try:
        if lang not in LANGUAGES:
            raise InvalidInput("lang", f"语言应为 {'/'.join(LANGUAGES)} (language must be one of those)")
        if pdf:
            from sweep.report.pdf import printer

            printer()  # before anything is written: no half-done report when the PDF cannot be made
        out.mkdir(parents=True, exist_ok=True)
        with session_scope(database) as session:
            current = campaign_by_ref(session=session, ref=campaign)
            settings = get_settings()
            data = build_report(session=session, campaign=current, wait_limit_minutes=settings.sample_wait_limit_minutes,
                                transit_limit_minutes=settings.transit_limit_minutes)
            written = [write_html(data, out / "report.html", lang=lang), write_xlsx(data, out / "report.xlsx")]
        if pdf:
            from sweep.report.pdf import html_to_pdf

            written.append(html_to_pdf(written[0], out / "report.pdf"))
    except DomainError as exc:
        fail(exc)
        return
    for path in written:
        console.print(f"[green]✓[/green] {path}")
