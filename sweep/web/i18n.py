"""Page language: Chinese by default, English second, from a gettext catalog (Babel).

Templates write their strings in Chinese inside ``_()``; ``locale/en/LC_MESSAGES/messages.po``
holds the English. ``?lang=en`` or ``?lang=zh`` switches, and a cookie keeps the choice.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import lru_cache
from gettext import NullTranslations
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOCALES = Path(__file__).parent / "locale"
LANGUAGES = ("zh", "en")
DEFAULT = "zh"
COOKIE = "sweep_lang"

current: ContextVar[str] = ContextVar("sweep_lang", default=DEFAULT)


@lru_cache
def translations(lang: str) -> NullTranslations:
    """The catalog of a language, compiled in memory from its .po file (no build step to forget)."""
    po = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT or not po.exists():
        return NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def gettext(message: str) -> str:
    return translations(current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current.get()).ngettext(singular, plural, n)


def choose(query: str | None, cookie: str | None) -> str:
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT


class LanguageMiddleware:
    """Sets the language for the request; ``?lang=`` is also kept in a cookie for the next ones.

    Plain ASGI rather than ``@app.middleware("http")``: that wrapper runs every request, the
    terminals' scans included, through an extra task and a stream of messages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = HTTPConnection(scope)
        asked = request.query_params.get("lang")
        token = current.set(choose(asked, request.cookies.get(COOKIE)))

        async def remembering(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = Response()
                kept.set_cookie(COOKIE, asked or DEFAULT, max_age=365 * 86400, samesite="lax")
                MutableHeaders(scope=message).append("set-cookie", kept.headers["set-cookie"])
            await send(message)

        try:
            await self.app(scope, receive, remembering if asked in LANGUAGES else send)
        finally:
            current.reset(token)
