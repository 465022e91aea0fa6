"""What the coverage API answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class RoundFiguresRead(BaseModel):
    campaign_id: int
    people: int
    sampled: int
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
    sampled: int
    fraction: float


class MissingPersonRead(BaseModel):
    person_id: int
    name: str
    id_masked: str
    office: str
    community: str
    building: str
    unit: int | None
    room: str | None
    home_sampling: bool
