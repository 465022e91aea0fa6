"""One entry point for every registry import: read the file, hand its rows to the right importer,
keep a record of the import and write it to the audit log. Never commits: the caller's unit of
work makes the whole file land at once, or not at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import PurePath
from typing import BinaryIO

from sqlalchemy.orm import Session

from sweep.auth.service import audit
from sweep.errors import InvalidInput, NotFound
from sweep.registry.importer_areas import import_buildings, import_grids
from sweep.registry.importer_people import import_people
from sweep.registry.importer_sites import import_sites, import_staff
from sweep.registry.lookup import community_scope
from sweep.registry.models import IMPORT_KINDS, RegistryImport
from sweep.registry.report import ImportReport
from sweep.registry.tabular import file_format, read_rows

Progress = Callable[[int], None]


def _sha256(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    stream.seek(0)
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def import_file(
    *,
    session: Session,
    kind: str,
    stream: BinaryIO,
    filename: str,
    key: str,
    community_code: str | None = None,
    user_id: int | None = None,
    today: dt.date | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import one CSV, XLSX or GeoJSON file of ``kind`` (people, buildings, grids, sites, staff)."""
    if kind not in IMPORT_KINDS:
        raise InvalidInput("kind", f"未知的导入类型 (unknown import kind) {kind!r}; one of {', '.join(IMPORT_KINDS)}")
    name = PurePath(filename).name or "upload"
    fmt = file_format(name)
    community = community_scope(session, community_code)
    report = ImportReport(kind=kind, filename=name)
    sha = _sha256(stream)
    if fmt == "geojson":
        if kind not in ("buildings", "grids"):
            raise InvalidInput("file", "GeoJSON 只能导入楼栋和网格 (GeoJSON holds buildings and grids only)")
        from sweep.registry.geojson import read_features

        rows = read_features(stream, kind=kind)
    else:
        rows = read_rows(stream, filename=name)

    if kind == "people":
        import_people(session=session, rows=rows, report=report, key=key, community=community, user_id=user_id,
                      today=today, progress=progress)
    elif kind == "buildings":
        import_buildings(session=session, rows=rows, report=report, community=community, user_id=user_id)
    elif kind == "grids":
        import_grids(session=session, rows=rows, report=report, community=community, user_id=user_id)
    elif kind == "sites":
        import_sites(session=session, rows=rows, report=report, community=community, user_id=user_id)
    else:
        import_staff(session=session, rows=rows, report=report, community=community, user_id=user_id)
    if report.rows == 0:
        raise InvalidInput("file", "表头下没有数据行 (no data rows under the header)")

    record = RegistryImport(
        at=datetime.now(), kind=kind, filename=name[:255], sha256=sha, community_id=community.id if community else None,
        total_rows=report.rows, imported=report.imported, updated=report.updated, unchanged=report.unchanged,
        rejected=report.rejected_rows, report={},
    )
    session.add(record)
    session.flush()
    report.import_id = record.id
    record.report = report.stored()
    audit(session=session, user_id=user_id, action="registry.import", entity="registry_import", entity_id=record.id,
          detail={"kind": kind, "file": name, "sha256": sha, "imported": report.imported, "updated": report.updated,
                  "unchanged": report.unchanged, "rejected_rows": report.rejected_rows})
    session.flush()
    return report


def get_import(*, session: Session, import_id: int) -> RegistryImport:
    record = session.get(RegistryImport, import_id)
    if record is None:
        raise NotFound("import_id", f"没有这次导入 (no such import): {import_id}")
    return record


__all__ = ["get_import", "import_file"]
