"""What the coverage API takes and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from sweep.params import LocalTime, PersonId, Text


class RoundFiguresRead(BaseModel):
    campaign_id: int
    people: int
    sampled: int
    exempt: int
    walk_ins: int = 0
    coverage: float
    sites: int
    desks: int
    tubes: int
    tubes_sealed: int
    boxes: int
    boxes_in_transit: int
    boxes_received: int
    results: int
    positives: int
    retests_open: int
    starts_at: datetime
    first_sample: datetime | None
    last_sample: datetime | None
    finish_minutes: float | None
    deadline_minutes: int


class AreaCoverageRead(BaseModel):
    code: str
    name: str
    expected: int
    called: int
    sampled: int
    resulted: int
    exempt: int
    walk_ins: int = 0
    missing: int
    home_open: int
    fraction: float


class MissingPersonRead(BaseModel):
    person_id: int
    name: str
    id_masked: str
    phone: str | None
    office: str
    community: str
    grid: str
    building: str
    building_code: str
    unit: int | None
    room: str | None
    home_sampling: bool
    home_task: str | None


class PersonStatusRead(BaseModel):
    person_id: int
    name: str
    id_masked: str
    building: str
    unit: int | None
    room: str | None
    status: Literal["resulted", "sampled", "exempt", "missing"]
    called: bool
    slot_start: datetime | None
    slot_site: str | None
    sampled_at: datetime | None
    tube_code: str | None
    result: str | None
    exemption: str | None
    home_task: str | None
    retest: str | None


class ExemptionCreate(BaseModel):
    person_id: PersonId
    reason: Literal["away", "hospital", "sampled_elsewhere", "deceased"]
    proof: Annotated[Text, Field(max_length=200)] | None = Field(default=None, description="Report number, lab and date (sampled elsewhere).")
    note: Annotated[Text, Field(max_length=200)] | None = None


class ExemptionRead(BaseModel):
    id: int
    person_id: int
    name: str
    id_masked: str
    community: str
    building: str
    reason: str
    proof: str | None
    note: str | None
    created_at: datetime


class HomeTaskCreate(BaseModel):
    person_id: PersonId
    reason: Annotated[Text, Field(min_length=1, max_length=100)]
    due_at: LocalTime
    team: Annotated[Text, Field(max_length=50)] | None = None


class HomeTasksFromRegistry(BaseModel):
    due_at: LocalTime


class HomeTaskRead(BaseModel):
    id: int
    person_id: int
    name: str
    phone: str | None
    community: str
    building: str
    unit: int | None
    room: str | None
    reason: str
    team: str | None
    due_at: datetime
    status: str
    done_at: datetime | None


class CreatedCount(BaseModel):
    created: int


class MissedPersonRead(BaseModel):
    person_id: int
    name: str
    id_masked: str
    phone: str | None
    community: str
    building: str
    unit: int | None
    room: str | None


class BuildingTrendRead(BaseModel):
    code: str
    name: str
    expected: int
    previous: float
    current: float


class SiteLatenessRead(BaseModel):
    code: str
    name: str
    previous_finish: float | None
    current_finish: float | None
    previous_late: bool
    current_late: bool
    previous_readiness_late: int
    current_readiness_late: int


class RoundComparisonRead(BaseModel):
    campaign_id: int
    previous_id: int
    missed_twice: list[MissedPersonRead]
    buildings_low: list[BuildingTrendRead]
    sites_late: list[SiteLatenessRead]


class CarryOverRead(BaseModel):
    person_id: int
    building_id: int
    community_id: int
    office_id: int
    reason: str
    home_sampling: bool
    rounds_missed: int


class WalkInRead(BaseModel):
    walk_in_id: int
    person_id: int
    name: str | None
    id_masked: str
    phone: str | None
    reason: str
    site_code: str
    community: str | None
    building_code: str | None
    address: str | None
    registered_at: datetime
    sampled_at: datetime | None
    confirmed_at: datetime | None
    office_id: int | None
    contacts_shown: bool


class WalkInCountRead(BaseModel):
    code: str | None
    name: str | None
    registered: int
    sampled: int
    confirmed: int


class WalkInConfirm(BaseModel):
    building_code: Annotated[str, Field(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9_-]+$")] | None = None
    unit: Annotated[int, Field(ge=0, le=999)] | None = None
    room: Annotated[Text, Field(max_length=16)] | None = None
