"""Registry API: imports (multipart upload), the distribution summary, the map layer, exports; and the map page."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response

from sweep.auth.policy import Can, require
from sweep.auth.service import audit
from sweep.deps import CanExport, CanImport, CanViewRound, CurrentUser, SessionDep, SettingsDep
from sweep.params import RowId
from sweep.registry import geojson, importer, summary
from sweep.registry.export import export_bytes
from sweep.registry.lookup import community_scope
from sweep.registry.report import rejected_xlsx
from sweep.registry.schemas import ImportReportRead, RegistrySummaryRead
from sweep.web.templating import templates

router = APIRouter(prefix="/api/registry", tags=["registry"])
pages = APIRouter(include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Kind = Literal["people", "buildings", "grids", "sites", "staff"]


@router.post("/imports/{kind}", response_model=ImportReportRead)
def upload(
    kind: Kind,
    session: SessionDep,
    settings: SettingsDep,
    user: CanImport,
    file: Annotated[UploadFile, File(description="CSV (UTF-8, UTF-8 BOM, GBK/GB18030), XLSX or GeoJSON")],
    community: Annotated[str | None, Form(description="Limit the import to one community (its code)")] = None,
) -> ImportReportRead:
    """Import one file; the good rows land in one transaction, the bad ones come back with reasons."""
    report = importer.import_file(session=session, kind=kind, stream=file.file, filename=file.filename or "upload",
                                  key=settings.secret_key, scope=user.scope, community_code=community or None)
    return ImportReportRead(**report.as_dict())


@router.get("/imports/{import_id}", response_model=ImportReportRead)
def import_report(import_id: RowId, session: SessionDep, user: CanImport) -> ImportReportRead:
    stored = importer.get_import(session=session, import_id=import_id, scope=user.scope).report
    return ImportReportRead(**{k: v for k, v in stored.items() if k in ImportReportRead.model_fields})


@router.get("/imports/{import_id}/rejected.xlsx")
def import_rejected(import_id: RowId, session: SessionDep, user: CanImport) -> Response:
    """The rejected rows as an XLSX with a reason column (ID numbers masked)."""
    record = importer.get_import(session=session, import_id=import_id, scope=user.scope)
    importer.rejected_rows_viewed(session=session, record=record, scope=user.scope)
    return Response(rejected_xlsx(record.report), media_type=XLSX,
                    headers={"content-disposition": f'attachment; filename="rejected-{import_id}.xlsx"'})


@router.get("/summary", response_model=RegistrySummaryRead)
def registry_summary(session: SessionDep, user: CanViewRound, community: str | None = None) -> RegistrySummaryRead:
    return RegistrySummaryRead(**summary.registry_summary(session=session, community_code=community))


@router.get("/map")
def map_layer(
    session: SessionDep,
    user: CanViewRound,
    level: Annotated[Literal["grid", "building"], Query(description="grid polygons or building points")] = "grid",
    community: str | None = None,
) -> JSONResponse:
    """GeoJSON FeatureCollection with people, home-sampling and key-group counts per feature."""
    layer = geojson.map_layer(session=session, level=level, community_code=community)
    return JSONResponse(layer, media_type="application/geo+json")


@router.get("/export")
def export(
    session: SessionDep,
    settings: SettingsDep,
    user: CanExport,
    community: str | None = None,
    format: Annotated[Literal["xlsx", "csv"], Query()] = "xlsx",
) -> Response:
    """The people of a community (or all) in the user's scope, ID numbers masked."""
    area = community_scope(session, community)
    data = export_bytes(session=session, community=area, fmt=format, key=settings.secret_key, scope=user.scope)
    audit(session=session, user_id=user.id, action="registry.export", entity="community", entity_id=area.id if area else None,
          detail={"people": data.count, "area": user.scope.area(), "format": format, "full_id_numbers": False})
    name = f"registry-{community or 'all'}.{format}"
    media = XLSX if format == "xlsx" else "text/csv; charset=utf-8"
    return Response(data.content, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"'})


@pages.get("/registry/map", response_class=HTMLResponse)
def map_page(request: Request, session: SessionDep, user: CurrentUser, community: str | None = None) -> HTMLResponse:
    from sweep.registry.mapsvg import SHADES, draw

    require(user, Can.VIEW_ROUND)

    grids = geojson.map_layer(session=session, level="grid", community_code=community)
    buildings = geojson.map_layer(session=session, level="building", community_code=community)
    shapes, width, height = draw(grids, buildings)
    data = summary.registry_summary(session=session, community_code=community)
    return templates.TemplateResponse(
        request,
        "registry_map.html",
        {"shapes": shapes, "width": width, "height": height, "summary": data, "community": community, "shades": SHADES},
    )


# One router for sweep/api.py to include: the API and the page.
registry_router = APIRouter()
registry_router.include_router(router)
registry_router.include_router(pages)
