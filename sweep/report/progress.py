"""The live forecast's input: the desk scans of a round per site and minute, read from the field.

The adapter between the field's samples and the pure forecast (``sweep.simulate.forecast``).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import ColumnElement, Float, Integer, bindparam, case, cast, func, literal, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from sweep.db import is_postgresql
from sweep.errors import InvalidInput
from sweep.field.models import Sample
from sweep.plan.clock import server_now
from sweep.plan.models import Campaign, PlanSite
from sweep.simulate.forecast import SiteProgress
from sweep.simulate.model import DayInput


def _minute_of(session: Session, column: InstrumentedAttribute[datetime], t0: datetime) -> ColumnElement[int]:
    """Whole minutes from ``t0`` to a timestamp column, exact to the microsecond on both backends."""
    if is_postgresql(session):
        return cast(func.floor(func.extract("epoch", column - bindparam("t0", t0)) / 60), Integer)
    # SQLite's date functions round to the millisecond, which moves a scan 0.4 ms before a minute
    # into the next one; the stored text 'YYYY-MM-DD HH:MM:SS[.ffffff]' is read field by field.
    days = cast(func.round(func.julianday(func.date(column)) - func.julianday(literal(t0.date().isoformat()))), Integer)
    clock = cast(func.substr(column, 12, 2), Integer) * 60 + cast(func.substr(column, 15, 2), Integer)
    second = t0.second + t0.microsecond / 1e6
    before = case((cast(func.substr(column, 18), Float) < literal(second), 1), else_=0)
    return days * 1440 + clock - (t0.hour * 60 + t0.minute) - before


def site_progress(
    *, session: Session, campaign: Campaign, day: DayInput, now: float | None = None, clock: datetime | None = None
) -> tuple[list[SiteProgress], float]:
    """Desk scans per site and minute up to ``now``, in the order of ``day.sites``, and ``now``.

    ``now`` is minutes from the start of sampling; by default the clock's, but never before the
    latest scan (a round replayed or played ahead of time is read to its end).
    """
    desk_scans = (Sample.campaign_id == campaign.id) & (Sample.kind == "pooled")
    if now is None:
        latest = session.scalar(select(func.max(Sample.sampled_at)).where(desk_scans))
        wall = ((clock or server_now()) - campaign.starts_at).total_seconds() / 60
        now = max(wall, (latest - campaign.starts_at).total_seconds() / 60 if latest else wall)
    if now < 0:
        raise InvalidInput("now", f"采样尚未开始 (sampling has not started: now is {-now:.0f} min before the start)")
    cutoff = campaign.starts_at + timedelta(minutes=now)
    so_far = desk_scans & (Sample.sampled_at <= cutoff)
    minute = _minute_of(session, Sample.sampled_at, campaign.starts_at).label("minute")
    codes = {s.code: i for i, s in enumerate(day.sites)}
    per_minute = np.zeros((len(day.sites), math.floor(now) + 1), dtype=np.int64)
    for code, m, n in session.execute(
        select(PlanSite.code, minute, func.count())
        .join(PlanSite, PlanSite.id == Sample.plan_site_id)
        .where(so_far)
        .group_by(PlanSite.code, minute)
    ):
        if code in codes and m is not None:
            per_minute[codes[code], min(max(int(m), 0), per_minute.shape[1] - 1)] += int(n)
    last = {
        code: (at - campaign.starts_at).total_seconds() / 60
        for code, at in session.execute(
            select(PlanSite.code, func.max(Sample.sampled_at)).join(PlanSite, PlanSite.id == Sample.plan_site_id).where(so_far).group_by(PlanSite.code)
        )
        if at is not None
    }
    progress = [SiteProgress(code=s.code, per_minute=per_minute[i], last_scan=last.get(s.code)) for i, s in enumerate(day.sites)]
    return progress, float(now)
