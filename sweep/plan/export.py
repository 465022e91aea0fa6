"""The plan on paper: the work-plan page, the roster and call-up workbooks, and the notices per grid."""

from __future__ import annotations

import io
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy.orm import Session

from sweep.plan.document import ROLE_ORDER, PlanDocument, load_document, roster_rows
from sweep.plan.models import Campaign
from sweep.plan.sitemap import draw
from sweep.roles import ROLE_LABELS_ZH
from sweep.web.templating import templates

TEMPLATE = "plan_work.html"


def district_timeline(doc: PlanDocument) -> list[dict[str, Any]]:
    """The day's events once for the district: quantities summed over the sites."""
    merged: dict[tuple, dict[str, Any]] = {}
    for s in doc.sites:
        for e in s.events:
            key = (e["due_at"], e["label"])
            if key not in merged:
                merged[key] = {**e, "quantity": e["quantity"] or 0}
            else:
                merged[key]["quantity"] += e["quantity"] or 0
    return sorted(merged.values(), key=lambda e: (e["due_at"], e["label"]))


def render_html(doc: PlanDocument) -> str:

    return templates.env.get_template(TEMPLATE).render(
        doc=doc, m=draw(doc), roles=ROLE_ORDER, role_labels=ROLE_LABELS_ZH, timeline=district_timeline(doc)
    )


def _sheet_title(text: str, used: set[str]) -> str:
    title = re.sub(r"[\[\]:*?/\\]", "-", text)[:31] or "sheet"
    base, n = title, 2
    while title in used:
        title = f"{base[:28]}-{n}"
        n += 1
    used.add(title)
    return title


def roster_workbook(*, session: Session, campaign: Campaign) -> bytes:
    """One sheet a site: role, desk, from–to, name, phone, home community."""
    doc = load_document(session=session, campaign=campaign)
    rows = roster_rows(session=session, campaign=campaign)
    wb = Workbook(write_only=True)
    used: set[str] = set()
    short = {x["site"]: x for x in doc.report.get("shortfalls", [])}
    for s in doc.sites:
        ws = wb.create_sheet(_sheet_title(s.code, used))
        ws.append([f"{s.code} {doc.site_label(s)}", f"{s.desks} 台 desks", f"{s.people} 人 people"]
                  + (["流动采样点 mobile site"] if s.mobile else []))
        ws.append(["岗位 role", "采样台 desk", "开始 from", "结束 to", "姓名 name", "电话 phone", "人员类别 kind", "所属社区 home community"])
        for r in rows.get(s.code, []):
            ws.append([r["role_zh"], r["desk"] or "", doc.clock(r["start"]), doc.clock(r["end"]), r["name"], r["phone"] or "",
                       "医护 medical" if r["kind"] == "medical" else "工作人员 general", r["community"]])
        if s.code in short:
            ws.append([])
            ws.append(["缺员 short"] + [f"{k} {v}" for k, v in short[s.code].items() if k not in ("site", "name")])
    return _bytes(wb)


def callup_workbook(doc: PlanDocument) -> bytes:
    """The call-up by grid: building, people, site, time slot; key groups and home visits."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("通知安排 call-up")
    ws.append(["网格 grid", "网格名称 grid name", "楼栋 building", "人数 people", "采样点 site", "采样点名称 site name",
               "类型 kind", "步行 walk (m)", "时段 slot", "重点人群 key group", "重点人群时段 key slot", "上门人数 home", "上门时间 visit"])
    for grid, items in _by_grid(doc).items():
        for s, b in items:
            ws.append([grid, b["grid_name"], b["name"], b["people"], s.code, s.name,
                       "流动采样点 mobile" if s.mobile else "固定采样点 fixed", round(b["walk_m"]) if b["people"] else "",
                       doc.slot(b["slot_start"], b["slot_minutes"]),
                       b["key_people"] or "", doc.slot(0, s.key_slot_minutes) if b["key_people"] and s.key_slot_minutes else "",
                       b["home_people"] or "", doc.clock(b["home_visit_minute"]) if b["home_visit_minute"] is not None else ""])
    return _bytes(wb)


def _by_grid(doc: PlanDocument) -> dict[str, list]:
    grids: dict[str, list] = defaultdict(list)
    for s in doc.sites:
        for b in s.buildings:
            grids[b["grid"]].append((s, b))
    for items in grids.values():
        items.sort(key=lambda sb: (sb[1]["slot_start"], sb[1]["name"]))
    return dict(sorted(grids.items()))


def notices(doc: PlanDocument) -> dict[str, str]:
    """A ready-to-send notice per grid (Chinese), for its grid worker to post in the residents' groups."""
    c = doc.campaign
    out = {}
    for grid, items in _by_grid(doc).items():
        name = items[0][1]["grid_name"]
        lines = [f"【全员核酸检测通知】{name}的居民朋友们：",
                 f"本轮（第{c.round_no}轮）全员核酸检测于{c.starts_at:%m月%d日} {doc.clock(0)} 开始，请按下列时间到指定采样点采样，"
                 "携带身份证件，全程佩戴口罩，排队保持1米间距，不要提前聚集："]
        for s, b in items:
            if b["people"]:
                lines.append(f"· {b['name']}：{doc.slot(b['slot_start'], b['slot_minutes'])}，到 {doc.site_label(s)}")
        keys = sorted({(doc.site_label(s), s.key_slot_minutes) for s, b in items if b["key_people"] and s.key_slot_minutes})
        for site_name, minutes in keys:
            lines.append(f"机场、冷链、隔离酒店等重点人群请于 {doc.slot(0, minutes)} 优先到 {site_name} 单独采样。")
        homes = [(s, b) for s, b in items if b["home_people"]]
        if homes:
            lines.append("行动不便、卧床的居民由医护人员上门采样，请在家等候：")
            lines += [f"· {b['name']}：约 {doc.clock(b['home_visit_minute'] or 0)}" for _s, b in homes]
        lines.append("未按时采样的居民，网格员将逐户联系。感谢您的配合！")
        out[grid] = "\n".join(lines) + "\n"
    return out


def _bytes(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_all(*, session: Session, campaign: Campaign, folder: Path) -> list[Path]:
    """plan.html, roster.xlsx, callup.xlsx and notices/<grid>.txt under ``folder``."""
    doc = load_document(session=session, campaign=campaign)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notices").mkdir(exist_ok=True)
    written = []
    for name, data in (("plan.html", render_html(doc).encode()), ("roster.xlsx", roster_workbook(session=session, campaign=campaign)),
                       ("callup.xlsx", callup_workbook(doc))):
        (folder / name).write_bytes(data)
        written.append(folder / name)
    for grid, text in notices(doc).items():
        path = folder / "notices" / f"{grid}.txt"
        path.write_text(text, encoding="utf-8")
    written.append(folder / "notices")
    return written
