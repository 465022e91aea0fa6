"""The FastAPI app factory. One handler answers domain errors: JSON to the API, a page to a browser."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import escape
from pathlib import Path
from urllib.parse import quote

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import DataError, DBAPIError, InternalError, OperationalError, PendingRollbackError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from sweep import __version__
from sweep.auth.ratelimit import LoginLimiter
from sweep.auth.tokens import TokenCache
from sweep.config import Settings, get_settings
from sweep.db import WORKER_THREADS, make_engine, make_session_factory
from sweep.errors import DomainError, Unauthorized, Unavailable, http_error
from sweep.registry.idnumber import load_regions
from sweep.ttlcache import TtlCache
from sweep.web import i18n
from sweep.web.bodylimit import BodyLimitMiddleware, too_large
from sweep.web.docs import mount_docs
from sweep.web.headers import SecurityHeadersMiddleware
from sweep.web.redact import redacted, redacted_errors
from sweep.web.templating import templates

STATIC = Path(__file__).parent / "web" / "static"
READ_ONLY_TRANSACTION = "25006"  # SQLSTATE of a write sent to a standby
LOST_CONNECTION = "8s2b"  # SQLAlchemy's code for a transaction whose connection was invalidated (lost)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api") and "text/html" in request.headers.get("accept", "")


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    # Every database call runs on one of these threads; the SQLite pool is sized to match (sweep.db).
    anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
    yield


def create_app(*, settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    # The docs are served from the package's own copy of Swagger UI (sweep.web.docs), not a CDN.
    app = FastAPI(title="Sweep", version=__version__, description="全员核酸检测 · mass testing command",
                  docs_url=None, redoc_url=None, openapi_url=None, lifespan=_lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    read_engine = make_engine(settings.read_database_url) if settings.read_database_url else engine
    app.state.read_engine = read_engine
    app.state.read_session_factory = make_session_factory(read_engine)
    load_regions()
    app.state.rounds = TtlCache(settings.cache_seconds)
    app.state.login_limiter = LoginLimiter(app.state.session_factory, attempts=settings.login_attempts,
                                           address_attempts=settings.login_address_attempts,
                                           window_seconds=settings.login_window_seconds)
    app.state.token_cache = TokenCache(poll_seconds=settings.auth_poll_seconds, max_age_seconds=settings.auth_cache_seconds)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if _wants_html(request) and isinstance(exc, Unauthorized):
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        # A 429 says when to come back, in the header clients and proxies read.
        headers = {"retry-after": str(exc.detail["retry_after"])} if "retry_after" in exc.detail else None
        body = redacted(exc.as_dict())
        if _wants_html(request):
            return templates.TemplateResponse(
                request, "error.html", {"error": body, "status": exc.status_code}, status_code=exc.status_code, headers=headers
            )
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_refusal(request: Request, exc: StarletteHTTPException) -> Response:
        # No such path, a method the path does not take, a body that is not UTF-8 JSON: the same
        # shape as every other refusal, so that a client reads one kind of answer.
        error = too_large(exc.detail) if exc.status_code == 413 and isinstance(exc.detail, int) else http_error(exc.status_code)
        response = await domain_error(request, error)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # The errors name the field and the rule broken, never the value sent: it may be an ID number.
        errors = redacted_errors(exc.errors())
        first = errors[0] if errors else {"loc": ("body",), "msg": "invalid"}
        field = ".".join(str(p) for p in first["loc"] if p not in ("body", "query", "path"))
        body = {"error": "invalid", "field": field or "body", "reason": first["msg"], "errors": errors}
        if _wants_html(request):
            return HTMLResponse(f"<p>{escape(field)}: {escape(str(first['msg']))}</p>", status_code=422)
        return JSONResponse(jsonable(body), status_code=422)

    @app.exception_handler(SQLAlchemyError)
    async def database_unavailable(request: Request, exc: SQLAlchemyError) -> Response:
        # No primary to reach (a failover under way), a connection cut, a server shutting down: the
        # request's transaction is gone, and the same request again is the answer (a terminal's
        # queue does just that; scans carry their UUID, so a resent batch never counts twice).
        if not _unavailable(exc):
            raise exc
        reason = "数据库暂时无法访问，请稍后重试 (the database cannot be reached just now; send the same request again)"
        response = await domain_error(request, Unavailable("database", reason))
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(DataError)
    async def refused_by_database(request: Request, exc: DataError) -> Response:
        # The last line of defence: a value the schema let through but the database cannot hold
        # (an id past 32 bits, a NUL character). The request's transaction is already rolled back.
        reason = "数值超出范围或含非法字符 (a value is out of range or holds a character the database refuses)"
        return JSONResponse({"error": "invalid", "field": "request", "reason": reason}, status_code=422)

    app.add_middleware(i18n.LanguageMiddleware)
    app.add_middleware(BodyLimitMiddleware, body_bytes=settings.max_body_bytes, upload_bytes=settings.max_upload_bytes)
    app.add_middleware(SecurityHeadersMiddleware, tile_url=settings.map_tile_url)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    from sweep.auth.routes import router as auth_router
    from sweep.coverage.routes import router as coverage_router
    from sweep.coverage.walkin_routes import router as walkin_router
    from sweep.field.pages import router as terminal_router
    from sweep.field.routes import router as field_router
    from sweep.field.scan_routes import router as scan_router
    from sweep.inspect.routes import router as inspect_router
    from sweep.keygroups.routes import router as keygroup_router
    from sweep.lab.routes import router as lab_router
    from sweep.plan.routes import router as plan_router
    from sweep.registry.routes import registry_router
    from sweep.report.routes import router as dashboard_router
    from sweep.report.simulation_routes import router as simulate_router
    from sweep.web.pages import router as pages_router

    app.include_router(auth_router)
    app.include_router(coverage_router)
    app.include_router(walkin_router)
    app.include_router(plan_router)
    app.include_router(keygroup_router)
    app.include_router(dashboard_router)
    app.include_router(field_router)
    app.include_router(scan_router)
    app.include_router(lab_router)
    app.include_router(inspect_router)
    app.include_router(terminal_router)
    app.include_router(registry_router)
    app.include_router(simulate_router)
    app.include_router(pages_router)
    mount_docs(app, login_required=settings.environment == "production")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _resolve_routes(app)
    return app


def _resolve_routes(app: FastAPI) -> None:
    """Resolve every included route now, not at its first request: FastAPI builds each router's
    routes (their fields and validators) when first matched, a second of work that would fall on
    the first terminals to call each worker."""
    for route in app.router.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            for _ in contexts():
                pass


def _unavailable(exc: BaseException) -> bool:
    """The database was out of reach for this request: no server taking writes, or the connection
    lost midway (also when the error at hand came from code that went on after that loss)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return True
        if isinstance(seen, PendingRollbackError) and seen.code == LOST_CONNECTION:
            return True
        if isinstance(seen, OperationalError):
            # SQLite says "no such table" with the class it says "database is locked" with.
            return not isinstance(seen.orig, sqlite3.Error) or "locked" in str(seen.orig)
        if isinstance(seen, InternalError) and getattr(seen.orig, "sqlstate", None) == READ_ONLY_TRANSACTION:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def jsonable(value: object) -> object:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(value)
