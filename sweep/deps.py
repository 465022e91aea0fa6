"""Request dependencies as short aliases: the session owns one unit of work per request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from sweep.config import Settings


def get_session(request: Request) -> Iterator[Session]:
    """Commit when the route returns, roll back if it raises: services never commit."""
    with request.app.state.session_factory() as session, session.begin():
        yield session


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
