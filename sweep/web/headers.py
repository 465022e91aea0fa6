"""Security headers on every answer, as plain ASGI middleware (see ``sweep.web.i18n`` for why plain).

Pages run only the package's own scripts (``script-src 'self'``: no inline script, nothing from
outside), no site may frame them, no browser guesses a type, no link leaks the address it came
from, and nothing but the static assets is kept in a cache: pages and answers carry names, phones
and ID numbers.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(tile_url: str | None = None) -> str:
    images = ["'self'", "data:", "blob:"]
    if tile_url:
        parts = urlsplit(tile_url.replace("{s}", "a").replace("{z}", "0").replace("{x}", "0").replace("{y}", "0"))
        if parts.scheme and parts.netloc:
            images.append(f"{parts.scheme}://{parts.netloc.replace('a.', '*.', 1) if '{s}' in tile_url else parts.netloc}")
    return "; ".join((
        "default-src 'self'",
        "script-src 'self'",
        # Charts and the map set element styles, and the printable plan and report keep theirs inline.
        "style-src 'self' 'unsafe-inline'",
        f"img-src {' '.join(images)}",
        "connect-src 'self'",
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, tile_url: str | None = None) -> None:
        self.app = app
        self.fixed = [
            (b"content-security-policy", content_security_policy(tile_url).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [h for h in self.fixed if h[0] not in present]
                if not static and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
