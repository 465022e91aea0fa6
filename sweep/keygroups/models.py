"""Tables of the key groups' own testing: workplaces, who works where, their tests, environment samples.

The groups themselves (``KeyGroup``) are the registry's categories of people (人员类别).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sweep.db import Base
from sweep.lab.models import ONE_OF_RESULTS


class Workplace(Base):
    """Where key-group people work (airport, cold store, quarantine hotel), with its employer.

    Its environment (surfaces, goods) is sampled every ``env_every_days``.
    """

    __tablename__ = "workplaces"
    __table_args__ = (CheckConstraint("env_every_days > 0", name="env_every_positive"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    employer: Mapped[str] = mapped_column(String(100), index=True)
    key_group_id: Mapped[int] = mapped_column(ForeignKey("key_groups.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    env_every_days: Mapped[int] = mapped_column(Integer)


class KeyGroupMember(Base):
    """Which workplace a key-group person works at (the registry says which group)."""

    __tablename__ = "key_group_members"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), unique=True)
    workplace_id: Mapped[int] = mapped_column(ForeignKey("workplaces.id", ondelete="CASCADE"), index=True)
    since: Mapped[datetime | None] = mapped_column(DateTime)


class KeyGroupTest(Base):
    """A key-group person's test on the group's own schedule, outside the district rounds."""

    __tablename__ = "key_group_tests"
    __table_args__ = (
        CheckConstraint(f"result IS NULL OR {ONE_OF_RESULTS}", name="result"),
        CheckConstraint("source IN ('manual', 'import')", name="source"),
        # One test a person a moment: a workplace's list loaded twice records nothing new.
        UniqueConstraint("person_id", "sampled_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    workplace_id: Mapped[int | None] = mapped_column(ForeignKey("workplaces.id", ondelete="SET NULL"))
    sampled_at: Mapped[datetime] = mapped_column(DateTime)
    result: Mapped[str | None] = mapped_column(String(16))
    resulted_at: Mapped[datetime | None] = mapped_column(DateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Entered one by one, or loaded from a workplace's own list of its tests.
    source: Mapped[str] = mapped_column(String(16), default="manual", server_default="manual")


class EnvironmentSample(Base):
    """A swab of a workplace's surfaces or goods (环境采样)."""

    __tablename__ = "environment_samples"
    __table_args__ = (CheckConstraint(f"result IS NULL OR {ONE_OF_RESULTS}", name="result"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workplace_id: Mapped[int] = mapped_column(ForeignKey("workplaces.id", ondelete="CASCADE"), index=True)
    point: Mapped[str] = mapped_column(String(100))
    sampled_at: Mapped[datetime] = mapped_column(DateTime)
    result: Mapped[str | None] = mapped_column(String(16))
    resulted_at: Mapped[datetime | None] = mapped_column(DateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
