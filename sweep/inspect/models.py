"""An inspection visit to a site, with its findings and the rectification deadline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sweep.db import Base


class Inspection(Base):
    __tablename__ = "inspections"
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    plan_site_id: Mapped[int] = mapped_column(ForeignKey("plan_sites.id", ondelete="CASCADE"), index=True)
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    visited_at: Mapped[datetime] = mapped_column(DateTime)
    findings: Mapped[str] = mapped_column(Text, default="")
    rectify_by: Mapped[datetime | None] = mapped_column(DateTime)
    rectified_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")
