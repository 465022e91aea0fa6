"""Types every area's requests and answers share: times, codes, texts, path parameters, the error shape.

Defined once, here, so that a bound (a row id within PostgreSQL's INTEGER, a code's length) is the
same on every route.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def local_time(value: datetime) -> datetime:
    """Times are stored as the district's local wall clock; a zone-aware time is converted to it."""
    if value.tzinfo is None:
        return value
    try:
        return value.astimezone().replace(tzinfo=None)
    except (OverflowError, ValueError):
        raise ValueError("时间超出范围 (time out of range)") from None


LocalTime = Annotated[datetime, AfterValidator(local_time)]
# No control characters anywhere: PostgreSQL refuses NUL in text, and a scanner never sends one.
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
Text = Annotated[str, Field(pattern=PRINTABLE)]
Code = Annotated[str, Field(min_length=1, max_length=48, pattern=PRINTABLE, description="A tube or box code: 4-48 letters, digits or hyphens.")]
# Path parameters: a round as its number or ``latest``; row ids within PostgreSQL's INTEGER.
CampaignRef = Annotated[str, Path(pattern=r"^(latest|[0-9]{1,9})$", description="The round's number, or latest.")]
CampaignQuery = Annotated[str, Query(pattern=r"^(latest|[0-9]{1,9})$", description="The round's number, or latest.")]
ROW_ID_MAX = 2_147_483_647
RowId = Annotated[int, Path(ge=1, le=ROW_ID_MAX)]
RowIdQuery = Annotated[int | None, Query(ge=1, le=ROW_ID_MAX)]
# A row id in a body: within PostgreSQL's INTEGER too.
PersonId = Annotated[int, Field(ge=1, le=2_147_483_647)]
PathCode = Annotated[str, Path(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9-]+$")]


class ErrorRead(BaseModel):
    """Every 4xx answer: the field at fault and the reason, Chinese first."""

    model_config = ConfigDict(extra="allow")
    error: str
    field: str
    reason: str


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorRead, "description": text}
    for code, text in (
        (401, "not logged in"), (403, "role or site not allowed"), (404, "unknown code or item"),
        (409, "conflicts with what is recorded"), (422, "invalid input"), (429, "too many attempts"),
    )
}
