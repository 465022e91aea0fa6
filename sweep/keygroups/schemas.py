"""What the key-group API takes and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from sweep.params import LocalTime, PersonId, Text

GroupCode = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
Result = Literal["negative", "positive", "invalid"]


class GroupScheduleRead(BaseModel):
    code: str
    name: str
    test_every_days: int
    members: int
    workplaces: int
    single_tube: bool = Field(description="Sampled one person a tube (单人单管); false: pooled with everyone.")
    pool_size: int | None = Field(default=None, description="Pooled at most this many a tube (5 for 5混1); null: the round's pool size.")


class GroupCreate(BaseModel):
    code: GroupCode
    name: Annotated[Text, Field(min_length=1, max_length=100)]
    test_every_days: Annotated[int, Field(ge=1, le=30)]
    single_tube: bool = True
    pool_size: Annotated[int, Field(ge=2, le=20, description="Pooled at most this many a tube (makes the group pooled).")] | None = None


class GroupUpdate(BaseModel):
    name: Annotated[Text, Field(min_length=1, max_length=100)] | None = None
    test_every_days: Annotated[int, Field(ge=1, le=30)] | None = None
    single_tube: bool | None = None
    pool_size: Annotated[int, Field(ge=0, le=20, description="Pooled at most this many a tube (2-20); 0: the round's pool size.")] | None = None


class ScheduleUpdate(BaseModel):
    test_every_days: Annotated[int, Field(ge=1, le=30)]


class WorkplaceCreate(BaseModel):
    code: Annotated[str, Field(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9_-]+$")]
    name: Annotated[Text, Field(min_length=1, max_length=100)]
    employer: Annotated[Text, Field(min_length=1, max_length=100)]
    key_group: GroupCode
    env_every_days: Annotated[int, Field(ge=1, le=30)] | None = None
    community_code: Annotated[str, Field(max_length=32, pattern=r"^[A-Za-z0-9_-]+$")] | None = None


class WorkplaceRead(BaseModel):
    id: int
    code: str
    name: str
    employer: str
    env_every_days: int


class MemberCreate(BaseModel):
    person_id: PersonId
    workplace: Annotated[str, Field(min_length=1, max_length=48)]


class KeyGroupTestCreate(BaseModel):
    person_id: PersonId
    sampled_at: LocalTime
    result: Result | None = None
    resulted_at: LocalTime | None = None


class EnvironmentSampleCreate(BaseModel):
    workplace: Annotated[str, Field(min_length=1, max_length=48)]
    point: Annotated[Text, Field(min_length=1, max_length=100)]
    sampled_at: LocalTime
    result: Result | None = None


class EnvironmentResult(BaseModel):
    result: Result
    resulted_at: LocalTime | None = None


class RecordedRead(BaseModel):
    id: int
    result: str | None


class OverduePersonRead(BaseModel):
    person_id: int
    name: str
    id_masked: str
    phone: str | None
    workplace: str | None
    last_tested_at: datetime | None
    due_at: datetime | None


class EmployerComplianceRead(BaseModel):
    employer: str | None = Field(description="The employer (by=employer).")
    office: str | None = Field(default=None, description="The office the people live in (by=office).")
    key_group: str
    test_every_days: int
    members: int
    positives: int
    overdue: list[OverduePersonRead]


class WorkplaceEnvironmentRead(BaseModel):
    code: str
    name: str
    employer: str
    every_days: int
    last_sampled_at: datetime | None
    overdue: bool
    positives: int
