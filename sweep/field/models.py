"""Tables of the day. The database itself refuses an overfilled tube and a person sampled twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from sweep.db import Base

# A tube pools the round's pool size (十混一) or holds one person (单人单管: key groups, retests).
TUBE_KINDS = ("pooled", "single")
# Why a person was swabbed: the round at a site, at home (上门采样), or an individual retest (单采复核).
SAMPLE_KINDS = ("pooled", "home", "retest")
# Why someone outside the registry came to a site (临时登记).
WALK_IN_REASONS = ("visitor", "new_resident", "worker", "other")


class StaffArrival(Base):
    """One rostered staff member checked in at their site (医护人员到位), once per round."""

    __tablename__ = "staff_arrivals"
    __table_args__ = (UniqueConstraint("campaign_id", "staff_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    plan_site_id: Mapped[int] = mapped_column(ForeignKey("plan_sites.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    arrived_at: Mapped[datetime] = mapped_column(DateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class WalkIn(Base):
    """A person registered at the desk (临时登记: a visitor, a new tenant, a migrant worker) in a round.

    The person is a ``people`` row with no building: sampled like anyone, counted apart from the
    registry's denominator, and listed for the community office to confirm into the registry
    (``confirmed_at``), after which they are a resident of their building like any other.
    """

    __tablename__ = "walk_ins"
    __table_args__ = (
        UniqueConstraint("campaign_id", "person_id"),
        CheckConstraint(f"reason IN ({', '.join(repr(r) for r in WALK_IN_REASONS)})", name="reason"),
        CheckConstraint("building_id IS NOT NULL OR address IS NOT NULL", name="somewhere"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    plan_site_id: Mapped[int] = mapped_column(ForeignKey("plan_sites.id", ondelete="CASCADE"), index=True)
    # Where they stay: a building of the district if they know it, else an address in words.
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"))
    address: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(16))
    registered_at: Mapped[datetime] = mapped_column(DateTime)
    registered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Preregistration(Base):
    """A resident's pre-registration (预登记): a short code the desk scans instead of the ID card.

    An ID number not in the registry gets a code too (its person is empty): the anonymous answer
    must not tell who is registered, and the desk completes it as a walk-in with the code (the
    document coming from here: hash, masked and sealed forms).
    """

    __tablename__ = "preregistrations"
    __table_args__ = (
        UniqueConstraint("campaign_id", "code"),
        UniqueConstraint("campaign_id", "person_id"),
        UniqueConstraint("campaign_id", "id_hash"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    # The number's keyed look-up hash and its masked form, as the registry keeps them (never the number).
    id_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    id_masked: Mapped[str] = mapped_column(String(32))
    # Only for a number not in the registry: sealed as ``people.id_encrypted`` is, for the walk-in it becomes.
    id_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary(64))
    code: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Box(Base):
    """A transport box (转运箱) of sealed tubes."""

    __tablename__ = "boxes"
    __table_args__ = (
        UniqueConstraint("campaign_id", "code"),
        CheckConstraint("status IN ('open', 'sealed', 'in_transit', 'received')", name="status"),
        CheckConstraint("tubes >= 0 AND tubes <= capacity", name="within_capacity"),
    )
    # Not a column: set on a box an open found already opened by the same terminal (a resent request).
    replayed = False

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    plan_site_id: Mapped[int] = mapped_column(ForeignKey("plan_sites.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(48))
    capacity: Mapped[int] = mapped_column(Integer)
    tubes: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(DateTime)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sealed_at: Mapped[datetime | None] = mapped_column(DateTime)


class Tube(Base):
    """A sampling tube (采样管). ``filled`` can never pass ``pool_size``, and a single tube holds one: CHECKs guard both."""

    __tablename__ = "tubes"
    __table_args__ = (
        UniqueConstraint("campaign_id", "code"),
        CheckConstraint("filled >= 0 AND filled <= pool_size", name="within_pool_size"),
        CheckConstraint("status IN ('open', 'sealed', 'packed')", name="status"),
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in TUBE_KINDS)})", name="kind"),
        CheckConstraint("kind <> 'single' OR pool_size = 1", name="single_holds_one"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    plan_site_id: Mapped[int] = mapped_column(ForeignKey("plan_sites.id", ondelete="CASCADE"), index=True)
    box_id: Mapped[int | None] = mapped_column(ForeignKey("boxes.id"), index=True)
    code: Mapped[str] = mapped_column(String(48))
    desk_no: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8), default="pooled", server_default="pooled")
    pool_size: Mapped[int] = mapped_column(Integer)
    filled: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(DateTime)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sealed_at: Mapped[datetime | None] = mapped_column(DateTime)
    sealed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    packed_at: Mapped[datetime | None] = mapped_column(DateTime)
    packed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Sample(Base):
    """A person swabbed into a tube. Pooled once per round; a retest is a second, individual sample.

    Partitioned by round on PostgreSQL (``sweep.partitions``): its primary key there is
    ``(id, campaign_id)``, and every unique key names the round. A terminal's client UUID is
    unique within its round, which is all a replay needs: a resent scan carries the same round.
    """

    __tablename__ = "samples"
    __table_args__ = (
        UniqueConstraint("campaign_id", "client_uuid"),
        UniqueConstraint("campaign_id", "tube_id", "position"),
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in SAMPLE_KINDS)})", name="kind"),
        CheckConstraint("position >= 1", name="position_positive"),
        # One person once per round, unless the sample is an individual retest (单采复核).
        Index(
            "uq_samples_once_per_campaign",
            "campaign_id",
            "person_id",
            unique=True,
            sqlite_where=text("kind <> 'retest'"),
            postgresql_where=text("kind <> 'retest'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # No index of its own: the unique keys above begin with it, and one index fewer is one fewer write a scan.
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    tube_id: Mapped[int] = mapped_column(ForeignKey("tubes.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    plan_site_id: Mapped[int] = mapped_column(ForeignKey("plan_sites.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16), default="pooled")
    client_uuid: Mapped[str] = mapped_column(String(36))
    sampled_at: Mapped[datetime] = mapped_column(DateTime)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Handover(Base):
    """A box handed from a site to a courier and signed for by the lab (双签收)."""

    __tablename__ = "handovers"
    __table_args__ = (UniqueConstraint("box_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    box_id: Mapped[int] = mapped_column(ForeignKey("boxes.id", ondelete="CASCADE"))
    # The rostered courier (转运员) the box went to; the name is kept as signed, should the staff list change.
    courier_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    courier_name: Mapped[str] = mapped_column(String(50))
    handed_at: Mapped[datetime] = mapped_column(DateTime)
    handed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The courier's account when the courier signed for the box themselves: the boxes a courier may read.
    courier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    received_at: Mapped[datetime | None] = mapped_column(DateTime)
    received_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
