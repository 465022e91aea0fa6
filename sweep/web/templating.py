"""The one Jinja environment of every page: templates from the package, Chinese first, a CSRF token for forms.

A module of its own, below every area, so that any area's pages can import it at the top.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates

from sweep.web import i18n

HERE = Path(__file__).parent


def _csrf(request: Request) -> dict[str, str | None]:
    """Every page of a logged-in session gets its CSRF token for its forms (set by ``sweep.deps.current_user``)."""
    return {"csrf_token": getattr(request.state, "csrf_token", None)}


def _language(request: Request) -> dict[str, str]:
    return {"lang": i18n.current.get()}


templates = Jinja2Templates(directory=HERE / "templates", context_processors=[_csrf, _language])
templates.env.add_extension("jinja2.ext.i18n")
# The i18n extension adds this method to the environment at run time, unseen by its types.
templates.env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
