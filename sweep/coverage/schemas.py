"""What the coverage API takes: request bodies, checked at the door. What it answers are the services' own
dataclasses (``sweep.coverage.service``, ``followup``, ``rounds``, ``walkins``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from sweep.params import LocalTime, PersonId, Text


class ExemptionCreate(BaseModel):
    person_id: PersonId
    reason: Literal["away", "hospital", "sampled_elsewhere", "deceased"]
    proof: Annotated[Text, Field(max_length=200)] | None = Field(default=None, description="Report number, lab and date (sampled elsewhere).")
    note: Annotated[Text, Field(max_length=200)] | None = None


class HomeTaskCreate(BaseModel):
    person_id: PersonId
    reason: Annotated[Text, Field(min_length=1, max_length=100)]
    due_at: LocalTime
    team: Annotated[Text, Field(max_length=50)] | None = None


class HomeTasksFromRegistry(BaseModel):
    due_at: LocalTime


class CreatedCount(BaseModel):
    created: int


class WalkInConfirm(BaseModel):
    building_code: Annotated[str, Field(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9_-]+$")] | None = None
    unit: Annotated[int, Field(ge=0, le=999)] | None = None
    room: Annotated[Text, Field(max_length=16)] | None = None
