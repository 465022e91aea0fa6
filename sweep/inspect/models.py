"""Supervision (督导): checklist templates from the SOP, a record per visit, findings and rectification."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sweep.db import Base

SEVERITIES = ("minor", "major", "critical")


class ChecklistTemplate(Base):
    __tablename__ = "checklist_templates"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)


class ChecklistItem(Base):
    __tablename__ = "checklist_items"
    __table_args__ = (UniqueConstraint("template_id", "no"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("checklist_templates.id", ondelete="CASCADE"), index=True)
    no: Mapped[int] = mapped_column(Integer)
    section: Mapped[str] = mapped_column(String(50))
    text: Mapped[str] = mapped_column(String(300))
    # A failed critical item is a critical finding: it must be put right before sampling goes on.
    critical: Mapped[bool] = mapped_column(Boolean, default=False)


class Inspection(Base):
    """One visit to a site. Open while any finding awaits rectification; closed when all are put right."""

    __tablename__ = "inspections"
    __table_args__ = (CheckConstraint("status IN ('open', 'closed')", name="status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    plan_site_id: Mapped[int] = mapped_column(ForeignKey("plan_sites.id", ondelete="CASCADE"), index=True)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_templates.id"))
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    visited_at: Mapped[datetime] = mapped_column(DateTime)
    notes: Mapped[str] = mapped_column(Text, default="")
    rectify_by: Mapped[datetime | None] = mapped_column(DateTime)
    rectified_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")


class InspectionCheck(Base):
    """The answer to one checklist item on one visit."""

    __tablename__ = "inspection_checks"
    __table_args__ = (UniqueConstraint("inspection_id", "item_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("checklist_items.id"))
    passed: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(300))


class Finding(Base):
    """Something found wrong on a visit, open until it is rectified."""

    __tablename__ = "inspection_findings"
    __table_args__ = (
        CheckConstraint(f"severity IN ({', '.join(repr(s) for s in SEVERITIES)})", name="severity"),
        CheckConstraint("status IN ('open', 'rectified')", name="status"),
        CheckConstraint("status = 'open' OR rectified_at IS NOT NULL", name="rectified_has_time"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    plan_site_id: Mapped[int] = mapped_column(ForeignKey("plan_sites.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_items.id"))
    severity: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="open")
    rectified_at: Mapped[datetime | None] = mapped_column(DateTime)
    rectified_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rectification: Mapped[str | None] = mapped_column(String(500))
