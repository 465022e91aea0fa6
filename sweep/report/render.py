"""Write the report: one self-contained HTML page (charts as inline SVG, prints on A4) and XLSX."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from sweep.report.service import RoundReport
from sweep.web import i18n

TEMPLATES = Path(__file__).resolve().parents[1] / "web" / "templates"


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), extensions=["jinja2.ext.i18n"])
    # The i18n extension adds this method to the environment at run time, unseen by its types.
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    return env


def curve_svg(report: RoundReport, *, width: int = 640, height: int = 220, hour: str = "h") -> str:
    """Cumulative sampled (solid) against the plan's line (dashed), with the deadline in red."""
    c = report.curve
    top = max([*c.sampled, *c.called, 1])
    span = c.minutes[-1] if c.minutes else 1
    pad = 36

    def xy(minute: float, n: float) -> str:
        return f"{pad + (width - 2 * pad) * minute / span:.1f},{height - pad - (height - 2 * pad) * n / top:.1f}"

    sampled = " ".join(xy(m, n) for m, n in zip([0, *c.minutes], [0, *c.sampled], strict=True))
    called = " ".join(xy(m, n) for m, n in zip([0, *c.minutes], [0, *c.called], strict=True))
    dx = pad + (width - 2 * pad) * report.campaign.deadline_minutes / span
    ticks = "".join(
        f'<text x="{pad + (width - 2 * pad) * h * 60 / span:.0f}" y="{height - pad + 14}" font-size="10" text-anchor="middle">{h}{hour}</text>'
        for h in range(0, span // 60 + 1)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">'
        f'<rect x="{pad}" y="{pad}" width="{width - 2 * pad}" height="{height - 2 * pad}" fill="none" stroke="#ccc"/>'
        f'<polyline points="{called}" fill="none" stroke="#868e96" stroke-dasharray="5,4" stroke-width="1.5"/>'
        f'<polyline points="{sampled}" fill="none" stroke="#1971c2" stroke-width="2"/>'
        f'<line x1="{dx:.1f}" y1="{pad}" x2="{dx:.1f}" y2="{height - pad}" stroke="#e03131" stroke-width="1.5"/>'
        f'<text x="{pad}" y="{pad - 8}" font-size="11">{top:,}</text>{ticks}</svg>'
    )


def write_html(report: RoundReport, path: Path, *, lang: str = "zh") -> Path:
    token = i18n.current.set(lang)
    try:
        html = _environment().get_template("report.html").render(r=report, curve_svg=curve_svg(report, hour=i18n.gettext("时")), lang=lang)
    finally:
        i18n.current.reset(token)
    path.write_text(html, encoding="utf-8")
    return path


# The workbook is bilingual throughout, its values as its headers.
KINDS = {"materials": "物资 materials", "staff": "人员 staff", "disinfection": "消杀 disinfection", "waste": "医疗废物 waste"}
SEVERITY = {"minor": "一般 minor", "major": "较重 major", "critical": "严重 critical"}
STATUS = {"open": "未整改 open", "rectified": "已整改 rectified"}
HEADER = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="A4161A")


def _sheet(wb: Workbook, title: str, header: list[str], rows: list[list[object]]) -> None:
    ws = wb.create_sheet(title)
    ws.append(header)
    for cell in ws[1]:
        cell.font, cell.fill = HEADER, HEADER_FILL
    for row in rows:
        ws.append(row)
    for i, name in enumerate(header, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(10, len(name) * 2 + 2)
    ws.freeze_panes = "A2"


def write_xlsx(report: RoundReport, path: Path) -> Path:
    wb = Workbook()
    wb.remove(wb.worksheets[0])  # the empty sheet a new workbook starts with
    f = report.figures
    _sheet(wb, "概况 summary", ["项目 item", "数值 value"], [
        ["轮次 campaign", report.campaign.name], ["应检 people", f.people], ["已检 sampled", f.sampled],
        ["覆盖率 coverage", round(f.coverage, 6)], ["采样点 sites", f.sites], ["采样台 desks", f.desks],
        ["采样管 tubes", f.tubes], ["转运箱 boxes", f.boxes], ["结果 results", f.results], ["阳性管 positive pools", f.positives],
        ["完成用时(分) finish (min)", None if f.finish_minutes is None else round(f.finish_minutes, 1)],
        ["时限(分) deadline (min)", f.deadline_minutes],
    ])
    _sheet(wb, "社区覆盖 coverage", ["社区编码 code", "社区 community", "应检 expected", "已检 sampled", "覆盖率 coverage"],
           [[a.code, a.name, a.expected, a.sampled, round(a.fraction, 6)] for a in report.areas])
    _sheet(wb, "采样点时效 sites", ["编码 code", "采样点 site", "社区 community", "采样台 desks", "应检 expected", "已检 sampled",
                                 "计划结束(分) planned end", "实际完成(分) finish", "比计划(分) vs plan", "超过时限(分) past deadline"],
           [[s.code, s.name, s.community, s.desks, s.expected, s.sampled, s.planned_end_minute, s.finish_minute,
             s.behind_plan_minutes, round(s.late_minutes, 1)]
            for s in report.sites])
    _sheet(wb, "转运时效 transit", ["编码 code", "采样点 site", "转运箱 boxes", "已交接 handed over", "已签收 received",
                                 "待运中位(分) wait median", "待运最长(分) wait max", "在途中位(分) transit median",
                                 "在途最长(分) transit max", "待运超时箱 boxes waited too long", "在途超时箱 boxes too long on the road"],
           [[t.code, t.name, t.boxes, t.handed_over, t.received, t.wait_median_minutes, t.wait_max_minutes, t.transit_median_minutes,
             t.transit_max_minutes, t.boxes_waited_too_long, t.boxes_too_long_in_transit] for t in report.transit])
    _sheet(wb, "超时事项 late items", ["采样点 site", "类别 kind", "事项 item", "截止 due", "完成 done", "超时(分) late"],
           [[i.site_code, KINDS.get(i.kind, i.kind), i.label, i.due_at, i.done_at, round(i.minutes_late, 1)] for i in report.late_items])
    _sheet(wb, "阳性管 positives",
           ["管码 tube", "采样点 site", "出结果 resulted", "Ct", "人数 people", "复核已关闭 retests closed", "复核阳性 retest positive"],
           [[p.tube_code, p.site_code, p.resulted_at, p.ct_value, p.people, p.retests_closed, p.retests_positive] for p in report.positives])
    _sheet(wb, "督导发现 findings", ["采样点 site", "程度 severity", "问题 finding", "状态 status", "整改期限 rectify by"],
           [[x.site_code, SEVERITY.get(x.severity, x.severity), x.description, STATUS.get(x.status, x.status), x.rectify_by]
            for x in report.findings])
    wb.save(path)
    return path
