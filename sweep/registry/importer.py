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

from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.auth.auditlog import record_view
from sweep.auth.scope import Scope
from sweep.auth.service import audit
from sweep.errors import InvalidInput, NotFound
from sweep.registry.importer_areas import import_buildings, import_grids
from sweep.registry.importer_people import import_people
from sweep.registry.importer_sites import import_sites, import_staff
from sweep.registry.lookup import community_scope
from sweep.registry.models import IMPORT_KINDS, Community, RegistryImport
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
    scope: Scope,
    community_code: str | None = None,
    user_id: int | None = None,
    today: dt.date | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import one CSV, XLSX or GeoJSON file of ``kind`` (people, buildings, grids, sites, staff).

    An office imports within its office: people rows outside it are rejected (row, field, reason),
    and the other kinds, which draw the district's areas, only for one of its communities.
    """
    if kind not in IMPORT_KINDS:
        raise InvalidInput("kind", f"未知的导入类型 (unknown import kind) {kind!r}; one of {', '.join(IMPORT_KINDS)}")
    user_id = user_id if user_id is not None else scope.user_id
    name = PurePath(filename).name or "upload"
    fmt = file_format(name)
    community = community_scope(session, community_code)
    office_id = _office_limit(scope, community, kind)
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
                      today=today, progress=progress, office_id=office_id)
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
        user_id=user_id, office_id=office_id,
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


def _office_limit(scope: Scope, community: Community | None, kind: str) -> int | None:
    """The office an import is held to: None for the district, the user's office for an office."""
    reach = scope.reach("imports")
    if reach == "all":
        return None
    if reach != "office":
        raise scope.refuse("kind", "导入登记册 (importing the registry)")
    if community is not None and community.office_id != scope.office_id:
        raise scope.refuse("community", community.code)
    if kind != "people" and community is None:
        raise InvalidInput("community", "办事处导入楼栋、网格、采样点或人员名单须指定本办事处的社区 "
                           "(an office imports buildings, grids, sites or staff for one of its communities: name it)")
    return scope.office_id


def get_import(*, session: Session, import_id: int, scope: Scope) -> RegistryImport:
    """An import's record, if it is in the scope (an office reads its own imports)."""
    record = session.scalar(select(RegistryImport).where(RegistryImport.id == import_id, scope.imports()))
    if record is None:
        if session.get(RegistryImport, import_id) is not None:
            raise scope.refuse("import_id", str(import_id))
        raise NotFound("import_id", f"没有这次导入 (no such import): {import_id}")
    return record


def rejected_rows_viewed(*, session: Session, record: RegistryImport, scope: Scope) -> None:
    """The rejected rows of a people import carry names and phones: their download is audited."""
    if record.kind == "people":
        record_view(session=session, scope=scope, what="rejected_rows", people=record.rejected, detail={"import": record.id})


__all__ = ["get_import", "import_file", "rejected_rows_viewed"]
