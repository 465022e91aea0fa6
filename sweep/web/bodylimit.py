"""A body-size limit per kind of request, as plain ASGI middleware: uploads (multipart) may be large,
everything else (JSON, forms) is small. Past the limit the answer is 413 in the error shape, before
the body is read into memory; a body with no length stated is counted as it arrives."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sweep.errors import PayloadTooLarge


def _limit_of(scope: Scope, *, body_bytes: int, upload_bytes: int) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return upload_bytes if value.lower().startswith(b"multipart/") else body_bytes
    return body_bytes


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge("body", f"请求内容超过 {limit // 1024} KiB 上限 (the body is larger than the limit of {limit // 1024} KiB)",
                           limit_bytes=limit)


def _refusal(limit: int) -> tuple[int, bytes]:
    error = too_large(limit)
    return error.status_code, json.dumps(error.as_dict(), ensure_ascii=False).encode()


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, body_bytes: int, upload_bytes: int) -> None:
        self.app, self.body_bytes, self.upload_bytes = app, body_bytes, upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = _limit_of(scope, body_bytes=self.body_bytes, upload_bytes=self.upload_bytes)
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._refuse(send, limit)
                return
        seen = 0

        async def counted() -> Message:
            # Raised inside the route's body parsing, an HTTP error reaches the app's one handler.
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, detail=limit)  # type: ignore[arg-type]  # the handler reads the limit back as a number
            return message

        await self.app(scope, counted, send)

    @staticmethod
    async def _refuse(send: Send, limit: int) -> None:
        status, body = _refusal(limit)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
