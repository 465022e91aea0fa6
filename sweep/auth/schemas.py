"""What the auth API takes and answers."""

from __future__ import annotations

from pydantic import BaseModel, Field

from sweep.auth.models import USER_ROLES


class TokenCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    label: str | None = Field(default=None, max_length=64, description="e.g. the terminal's name")


class UserRead(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    office_id: int | None
    plan_site_id: int | None

    model_config = {"from_attributes": True}


class TokenRead(BaseModel):
    token: str
    token_type: str = "bearer"
    user: UserRead


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    display_name: str = Field(min_length=1, max_length=64)
    role: str = Field(json_schema_extra={"enum": list(USER_ROLES)})
    password: str = Field(min_length=10, max_length=256)
    office_id: int | None = None
    plan_site_id: int | None = None
