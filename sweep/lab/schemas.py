"""What the lab API takes and answers: results, the trace of a tube, the alert board, a resident's result."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from sweep.params import Code, LocalTime

Result = Literal["negative", "positive", "invalid"]
Ct = Annotated[float, Field(gt=0, le=50)]
Target = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")]


class ResultCreate(BaseModel):
    tube_code: Code
    result: Result
    ct_values: dict[Target, Ct] | None = Field(default=None, max_length=8, description="Ct by target, e.g. {\"ORF1ab\": 31.2, \"N\": 29.8}.")
    resulted_at: LocalTime | None = Field(default=None, description="Default: now.")


class ResultRead(BaseModel):
    id: int
    tube_code: str
    result: str
    retests_ordered: int
    retests_closed: int


class RowErrorRead(BaseModel):
    row: int
    field: str
    reason: str


class ImportRead(BaseModel):
    import_id: int | None
    filename: str
    total_rows: int
    imported: int
    unchanged: int
    rejected: int
    retests_ordered: int
    retests_closed: int
    positive_tubes: list[str]
    invalid_tubes: list[str]
    errors: list[RowErrorRead]


class TracedPersonRead(BaseModel):
    person_id: int
    name: str | None
    id_masked: str
    phone: str | None
    building: str | None
    unit: int | None
    room: str | None
    community: str | None
    position: int
    sampled_at: datetime
    site_code: str
    kind: str
    contacts_shown: bool


class TubeTraceRead(BaseModel):
    tube_code: str
    site_code: str
    site_name: str
    desk_no: int | None
    sealed_at: datetime | None
    result: str | None
    ct_value: float | None
    resulted_at: datetime | None
    people: list[TracedPersonRead]
    box_code: str | None = Field(default=None, description="The transport box the tube went in.")
    packed_at: datetime | None = None
    handed_at: datetime | None = Field(default=None, description="When the box was handed to the courier.")
    courier_name: str | None = None
    received_at: datetime | None = Field(default=None, description="When the lab signed for the box.")


class RetestLineRead(BaseModel):
    order_id: int
    person_id: int
    name: str | None
    id_masked: str
    phone: str | None
    building: str | None
    community: str | None
    due_at: datetime
    status: str
    result: str | None
    closed_at: datetime | None
    overdue: bool
    contacts_shown: bool


class AlertRead(BaseModel):
    tube_code: str
    site_code: str
    result: str
    ct_value: float | None
    resulted_at: datetime
    open: int
    overdue: int
    confirmed: int
    retests: list[RetestLineRead]


class SiteRetestRead(BaseModel):
    """An open retest order of a site: who (masked), from which pool, by when."""

    order_id: int
    name: str
    id_masked: str
    source_tube_code: str
    due_at: datetime
    status: Literal["open", "sampled"]
    overdue: bool


class RetestClose(BaseModel):
    result: Result
    closed_at: LocalTime | None = None


class RetestRead(BaseModel):
    id: int
    person_id: int
    status: str
    result: str | None
    due_at: datetime
    closed_at: datetime | None


class ResidentQuery(BaseModel):
    id_number: Annotated[str, Field(min_length=1, max_length=32)]
    phone_last4: Annotated[str, Field(min_length=1, max_length=8)]


class ResidentRead(BaseModel):
    name_masked: str
    id_masked: str
    campaign: str | None
    status: Literal["not_sampled", "pending", "negative", "retest", "positive", "no_round"]
    sampled_at: datetime | None
    site: str | None
    retest_due_at: datetime | None
    message_zh: str
    message_en: str


__all__ = [
    "AlertRead", "ImportRead", "ResidentQuery", "ResidentRead", "ResultCreate", "ResultRead", "RetestClose", "RetestRead",
    "TubeTraceRead",
]


class ReceiptCreate(BaseModel):
    received_at: LocalTime | None = None


class BoxTubeRead(BaseModel):
    code: str
    people: int
    sealed_at: datetime | None
    packed_at: datetime | None
    waited_minutes: float | None = Field(description="Sealed to handed over (to now while the box is still at the site).")
    waited_too_long: bool
    result: str | None
    resulted_at: datetime | None


class BoxViewRead(BaseModel):
    code: str
    site_code: str
    site_name: str
    status: str
    capacity: int
    tubes: int
    people: int
    opened_at: datetime
    sealed_at: datetime | None
    handed_at: datetime | None
    courier_staff_id: int | None
    courier_name: str | None
    received_at: datetime | None
    transit_minutes: float | None = Field(description="Handed over to received (to now while on the road).")
    transit_too_long: bool
    results: dict[str, int]
    tubes_waited_too_long: int
    wait_limit_minutes: int
    transit_limit_minutes: int
    tube_list: list[BoxTubeRead]


class CustodyFlagRead(BaseModel):
    kind: Literal["sample_wait", "transit"]
    site_code: str
    box_code: str | None
    tube_code: str | None
    since: datetime
    minutes: float
    limit_minutes: int
    still_open: bool


class CustodyFlagsRead(BaseModel):
    tubes_waited_too_long: int
    boxes_too_long_in_transit: int
    flags: list[CustodyFlagRead]
