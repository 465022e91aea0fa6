"""What the key-group API takes, and the answers no service returns whole (a workplace, a recorded test); the
schedules and the compliance lists answer the service's own dataclasses."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from sweep.params import LocalTime, PersonId, Text

GroupCode = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
Result = Literal["negative", "positive", "invalid"]


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
