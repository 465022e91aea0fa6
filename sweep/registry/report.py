"""What an import did, in a form a person can act on: each rejected row, its field and the reason."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

# Enough to show a pattern; the total is always reported.
MAX_WARNINGS = 1000


@dataclass(frozen=True, order=True)
class Rejection:
    row: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "reason": self.reason}


@dataclass
class ImportReport:
    kind: str
    filename: str
    rows: int = 0  # data rows read (title, header and blank rows not counted)
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    warnings: list[Rejection] = field(default_factory=list)
    warnings_total: int = 0
    created: dict[str, int] = field(default_factory=dict)  # areas created on the way (offices, communities, grids)
    header_row: int = 0
    header: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    bad_rows: list[tuple[int, list[str]]] = field(default_factory=list)  # original cells, ID numbers masked
    import_id: int | None = None

    @property
    def rejected_rows(self) -> int:
        return len({r.row for r in self.rejected})

    def reject(self, row: int, field_name: str, reason: str) -> None:
        self.rejected.append(Rejection(row, field_name, reason))

    def refuse(self, row: int, cells: list[str], field_name: str, reason: str) -> None:
        """Reject a row and keep its cells as the file had them, for the rejected rows' workbook."""
        self.reject(row, field_name, reason)
        self.bad_rows.append((row, list(cells)))

    def warn(self, row: int, field_name: str, reason: str) -> None:
        self.warnings_total += 1
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(Rejection(row, field_name, reason))

    def as_dict(self) -> dict[str, Any]:
        return {
            "import_id": self.import_id,
            "kind": self.kind,
            "file": self.filename,
            "rows": self.rows,
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected_rows": self.rejected_rows,
            "rejected": [r.as_dict() for r in sorted(self.rejected)],
            "warnings_total": self.warnings_total,
            "warnings": [w.as_dict() for w in self.warnings],
            "created": self.created,
            "header_row": self.header_row,
            "ignored_columns": self.ignored_columns,
        }

    def stored(self) -> dict[str, Any]:
        """What the import record keeps: the report plus the bad rows for the downloadable sheet."""
        return {**self.as_dict(), "header": self.header, "bad_rows": [[n, cells] for n, cells in self.bad_rows]}


def rejected_xlsx(stored: dict[str, Any]) -> bytes:
    """The rejected rows as they were in the file, with a reason column first, ready to fix and re-import."""
    from openpyxl import Workbook

    reasons: dict[int, list[str]] = {}
    for r in stored.get("rejected", []):
        reasons.setdefault(r["row"], []).append(f"{r['field']}: {r['reason']}")
    book = Workbook(write_only=True)
    sheet = book.create_sheet("未导入 rejected")
    sheet.append(["行号 row", "原因 reason", *stored.get("header", [])])
    for number, cells in stored.get("bad_rows", []):
        sheet.append([number, "；".join(reasons.get(number, [])), *cells])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


__all__ = ["MAX_WARNINGS", "ImportReport", "Rejection", "rejected_xlsx"]
