"""Load an instrument's export of results: one row per tube, bad rows reported by row, good rows stored.

Columns (header names in Chinese or English, any order, case and spaces ignored):

| column        | also accepted                  | required | content                                          |
| ------------- | ------------------------------ | -------- | ------------------------------------------------ |
| `tube_code`   | 管码, 样本编号, barcode        | yes      | the tube's code as scanned at the site           |
| `result`      | 结果, 检测结果                 | yes      | negative/positive/invalid, 阴性/阳性/无效, NEG/POS/INV |
| `ct_orf1ab`   | ORF1ab, Ct_ORF1ab              | no       | Ct of the ORF1ab target, (0, 50]                 |
| `ct_n`        | N, Ct_N                        | no       | Ct of the N target, (0, 50]                      |
| `ct`          | Ct值                           | no       | a single Ct value when the instrument gives one  |
| `resulted_at` | 检测时间, 报告时间             | no       | `YYYY-MM-DD HH:MM[:SS]` (or with `/`); default: the time of import |

The good rows are stored in the caller's transaction; loading the same file again is safe (a tube
that already has the same result counts as unchanged), so an interrupted load is simply re-run.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from sweep.db import in_chunks
from sweep.errors import DomainError, InvalidInput
from sweep.field.models import Handover, Sample, Tube
from sweep.lab.models import LabResult, ResultImport
from sweep.lab.service import CT_MAX, store_result
from sweep.params import local_time
from sweep.plan.clock import within_round
from sweep.plan.models import Campaign

COLUMNS = {
    "tube_code": ("tube_code", "管码", "样本编号", "barcode", "tube", "sample_id"),
    "result": ("result", "结果", "检测结果"),
    "ct_orf1ab": ("ct_orf1ab", "orf1ab", "orf1ab_ct"),
    "ct_n": ("ct_n", "n", "n_ct", "n基因"),
    "ct": ("ct", "ct值", "ct_value"),
    "resulted_at": ("resulted_at", "检测时间", "报告时间", "time"),
}
RESULT_WORDS = {
    "negative": "negative", "neg": "negative", "阴性": "negative", "-": "negative",
    "positive": "positive", "pos": "positive", "阳性": "positive", "+": "positive",
    "invalid": "invalid", "inv": "invalid", "无效": "invalid",
}
CT_COLUMNS = {"ct_orf1ab": "ORF1ab", "ct_n": "N", "ct": "ct"}
# Excel's "CSV (UTF-8)" writes a BOM; its plain "CSV" on a Chinese Windows writes GBK (GB18030 is its superset).
ENCODINGS = ("utf-8-sig", "gb18030")
_CHUNK = 500


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    reason: str


@dataclass
class ImportReport:
    import_id: int | None
    filename: str
    total_rows: int = 0
    imported: int = 0
    unchanged: int = 0
    rejected: int = 0
    retests_ordered: int = 0
    retests_closed: int = 0
    positive_tubes: list[str] = field(default_factory=list)
    invalid_tubes: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    row: int
    tube_code: str
    result: str
    ct_values: dict[str, float] | None
    resulted_at: datetime


def _key(header: str) -> str:
    return re.sub(r"[\s_\-()（）]", "", header.strip().lower())


_ALIASES = {_key(alias): name for name, aliases in COLUMNS.items() for alias in aliases}


def _decode(data: bytes) -> str:
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput("file", "文件编码无法识别，请另存为 UTF-8 CSV (cannot decode the file; save it as UTF-8 CSV)")


def _rows(text: str) -> tuple[dict[str, int], Iterator[tuple[int, list[str]]]]:
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise InvalidInput("file", "文件为空或缺少表头 (the file is empty or has no header row)")
    columns: dict[str, int] = {}
    for i, name in enumerate(header):
        known = _ALIASES.get(_key(name))
        if known and known not in columns:
            columns[known] = i
    missing = [c for c in ("tube_code", "result") if c not in columns]
    if missing:
        raise InvalidInput("columns", f"缺少必需的列 (missing required columns): {', '.join(missing)}; found: {', '.join(header)}")

    def body() -> Iterator[tuple[int, list[str]]]:
        for cells in reader:
            if any(c.strip() for c in cells):
                yield reader.line_num, cells

    return columns, body()


def _parse_time(value: str) -> datetime:
    # An instrument that writes its zone (…+08:00) is read on the district's wall clock, as every time is stored.
    return local_time(datetime.fromisoformat(value.strip().replace("/", "-")))


def _check_row(number: int, cells: list[str], columns: dict[str, int], at: datetime) -> _Row | RowError:
    def cell(name: str) -> str:
        i = columns.get(name)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    code = cell("tube_code")
    if not code:
        return RowError(number, "tube_code", "管码为空 (the tube code is empty)")
    raw = cell("result")
    result = RESULT_WORDS.get(raw.lower())
    if result is None:
        return RowError(number, "result", f"无法识别的结果 (unknown result) {raw!r}: 阴性/阳性/无效 or negative/positive/invalid")
    cts: dict[str, float] = {}
    for column, target in CT_COLUMNS.items():
        text = cell(column)
        if not text or text.lower() in ("na", "n/a", "undetermined", "-", "未检出"):
            continue
        try:
            value = float(text)
        except ValueError:
            return RowError(number, column, f"Ct值不是数字 (the Ct value is not a number): {text!r}")
        if not 0 < value <= CT_MAX:
            return RowError(number, column, f"Ct值应在 0–{CT_MAX:g} 之间 (a Ct value lies in (0, {CT_MAX:g}]): {text}")
        cts[target] = value
    when = at
    if cell("resulted_at"):
        try:
            when = _parse_time(cell("resulted_at"))
        except ValueError:
            return RowError(number, "resulted_at", f"时间格式应为 YYYY-MM-DD HH:MM (the time reads YYYY-MM-DD HH:MM): {cell('resulted_at')!r}")
    return _Row(number, code, result, cts or None, when)


def import_results(
    *,
    session: Session,
    campaign: Campaign,
    filename: str,
    data: bytes,
    at: datetime,
    user_id: int | None = None,
    strict: bool = False,
) -> ImportReport:
    """Check every row, store the good ones; with ``strict`` any bad row stores nothing."""
    columns, body = _rows(_decode(data))
    report = ImportReport(import_id=None, filename=filename)
    checked: list[_Row] = []
    for number, cells in body:
        report.total_rows += 1
        row = _check_row(number, cells, columns, at)
        if not isinstance(row, RowError):
            try:  # a typed date or an instrument's wrong clock; the file may come from another machine, later
                within_round(campaign=campaign, value=row.resulted_at, field="resulted_at")
            except DomainError as exc:
                row = RowError(number, "resulted_at", exc.reason)
        if isinstance(row, RowError):
            report.errors.append(row)
        else:
            checked.append(row)

    conn = session.connection()
    tubes: dict[str, tuple] = {}
    codes = [r.tube_code for r in checked]
    for chunk in in_chunks(codes, _CHUNK):
        for t in conn.execute(
            select(Tube.code, Tube.id, Handover.received_at, LabResult.result)
            .outerjoin(Handover, Handover.box_id == Tube.box_id)
            .outerjoin(LabResult, LabResult.tube_id == Tube.id)
            .where(Tube.campaign_id == campaign.id, Tube.code.in_(chunk))
        ):
            tubes[t.code] = (t.id, t.received_at, t.result)

    good: list[tuple[_Row, int]] = []
    accepted: dict[str, int] = {}  # tube code -> the row that stands for it
    for row in checked:
        found = tubes.get(row.tube_code)
        if row.tube_code in accepted:
            first = accepted[row.tube_code]
            report.errors.append(RowError(row.row, "tube_code", f"管码 {row.tube_code} 与第 {first} 行重复 (the same tube as row {first})"))
            continue
        if found is None:
            report.errors.append(RowError(row.row, "tube_code", f"本轮没有这个管码 (unknown tube code in this campaign): {row.tube_code}"))
            continue
        tube_id, received_at, existing = found
        if existing == row.result:
            report.unchanged += 1
            accepted[row.tube_code] = row.row
        elif existing is not None:
            report.errors.append(RowError(row.row, "result", f"管码 {row.tube_code} 已有结果“{existing}” (the tube already has a different result)"))
        elif received_at is None:
            report.errors.append(RowError(row.row, "tube_code", f"管码 {row.tube_code} 所在的箱子尚未签收 (the tube's box has not been received)"))
        elif row.resulted_at < received_at:
            report.errors.append(RowError(row.row, "resulted_at", "结果时间早于签收时间 (the result is dated before the box was received)"))
        else:
            good.append((row, tube_id))
            accepted[row.tube_code] = row.row
    report.errors.sort(key=lambda e: e.row)
    report.rejected = len(report.errors)
    if strict and report.errors:
        raise InvalidInput(
            "file", f"{report.rejected} 行有误，未导入任何结果 ({report.rejected} bad rows; nothing was imported)",
            errors=[asdict(e) for e in report.errors],
        )

    record = ResultImport(
        campaign_id=campaign.id, at=at, filename=filename[:255], sha256=hashlib.sha256(data).hexdigest(),
        total_rows=report.total_rows, imported=0, unchanged=report.unchanged, rejected=report.rejected,
        report={"errors": [asdict(e) for e in report.errors]}, user_id=user_id,
    )
    session.add(record)
    session.flush()
    report.import_id = record.id

    # Most rows are negative pools with nothing to close: those go in one statement.
    ids = [tube_id for _row, tube_id in good]
    holds_retests: set[int] = set()
    for tube_ids in in_chunks(ids, _CHUNK):
        holds_retests.update(
            conn.execute(select(Sample.tube_id).where(Sample.tube_id.in_(tube_ids), Sample.kind == "retest").distinct()).scalars()
        )
    plain = [
        {"campaign_id": campaign.id, "tube_id": tube_id, "result": "negative", "ct_value": min(r.ct_values.values()) if r.ct_values else None,
         "ct_values": r.ct_values, "resulted_at": r.resulted_at, "recorded_by": user_id, "import_id": record.id}
        for r, tube_id in good
        if r.result == "negative" and tube_id not in holds_retests
    ]
    if plain:
        conn.execute(insert(LabResult), plain)
    for r, tube_id in good:
        if r.result == "negative" and tube_id not in holds_retests:
            continue
        _id, ordered, closed = store_result(
            conn, campaign=campaign, tube_id=tube_id, result=r.result, at=r.resulted_at, ct_values=r.ct_values,
            user_id=user_id, import_id=record.id,
        )
        report.retests_ordered += ordered
        report.retests_closed += closed
        if r.result == "positive":
            report.positive_tubes.append(r.tube_code)
        elif r.result == "invalid":
            report.invalid_tubes.append(r.tube_code)
    report.imported = len(good)
    conn.execute(update(ResultImport).where(ResultImport.id == record.id).values(imported=report.imported))
    return report


__all__ = ["COLUMNS", "ImportReport", "RowError", "import_results"]
