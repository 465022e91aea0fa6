"""What the inspection API takes, and the answers no service returns whole (a template with its items, a recorded
inspection, a rectified finding); the open findings answer the service's own dataclasses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from sweep.params import LocalTime, Text

Note = Annotated[Text, Field(max_length=300)]


class ChecklistItemRead(BaseModel):
    no: int
    section: str
    text: str
    critical: bool


class TemplateRead(BaseModel):
    code: str
    name: str
    version: int
    items: list[ChecklistItemRead]


class CheckCreate(BaseModel):
    item_no: Annotated[int, Field(ge=1, le=1000)]
    passed: bool
    note: Note | None = None


class FindingCreate(BaseModel):
    description: Annotated[Text, Field(min_length=1, max_length=500)]
    severity: Literal["minor", "major", "critical"] = "major"


class InspectionCreate(BaseModel):
    plan_site_id: Annotated[int, Field(ge=1, le=2_147_483_647)]
    template: Annotated[str, Field(min_length=1, max_length=32)] = "site"
    visited_at: LocalTime | None = Field(default=None, description="Default: now.")
    checks: list[CheckCreate] = Field(max_length=1000)
    findings: list[FindingCreate] = Field(default_factory=list, max_length=100)
    rectify_by: LocalTime | None = Field(default=None, description="Default: 1 h for a critical finding, else 24 h.")
    notes: Annotated[Text, Field(max_length=2000)] = ""


class InspectionRead(BaseModel):
    id: int
    plan_site_id: int
    visited_at: datetime
    status: str
    rectify_by: datetime | None
    findings: int


class RectifyCreate(BaseModel):
    rectification: Annotated[Text, Field(min_length=1, max_length=500)]
    rectified_at: LocalTime | None = None


class RectifiedRead(BaseModel):
    id: int
    status: str
    rectified_at: datetime | None
