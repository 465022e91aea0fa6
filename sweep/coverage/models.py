"""Tables of "nobody missed": exemptions and home-sampling tasks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sweep.db import Base
from sweep.registry.models import Person

EXEMPTION_REASONS = ("away", "hospital", "sampled_elsewhere", "deceased")
HOME_TASK_STATUSES = ("open", "done", "cancelled")


class Exemption(Base):
    """Someone not to be counted as missing this round, and why (离区、住院、外地已检、死亡)."""

    __tablename__ = "exemptions"
    __table_args__ = (
        UniqueConstraint("campaign_id", "person_id"),
        CheckConstraint(f"reason IN ({', '.join(repr(r) for r in EXEMPTION_REASONS)})", name="reason"),
        # Sampled elsewhere counts only with proof: the report's number, the institution, the date.
        CheckConstraint("reason <> 'sampled_elsewhere' OR proof IS NOT NULL", name="elsewhere_needs_proof"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    reason: Mapped[str] = mapped_column(String(24))
    proof: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class HomeSamplingTask(Base):
    """上门采样: a team goes to someone who cannot come to a site; done once they are sampled."""

    __tablename__ = "home_sampling_tasks"
    __table_args__ = (
        UniqueConstraint("campaign_id", "person_id"),
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in HOME_TASK_STATUSES)})", name="status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    reason: Mapped[str] = mapped_column(String(100))
    team: Mapped[str | None] = mapped_column(String(50))
    due_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")
    # The home sample in this task's round; a plain column for the reason ``RetestOrder.sample_id`` is.
    sample_id: Mapped[int | None] = mapped_column(Integer)
    done_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class CoverageTally(Base):
    """People, sampled and resulted per building, kept up to date by ``sweep.coverage.tallies``.

    Joining a million samples to their people on every look at the coverage board costs seconds;
    the tally adds only what came in since the last look.
    """

    __tablename__ = "coverage_tallies"
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"), primary_key=True)
    sampled: Mapped[int] = mapped_column(Integer)
    resulted: Mapped[int] = mapped_column(Integer)
    # The registry's people in the building, and how many of them are flagged for home sampling.
    people: Mapped[int] = mapped_column(Integer)
    home: Mapped[int] = mapped_column(Integer)


class CoverageMark(Base):
    """How far the tallies of a campaign have read: the last sample and result counted, and the totals."""

    __tablename__ = "coverage_marks"
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    sample_id: Mapped[int] = mapped_column(Integer)  # -1: never counted
    result_id: Mapped[int] = mapped_column(Integer)
    sampled: Mapped[int] = mapped_column(Integer)
    results: Mapped[int] = mapped_column(Integer)
    # The registry as last counted (how many, the highest id): a change counts everything again.
    people: Mapped[int] = mapped_column(Integer)
    person_max: Mapped[int] = mapped_column(Integer)
    refreshed_at: Mapped[datetime | None] = mapped_column(DateTime)


class CoverageMissing(Base):
    """Who has no sample yet in a campaign, kept by ``sweep.coverage.tallies`` as samples come in.

    Starts as the whole registry and shrinks; the missing list reads it instead of setting a
    million people against a million samples. Partitioned by round on PostgreSQL (``sweep.partitions``).
    """

    __tablename__ = "coverage_missing"
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)


# Coverage counts people per building, and whether they are flagged for home sampling, at every
# look at the board: an index with both lets that read the index alone.
Index("ix_people_building_id_home_sampling", Person.building_id, Person.home_sampling)
