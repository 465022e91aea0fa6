"""What the registry API answers."""

from __future__ import annotations

from pydantic import BaseModel


class RejectionRead(BaseModel):
    row: int
    field: str
    reason: str


class ImportReportRead(BaseModel):
    import_id: int | None
    kind: str
    file: str
    rows: int
    imported: int
    updated: int
    unchanged: int
    rejected_rows: int
    rejected: list[RejectionRead]
    warnings_total: int
    warnings: list[RejectionRead]
    created: dict[str, int]
    header_row: int
    ignored_columns: list[str]


class AreaCountRead(BaseModel):
    code: str
    name: str
    people: int
    home_sampling: int
    key_group: int
    buildings: int


class AgeBandRead(BaseModel):
    band: str
    people: int


class KeyGroupCountRead(BaseModel):
    code: str
    name: str
    people: int


class RegistrySummaryRead(BaseModel):
    community: str | None
    people: int
    home_sampling: int
    age_bands: list[AgeBandRead]
    key_groups: list[KeyGroupCountRead]
    offices: list[AreaCountRead]
    communities: list[AreaCountRead]
    grids: list[AreaCountRead]
    buildings: list[AreaCountRead] | None = None
