"""Tables of a round and its plan. Every large table carries ``campaign_id`` for later partitioning."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sweep.db import Base
from sweep.registry.models import CandidateSite


class Campaign(Base):
    """One round of mass testing (全员核酸检测一轮)."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("deadline_minutes > 0", name="deadline_positive"),
        CheckConstraint("pool_size BETWEEN 1 AND 20", name="pool_size_range"),
        CheckConstraint("status IN ('planned', 'running', 'finished')", name="status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    round_no: Mapped[int] = mapped_column(Integer, default=1)
    starts_at: Mapped[datetime] = mapped_column(DateTime)
    deadline_minutes: Mapped[int] = mapped_column(Integer)
    ready_before_minutes: Mapped[int] = mapped_column(Integer, default=120)
    pool_size: Mapped[int] = mapped_column(Integer, default=10)
    box_size: Mapped[int] = mapped_column(Integer, default=50)
    status: Mapped[str] = mapped_column(String(16), default="planned")


class PlanSite(Base):
    """A candidate site opened for this round, with its desks."""

    __tablename__ = "plan_sites"
    __table_args__ = (
        UniqueConstraint("campaign_id", "candidate_site_id"),
        UniqueConstraint("campaign_id", "code"),
        CheckConstraint("desks > 0", name="desks_positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    candidate_site_id: Mapped[int] = mapped_column(ForeignKey("candidate_sites.id"))
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"), index=True)
    code: Mapped[str] = mapped_column(String(48))
    desks: Mapped[int] = mapped_column(Integer)
    expected_people: Mapped[int] = mapped_column(Integer, default=0)
    # Kept from the previous round (固化): the next round opens it again.
    fixed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The opening stretch reserved for key groups, minutes from the start (0: none).
    key_slot_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    home_teams: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    mean_walk_m: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    max_walk_m: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    # A mobile site (流动采样点) for buildings with no candidate site within the walking limit.
    mobile: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Queueing at the planned pace (M/M/c): mean wait, 95th-percentile line and the room for it.
    mean_wait_minutes: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    queue_p95: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    queue_room: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    candidate: Mapped[CandidateSite] = relationship()


class PlanBuilding(Base):
    """A building's call-up: which site its people go to and in which time slot."""

    __tablename__ = "plan_buildings"
    __table_args__ = (
        UniqueConstraint("campaign_id", "building_id"),
        CheckConstraint("slot_start_minute >= 0", name="slot_start_nonnegative"),
        CheckConstraint("slot_minutes > 0", name="slot_positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"))
    plan_site_id: Mapped[int] = mapped_column(ForeignKey("plan_sites.id", ondelete="CASCADE"), index=True)
    slot_start_minute: Mapped[int] = mapped_column(Integer)
    slot_minutes: Mapped[int] = mapped_column(Integer)
    people: Mapped[int] = mapped_column(Integer, default=0)
    walk_m: Mapped[float] = mapped_column(Float, default=0.0)
    # Of ``people``, key-group members: called in the site's key slot, single-sampled.
    key_people: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    home_people: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    home_visit_minute: Mapped[int | None] = mapped_column(Integer)
    # Its people walk beyond the limit: only in a plan whose cap on sites or samplers was accepted.
    beyond_walk_limit: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Shift(Base):
    """A named staff member in one role at one site for a stretch of the day (分工表)."""

    __tablename__ = "shifts"
    __table_args__ = (
        CheckConstraint("ends_minute > starts_minute", name="ends_after_start"),
        CheckConstraint(
            "role IN ('site_leader', 'guide', 'registrar', 'sampler', 'order_keeper', 'disinfector', 'courier')",
            name="role",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    plan_site_id: Mapped[int] = mapped_column(ForeignKey("plan_sites.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    desk_no: Mapped[int | None] = mapped_column(Integer)
    starts_minute: Mapped[int] = mapped_column(Integer)
    ends_minute: Mapped[int] = mapped_column(Integer)


class PlanRun(Base):
    """How a campaign's plan was made: the solver's answer, its bound, and the report of the plan."""

    __tablename__ = "plan_runs"
    __table_args__ = (
        UniqueConstraint("campaign_id"),
        CheckConstraint("gap >= 0", name="gap_nonnegative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    made_at: Mapped[datetime] = mapped_column(DateTime)
    method: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16))
    objective: Mapped[float] = mapped_column(Float)
    bound: Mapped[float] = mapped_column(Float)
    gap: Mapped[float] = mapped_column(Float)
    seconds: Mapped[float] = mapped_column(Float)
    # The plan's summary, exceptions, warnings and round-over-round differences, as JSON.
    report: Mapped[str] = mapped_column(Text)


class ReadinessItem(Base):
    """One of the four things in place on time (四个到位), with its deadline and check-in."""

    __tablename__ = "readiness_items"
    __table_args__ = (
        CheckConstraint("kind IN ('materials', 'staff', 'disinfection', 'waste')", name="kind"),
        UniqueConstraint("campaign_id", "plan_site_id", "kind", "label"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    plan_site_id: Mapped[int] = mapped_column(ForeignKey("plan_sites.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime] = mapped_column(DateTime)
    quantity_planned: Mapped[int | None] = mapped_column(Integer)
    quantity_done: Mapped[int | None] = mapped_column(Integer)
    done_at: Mapped[datetime | None] = mapped_column(DateTime)
    done_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The last check-in, complete or not: a short delivery is checked in but not done.
    checked_at: Mapped[datetime | None] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(String(200))
