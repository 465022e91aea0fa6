"""Key groups from the spreadsheets employers keep: their workplaces, who works where, and the tests
a workplace ran itself. CSV or XLSX with Chinese headers, read as the registry's imports are: each
bad row named with its field and reason, the good ones stored, the same file twice changing nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import PurePath
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.auth.scope import Scope
from sweep.auth.service import audit
from sweep.db import in_chunks
from sweep.errors import DomainError, InvalidInput
from sweep.keygroups import service as keygroups
from sweep.keygroups.models import KeyGroupMember, KeyGroupTest, Workplace
from sweep.registry.fields import BadCell, fold, guess_doc_type, parse_date, parse_doc_type, parse_int, parse_other_document
from sweep.registry.headers import Header, Row, find_header
from sweep.registry.idnumber import InvalidIdNumber, validate_id_number
from sweep.registry.importer_areas import _record, unique_code
from sweep.registry.models import Community, KeyGroup, Person
from sweep.registry.report import ImportReport
from sweep.registry.service import id_lookup_hash
from sweep.registry.tabular import read_rows

IMPORT_KINDS = ("workplaces", "members", "tests")
_ID = ("身份证号", "身份证号码", "公民身份号码", "证件号码", "证件号", "id_number", "document_number")
_NAME = ("姓名", "名字", "name")
_DOC = ("证件类型", "doc_type")
_WORKPLACE = ("场所编码", "工作场所编码", "工作场所", "workplace_code", "workplace")

# The documented columns (docs/results.md repeats them); earlier aliases win, as in the registry.
HEADERS: dict[str, dict[str, tuple[str, ...]]] = {
    "workplaces": {
        "code": ("场所编码", "工作场所编码", "编码", "workplace_code", "code"),
        "name": ("场所名称", "工作场所名称", "工作场所", "名称", "workplace_name", "name"),
        "employer": ("用人单位", "单位名称", "单位", "employer"),
        "key_group": ("人员类别", "重点人群", "人群类别", "key_group"),
        "community": ("社区编码", "社区", "所属社区", "community_code", "community"),
        "env_every_days": ("环境采样间隔天数", "环境采样间隔", "env_every_days"),
    },
    "members": {"id_number": _ID, "doc_type": _DOC, "name": _NAME, "workplace": _WORKPLACE,
                "since": ("入职日期", "起始日期", "since")},
    "tests": {"id_number": _ID, "doc_type": _DOC, "name": _NAME,
              "sampled_at": ("采样时间", "采样日期", "sampled_at"),
              "result": ("检测结果", "结果", "result"),
              "resulted_at": ("结果时间", "报告时间", "resulted_at")},
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "workplaces": ("code", "name", "employer", "key_group"),
    "members": ("id_number", "workplace"),
    "tests": ("id_number", "sampled_at"),
}
LABELS = {"employer": "用人单位", "key_group": "人员类别", "workplace": "场所编码", "sampled_at": "采样时间", "id_number": "身份证号",
          "code": "场所编码", "name": "场所名称"}
RESULTS = {"阴性": "negative", "阳性": "positive", "无效": "invalid", "negative": "negative", "positive": "positive",
           "invalid": "invalid", "neg": "negative", "pos": "positive"}
_TIME = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]+(\d{1,2})[:：时](\d{2})(?:[:：分](\d{2}))?)?")


def parse_time(text: str, *, field: str) -> dt.datetime:
    """'2026-12-10 08:30', '2026/12/10 8:30', '2026年12月10日'; a date alone is its midnight."""
    m = _TIME.fullmatch(fold(text).replace("秒", ""))
    if m is None:
        raise BadCell(f"时间格式不对，应如 2026-12-10 08:30 (malformed time, e.g. 2026-12-10 08:30): {text}", field=field)
    y, mo, d, h, mi, sec = (int(g) if g else 0 for g in m.groups())
    try:
        return dt.datetime(y, mo, d, h, mi, sec)
    except ValueError:
        raise BadCell(f"时间不存在 (no such time): {text}", field=field) from None


def _lookup_hash(number: str, doc_text: str, key: str) -> bytes:
    """The registry's look-up hash of a row's document: ID cards checked (GB 11643), others as the people import keys them."""
    doc = parse_doc_type(doc_text) if doc_text else guess_doc_type(number)
    if doc == "id_card":
        try:
            return id_lookup_hash(validate_id_number(number).number, key=key)
        except InvalidIdNumber as exc:
            raise BadCell(exc.reason, field="id_number") from None
    return id_lookup_hash(f"{doc}:{parse_other_document(number)}", key=key)


def _find_group(groups: dict[str, KeyGroup], text: str) -> KeyGroup | None:
    """By code or name, or a short form of the name (机场 for 机场工作人员), as the people import reads 人员类别."""
    if text in groups:
        return groups[text]
    return next((g for name, g in groups.items() if len(text) >= 2 and (text in name or name in text)), None)


class _Sheet:
    """The rows of one file under its header, with the report they are counted in."""

    def __init__(self, rows: Iterable[Row], kind: str, report: ImportReport) -> None:
        header, rest = find_header(rows, kind, table=HEADERS[kind], required=REQUIRED[kind], labels=LABELS)
        self.header: Header = header
        self.rows = [r for r in rest if "".join(r[1]).strip()]
        self.report = report
        report.header_row, report.header, report.ignored_columns = header.row, header.cells, header.ignored

    def get(self, cells: list[str], name: str) -> str:
        return self.header.get(cells, name)

    def reject(self, number: int, cells: list[str], field: str, reason: str) -> None:
        self.report.reject(number, field, reason)
        masked = list(cells)
        i = self.header.columns.get("id_number")
        if i is not None and i < len(masked) and masked[i]:
            masked[i] = masked[i][:6] + "********" + masked[i][-4:] if len(masked[i]) >= 10 else "****"
        self.report.bad_rows.append((number, masked))


def _found(person: Person | BadCell) -> Person:
    """A row's person; a row whose document found nobody in the registry is refused, saying why."""
    if isinstance(person, BadCell):
        raise person
    return person


def _people(session: Session, sheet: _Sheet, key: str) -> dict[int, Person | BadCell]:
    """Row number -> the registry's person of that row (by document number, the name checked when given)."""
    hashes: dict[int, bytes] = {}
    found: dict[int, Person | BadCell] = {}
    for number, cells in sheet.rows:
        try:
            hashes[number] = _lookup_hash(sheet.get(cells, "id_number"), sheet.get(cells, "doc_type"), key)
        except BadCell as exc:
            found[number] = BadCell(exc.reason, field=exc.field or "id_number")
    wanted = list(set(hashes.values()))
    by_hash: dict[bytes, Person] = {}
    for chunk in in_chunks(wanted):
        by_hash.update((p.id_hash, p) for p in session.scalars(select(Person).where(Person.id_hash.in_(chunk))))
    for number, cells in sheet.rows:
        if number in found:
            continue
        person = by_hash.get(hashes[number])
        named = fold(sheet.get(cells, "name"))
        if person is None:
            found[number] = BadCell("登记册中没有此人，请先导入人员 (no one with this document in the registry; import the people first)",
                                    field="id_number")
        elif named and named != person.name:
            found[number] = BadCell("姓名与登记册不符，请核对证件号码 (the name differs from the registry's; check the number)", field="name")
        else:
            found[number] = person
    return found


def import_workplaces(*, session: Session, sheet: _Sheet, user_id: int | None) -> None:
    groups: dict[str, KeyGroup] = {}
    for g in session.scalars(select(KeyGroup)):
        groups[g.code], groups[g.name] = g, g
    communities = {c.code: c.id for c in session.scalars(select(Community))}
    existing = {w.code: w for w in session.scalars(select(Workplace))}
    seen: dict[str, int] = {}
    for number, cells in sheet.rows:
        sheet.report.rows += 1

        def get(name: str, cells: list[str] = cells) -> str:
            return fold(sheet.get(cells, name))

        try:
            code = unique_code(get("code"), seen=seen, row=number, longest=48, what="场所", what_en="workplace")
            if not get("name") or len(get("name")) > 100:
                raise BadCell("场所名称为空或超过100个字 (workplace name missing or longer than 100 characters)", field="name")
            if not get("employer") or len(get("employer")) > 100:
                raise BadCell("用人单位为空或超过100个字 (employer missing or longer than 100 characters)", field="employer")
            group = _find_group(groups, get("key_group"))
            if group is None:
                known = "、".join(sorted(g.name for g in set(groups.values()))) or "尚无，请先建立 (none yet: create one first)"
                raise BadCell(f"未知的人员类别，可用：{known} (unknown key group): {get('key_group')}", field="key_group")
            community_id = None
            if get("community"):
                community_id = communities.get(get("community"))
                if community_id is None:
                    raise BadCell(f"社区不存在 (no such community in the registry): {get('community')}", field="community")
            every = parse_int(get("env_every_days"), what="环境采样间隔", what_en="environment interval", field="env_every_days")
            if every is not None and not 1 <= every <= keygroups.MAX_EVERY_DAYS:
                raise BadCell(f"环境采样间隔应为 1–{keygroups.MAX_EVERY_DAYS} 天 (1-{keygroups.MAX_EVERY_DAYS} days)", field="env_every_days")
        except BadCell as exc:
            sheet.reject(number, cells, exc.field or "row", exc.reason)
            continue
        values: dict[str, Any] = {"name": get("name"), "employer": get("employer"), "key_group_id": group.id,
                                  "community_id": community_id, "env_every_days": every or group.test_every_days}
        place = existing.get(code)
        _record(session, sheet.report, user_id, "workplace", place or Workplace(code=code, **values), values)
    session.flush()


def import_members(*, session: Session, sheet: _Sheet, key: str, user_id: int | None) -> None:
    places = {w.code: w for w in session.scalars(select(Workplace))}
    people = _people(session, sheet, key)
    members = {m.person_id: m for m in session.scalars(select(KeyGroupMember))}
    seen: dict[int, int] = {}
    for number, cells in sheet.rows:
        sheet.report.rows += 1
        try:
            person = _found(people[number])
            place = places.get(fold(sheet.get(cells, "workplace")))
            if place is None:
                raise BadCell(f"没有这个工作场所，请先导入场所 (no such workplace; import the workplaces first): "
                              f"{sheet.get(cells, 'workplace')}", field="workplace")
            if person.key_group_id not in (None, place.key_group_id):
                raise BadCell("此人属于另一重点人群 (the person is in another key group than this workplace's)", field="workplace")
            if person.id in seen:
                raise BadCell(f"与第{seen[person.id]}行重复 (duplicate of row {seen[person.id]})", field="id_number")
            seen[person.id] = number
            since = parse_date(sheet.get(cells, "since"))
        except BadCell as exc:
            sheet.reject(number, cells, exc.field or "row", exc.reason)
            continue
        if person.key_group_id is None:
            # Working at a key group's workplace puts the person in that group (人员类别), audited.
            person.key_group_id = place.key_group_id
            audit(session=session, user_id=user_id, action="registry.person.update", entity="person", entity_id=person.id,
                  detail={"changes": {"key_group_id": [None, place.key_group_id]}, "file": sheet.report.filename})
        values: dict[str, Any] = {"workplace_id": place.id}
        if since is not None:
            values["since"] = dt.datetime.combine(since, dt.time())
        member = members.get(person.id)
        if member is None:
            member = members[person.id] = KeyGroupMember(person_id=person.id, **values)
        _record(session, sheet.report, user_id, "key_group_member", member, values)
    session.flush()


def import_tests(*, session: Session, sheet: _Sheet, key: str, user_id: int | None, scope: Scope) -> None:
    people = _people(session, sheet, key)
    seen: dict[tuple[int, dt.datetime], int] = {}
    for number, cells in sheet.rows:
        sheet.report.rows += 1
        try:
            person = _found(people[number])
            sampled_at = parse_time(sheet.get(cells, "sampled_at"), field="sampled_at")
            text = fold(sheet.get(cells, "result")).lower()
            if text and text not in RESULTS:
                raise BadCell(f"结果应为 阴性/阳性/无效 (result must be negative, positive or invalid): {text}", field="result")
            resulted = sheet.get(cells, "resulted_at")
            resulted_at = parse_time(resulted, field="resulted_at") if resulted else None
            if (person.id, sampled_at) in seen:
                raise BadCell(f"与第{seen[person.id, sampled_at]}行重复 (duplicate of row {seen[person.id, sampled_at]})", field="sampled_at")
            seen[person.id, sampled_at] = number
        except BadCell as exc:
            sheet.reject(number, cells, exc.field or "row", exc.reason)
            continue
        before = session.scalar(select(KeyGroupTest).where(KeyGroupTest.person_id == person.id, KeyGroupTest.sampled_at == sampled_at))
        had = (before.id, before.result) if before is not None else None
        try:
            # Refuses before it writes: a bad row leaves nothing behind.
            test = keygroups.record_test(session=session, person_id=person.id, sampled_at=sampled_at, result=RESULTS.get(text),
                                         resulted_at=resulted_at, user_id=user_id, source="import", scope=scope)
        except DomainError as exc:
            sheet.reject(number, cells, exc.field, exc.reason)
            continue
        if had is None:
            sheet.report.imported += 1
        elif had[1] != test.result:
            sheet.report.updated += 1
        else:
            sheet.report.unchanged += 1
    session.flush()


def import_keygroup_file(
    *, session: Session, kind: str, stream: BinaryIO, filename: str, key: str, user_id: int | None = None, scope: Scope | None = None
) -> ImportReport:
    """Import one CSV or XLSX of ``kind`` (workplaces, members, tests). Never commits: the caller's
    unit of work lands the good rows at once. ``scope`` None is the server's own work (the demo)."""
    scope = scope or Scope.system(user_id)
    if kind not in IMPORT_KINDS:
        raise InvalidInput("kind", f"未知的导入类型 (unknown import kind) {kind!r}; one of {', '.join(IMPORT_KINDS)}")
    name = PurePath(filename).name or "upload"
    report = ImportReport(kind=kind, filename=name)
    sheet = _Sheet(read_rows(stream, filename=name), kind, report)
    if kind == "workplaces":
        import_workplaces(session=session, sheet=sheet, user_id=user_id)
    elif kind == "members":
        import_members(session=session, sheet=sheet, key=key, user_id=user_id)
    else:
        import_tests(session=session, sheet=sheet, key=key, user_id=user_id, scope=scope)
    if report.rows == 0:
        raise InvalidInput("file", "表头下没有数据行 (no data rows under the header)")
    audit(session=session, user_id=user_id, action="key_groups.import", entity="key_group_import",
          detail={"kind": kind, "file": name, "imported": report.imported, "updated": report.updated,
                  "unchanged": report.unchanged, "rejected_rows": report.rejected_rows})
    session.flush()
    return report


__all__ = ["HEADERS", "IMPORT_KINDS", "REQUIRED", "import_keygroup_file", "parse_time"]
