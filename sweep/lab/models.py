"""Tables of the lab's side: a result per tube, and the retest orders a positive pool creates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sweep.db import Base


class LabResult(Base):
    __tablename__ = "lab_results"
    __table_args__ = (
        UniqueConstraint("tube_id"),
        CheckConstraint("result IN ('negative', 'positive', 'invalid')", name="result"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    tube_id: Mapped[int] = mapped_column(ForeignKey("tubes.id", ondelete="CASCADE"))
    result: Mapped[str] = mapped_column(String(16))
    ct_value: Mapped[float | None] = mapped_column(Float)
    resulted_at: Mapped[datetime] = mapped_column(DateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class RetestOrder(Base):
    """单采复核: one person of a positive or invalid pool, to be sampled alone by a deadline."""

    __tablename__ = "retest_orders"
    __table_args__ = (
        UniqueConstraint("campaign_id", "person_id", "source_tube_id"),
        CheckConstraint("status IN ('open', 'sampled', 'closed')", name="status"),
        CheckConstraint("result IS NULL OR result IN ('negative', 'positive', 'invalid')", name="result"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    source_tube_id: Mapped[int] = mapped_column(ForeignKey("tubes.id", ondelete="CASCADE"))
    due_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")
    result: Mapped[str | None] = mapped_column(String(16))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
