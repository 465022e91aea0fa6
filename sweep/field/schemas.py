"""What the field API takes (request bodies, checked at the door) and the answers of the scan path and the
terminal, which no service returns whole; the others answer the services' own dataclasses."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from sweep.field.tubes import TubeState
from sweep.params import PRINTABLE, Code, ErrorRead, LocalTime

MAX_BATCH = 500  # a terminal sends its queue in slices of this many scans


class TubeCreate(BaseModel):
    code: Code
    opened_at: LocalTime | None = Field(default=None, description="When the tube was opened; default now.")
    desk_no: int | None = Field(default=None, ge=1, le=999)
    kind: Literal["pooled", "single"] = Field(default="pooled", description="pooled (the round's pool size) or single (one person).")
    pool_size: int | None = Field(default=None, ge=2, le=20,
                                  description="A pooled tube's own pool size (5 for 5混1, say); default the round's.")


class SealCreate(BaseModel):
    sealed_at: LocalTime | None = None


class WalkInCreate(BaseModel):
    """Someone not in the registry (临时登记): their document, name, phone, where they stay, and why here."""

    doc_type: Literal["id_card", "passport", "hk_macau", "taiwan", "other"] = "id_card"
    id_number: str | None = Field(default=None, max_length=32, pattern=PRINTABLE,
                                  description="The document's number; none when the scan's prereg_code carries it.")
    name: str = Field(min_length=1, max_length=50, pattern=PRINTABLE)
    phone: str | None = Field(default=None, max_length=20, pattern=PRINTABLE)
    building_code: str | None = Field(default=None, max_length=48, pattern=PRINTABLE, description="Where they stay, if a building of the district.")
    address: str | None = Field(default=None, max_length=200, pattern=PRINTABLE, description="Else where they stay, in words.")
    reason: Literal["visitor", "new_resident", "worker", "other"]


class ScanCreate(BaseModel):
    client_uuid: str = Field(min_length=1, max_length=36, pattern=PRINTABLE, description="Made by the terminal; a retry sends the same one.")
    tube_code: Code
    sampled_at: LocalTime
    id_number: str | None = Field(default=None, max_length=32, pattern=PRINTABLE, description="The resident's ID number (GB 11643).")
    prereg_code: str | None = Field(default=None, max_length=16, pattern=PRINTABLE, description="Or the code of their pre-registration.")
    walk_in: WalkInCreate | None = Field(default=None, description="Or, for someone not in the registry, their registration "
                                                                   "(with prereg_code: the rest of a pre-registration's).")
    kind: Literal["pooled", "home", "retest"] = "pooled"


class ScanRead(BaseModel):
    client_uuid: str
    status: Literal["ok", "replayed"]
    sample_id: int
    tube_code: str
    position: int
    filled: int
    pool_size: int
    sealed: bool


class ScanItemRead(BaseModel):
    """One item of a batch: the scan's answer, or its error."""

    client_uuid: str
    status: Literal["ok", "replayed", "error"]
    sample_id: int | None = None
    tube_code: str | None = None
    position: int | None = None
    filled: int | None = None
    pool_size: int | None = None
    sealed: bool | None = None
    error: ErrorRead | None = None


class ScanBatchCreate(BaseModel):
    tubes: list[TubeCreate] = Field(default_factory=list, max_length=MAX_BATCH // 5,
                                    description="Tubes opened while offline, opened here before the scans.")
    scans: list[ScanCreate] = Field(min_length=1, max_length=MAX_BATCH)


class TubeItemRead(BaseModel):
    code: str
    status: Literal["ok", "replayed", "error"]
    error: ErrorRead | None = None


class ScanBatchRead(BaseModel):
    ok: int
    replayed: int
    errors: int
    tubes: list[TubeItemRead] = Field(default_factory=list)
    results: list[ScanItemRead]


class RecentScanRead(BaseModel):
    client_uuid: str
    tube_code: str
    position: int
    id_masked: str
    sampled_at: datetime


class BoxCreate(BaseModel):
    code: Code
    opened_at: LocalTime | None = None


class PackCreate(BaseModel):
    tube_code: Code


class HandoverCreate(BaseModel):
    courier_staff_id: int = Field(ge=1, le=2_147_483_647, description="The courier, as the site's roster names them (GET …/couriers).")
    handed_at: LocalTime | None = None


class HandoverRead(BaseModel):
    box_code: str
    courier_staff_id: int | None
    courier_name: str
    handed_at: datetime
    tubes: int


class CheckInCreate(BaseModel):
    quantity: int | None = Field(default=None, ge=0, le=10_000_000, description="The total counted in place (not an increment).")
    note: str | None = Field(default=None, max_length=200, pattern=PRINTABLE)
    at: LocalTime | None = None


class ArrivalCreate(BaseModel):
    at: LocalTime | None = None


class PreregCreate(BaseModel):
    id_number: str = Field(min_length=1, max_length=32, pattern=PRINTABLE)


class TerminalRead(BaseModel):
    """What a terminal needs to start: its site, the pool size, the open tubes, the last scans."""

    campaign_id: int
    plan_site_id: int
    site_code: str
    pool_size: int
    tubes: list[TubeState] = Field(description="The site's latest tubes, open or not, newest first.")
    recent: list[RecentScanRead]
