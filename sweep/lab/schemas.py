"""What the lab API takes: results, receipts, retest closures, a resident's query, checked at the door. It answers
the services' own dataclasses, except for a closed retest order, which no service returns as such."""

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


class ReceiptCreate(BaseModel):
    received_at: LocalTime | None = None
