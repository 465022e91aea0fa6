"""What the auth API takes, and the answers no service returns whole (a token, the user of a token); an account
and the audit log answer the services' own dataclasses."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from sweep.auth.models import USER_ROLES
from sweep.params import PRINTABLE

SiteCode = Field(default=None, min_length=1, max_length=48, pattern=r"^[A-Za-z0-9_-]+$", description="The fixed site's code.")
RowRef = Field(default=None, ge=1, le=2_147_483_647)


class TokenCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=PRINTABLE)
    password: str = Field(min_length=1, max_length=256)
    label: str | None = Field(default=None, max_length=64, pattern=PRINTABLE, description="e.g. the terminal's name")


class UserRead(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    office_id: int | None
    candidate_site_id: int | None = Field(description="The fixed site of a site account, the same in every round.")

    model_config = {"from_attributes": True}


class TokenRead(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_at: datetime
    user: UserRead


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=PRINTABLE)
    display_name: str = Field(min_length=1, max_length=64, pattern=PRINTABLE)
    role: str = Field(json_schema_extra={"enum": list(USER_ROLES)})
    password: str = Field(min_length=10, max_length=256)
    office_id: int | None = RowRef
    site: str | None = SiteCode
    plan_site_id: int | None = Field(default=None, ge=1, le=2_147_483_647, description="Or the site by one round's copy of it.")


class RoleUpdate(BaseModel):
    role: str = Field(json_schema_extra={"enum": list(USER_ROLES)})
    office_id: int | None = RowRef
    site: str | None = SiteCode


class ScopeUpdate(BaseModel):
    office_id: int | None = RowRef
    site: str | None = SiteCode


class PasswordReset(BaseModel):
    password: str = Field(min_length=10, max_length=256)


class RevokedRead(BaseModel):
    revoked: int
