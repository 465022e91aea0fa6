"""The API's description and its docs page, from the package's own copy of Swagger UI.

FastAPI's default page loads Swagger UI from a CDN (blank on a district network without
internet) and starts it with an inline script (refused by the pages' ``script-src 'self'``);
this one loads the vendored bundle and a small start-up script, both from ``/static``. In
production both the page and ``/openapi.json`` need a log-in: the description maps every route.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from sweep.deps import CurrentUser

PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sweep API</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-url="/openapi.json"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body>
</html>
"""


def mount_docs(app: FastAPI, *, login_required: bool) -> None:
    def description() -> dict[str, Any]:
        return app.openapi()

    if login_required:

        @app.get("/openapi.json", include_in_schema=False)
        def openapi_logged_in(user: CurrentUser) -> JSONResponse:
            return JSONResponse(description())

        @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
        def docs_logged_in(request: Request, user: CurrentUser) -> HTMLResponse:
            return HTMLResponse(PAGE)

        return

    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> JSONResponse:
        return JSONResponse(description())

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs(request: Request) -> HTMLResponse:
        return HTMLResponse(PAGE)
