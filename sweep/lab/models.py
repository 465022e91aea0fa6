"""Tables of the lab's side: a result per tube, the files results came in, and retest orders."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sweep.db import Base

# What a lab may report for a tube (or a key-group test, or an environment swab).
RESULTS = ("negative", "positive", "invalid")
ONE_OF_RESULTS = f"result IN ({', '.join(repr(r) for r in RESULTS)})"


class ResultImport(Base):
    """One instrument export loaded, with what became of its rows (the rejected ones by row number)."""

    __tablename__ = "result_imports"
    __table_args__ = (CheckConstraint("total_rows >= 0 AND imported >= 0 AND unchanged >= 0 AND rejected >= 0", name="counts"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    total_rows: Mapped[int] = mapped_column(Integer)
    imported: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class LabResult(Base):
    __tablename__ = "lab_results"
    __table_args__ = (
        UniqueConstraint("tube_id"),
        CheckConstraint(ONE_OF_RESULTS, name="result"),
        CheckConstraint("ct_value IS NULL OR (ct_value > 0 AND ct_value <= 50)", name="ct_range"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    tube_id: Mapped[int] = mapped_column(ForeignKey("tubes.id", ondelete="CASCADE"))
    result: Mapped[str] = mapped_column(String(16))
    # The lowest Ct of the targets (the one that decides); every target's value is in ct_values.
    ct_value: Mapped[float | None] = mapped_column(Float)
    ct_values: Mapped[dict[str, float] | None] = mapped_column(JSON)
    resulted_at: Mapped[datetime] = mapped_column(DateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("result_imports.id", ondelete="SET NULL"))


class RetestOrder(Base):
    """单采复核: one person of a positive or invalid pool, to be sampled alone by a deadline.

    Closed by the result of the person's individual sample (``sample_id``), or by hand.
    """

    __tablename__ = "retest_orders"
    __table_args__ = (
        UniqueConstraint("campaign_id", "person_id", "source_tube_id"),
        CheckConstraint("status IN ('open', 'sampled', 'closed')", name="status"),
        CheckConstraint(f"result IS NULL OR {ONE_OF_RESULTS}", name="result"),
        CheckConstraint("status <> 'closed' OR (result IS NOT NULL AND closed_at IS NOT NULL)", name="closed_has_result"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    source_tube_id: Mapped[int] = mapped_column(ForeignKey("tubes.id", ondelete="CASCADE"), index=True)
    due_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")
    result: Mapped[str | None] = mapped_column(String(16))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The retest's sample in this order's round. Not a foreign key: ``samples`` is partitioned by
    # round and takes references only by (campaign_id, id), which would need a second index on it.
    sample_id: Mapped[int | None] = mapped_column(Integer)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
