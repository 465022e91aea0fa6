"""Tables of the registry: who lives where, where a site could stand, who can staff it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, DateTime, Float, ForeignKey, Integer, LargeBinary, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from sweep.db import Base


class Office(Base):
    """An 办事处: the level that runs its own part of the round."""

    __tablename__ = "offices"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))


class Community(Base):
    __tablename__ = "communities"
    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    office: Mapped[Office] = relationship()


class Grid(Base):
    __tablename__ = "grids"
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # GeoJSON polygon geometry as text: the district's own map, drawn without a tile server.
    geometry: Mapped[str | None] = mapped_column(String)


class Building(Base):
    __tablename__ = "buildings"
    __table_args__ = (
        CheckConstraint("lat BETWEEN -90 AND 90", name="lat_range"),
        CheckConstraint("lon BETWEEN -180 AND 180", name="lon_range"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    households: Mapped[int] = mapped_column(Integer, default=0)


class KeyGroup(Base):
    """A 重点人群 tested on its own schedule (airport, cold-chain, quarantine-hotel workers)."""

    __tablename__ = "key_groups"
    __table_args__ = (
        CheckConstraint("pool_size IS NULL OR (pool_size >= 2 AND pool_size <= 20)", name="pool_size"),
        CheckConstraint("NOT single_tube OR pool_size IS NULL", name="single_or_pooled"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    test_every_days: Mapped[int] = mapped_column(Integer, CheckConstraint("test_every_days > 0", name="every_positive"))
    # Sampled one to a tube (单人单管), as practice has key groups; False lets them join pooled tubes.
    single_tube: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Pooled, at most this many a tube (5混1, say); None: the round's pool size, like everyone.
    pool_size: Mapped[int | None] = mapped_column(Integer)


class Person(Base):
    """A resident. The ID number is kept as a keyed hash (look-up) and a masked form (display)."""

    __tablename__ = "people"
    __table_args__ = (CheckConstraint("doc_type IN ('id_card', 'passport', 'hk_macau', 'taiwan', 'other')", name="doc_type"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    # No building: a person registered at a desk (临时登记, see ``field.models.WalkIn``) and not yet
    # confirmed into the registry by their community; such people are in no area and in no count
    # of the registry (``registered()``), though their samples and results are theirs.
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"), index=True)
    # Copied down from the building so that coverage sums by area need no joins at a million rows.
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    doc_type: Mapped[str] = mapped_column(String(16), default="id_card")
    id_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    id_masked: Mapped[str] = mapped_column(String(32))
    # AES-GCM (nonce + ciphertext + tag), readable only through reveal_id_number, which audits.
    id_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary(64))
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))
    phone: Mapped[str | None] = mapped_column(String(20))
    unit: Mapped[int | None] = mapped_column(Integer)
    room: Mapped[str | None] = mapped_column(String(16))
    home_sampling: Mapped[bool] = mapped_column(Boolean, default=False)
    key_group_id: Mapped[int | None] = mapped_column(ForeignKey("key_groups.id"), index=True)


class CandidateSite(Base):
    """A place a sampling site could stand, with the most desks its space allows."""

    __tablename__ = "candidate_sites"
    __table_args__ = (CheckConstraint("max_desks > 0", name="max_desks_positive"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(24))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    max_desks: Mapped[int] = mapped_column(Integer)
    area_m2: Mapped[float | None] = mapped_column(Float)


class Staff(Base):
    """Someone in the staff pool: medical staff can sample, everyone can take the other roles."""

    __tablename__ = "staff"
    __table_args__ = (CheckConstraint("kind IN ('medical', 'general')", name="kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(16))


IMPORT_KINDS = ("people", "buildings", "grids", "sites", "staff")


class RegistryImport(Base):
    """One imported file and what became of its rows; the rejected rows are kept with ID numbers masked."""

    __tablename__ = "registry_imports"
    __table_args__ = (
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in IMPORT_KINDS)})", name="kind"),
        CheckConstraint("total_rows >= 0 AND imported >= 0 AND updated >= 0 AND unchanged >= 0 AND rejected >= 0", name="counts"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    # Who imported it, and for an office user the office it was limited to: an office reads its own imports only.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"), index=True)
    total_rows: Mapped[int] = mapped_column(Integer)
    imported: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)


def registered() -> ColumnElement[bool]:
    """People of the registry: everyone but those registered at a desk and not yet confirmed."""
    return Person.building_id.is_not(None)
