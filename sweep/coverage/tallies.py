"""Sampled and resulted counts per building, and the set of those not yet sampled, kept up to date
by reading only what is new.

Each refresh takes the samples and results with ids past the campaign's mark, adds them to the
building tallies and strikes the newly sampled off the missing set. Ids alone cannot prove
nothing was missed (on PostgreSQL a transaction holding a lower id may commit after a higher one;
a tube may be deleted; people may be added to the registry), so every refresh also compares true
totals, a few index counts, with the kept ones, and counts everything again when they differ.
People per building are counted with the rest and again whenever the registry's size or highest
id changes; a person moved between buildings without either changing is seen after a full count.
Refreshes of one campaign are serialised by a lock on its mark row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Row, Select, and_, bindparam, delete, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session

from sweep.coverage.models import CoverageMark, CoverageMissing, CoverageTally
from sweep.field.models import Sample
from sweep.lab.models import LabResult
from sweep.plan.models import Campaign
from sweep.registry.models import Person, registered

# Every count here keeps to the registry's people (``registered()``), and they all have a building.
_BUILDING_ID = cast("InstrumentedAttribute[int]", Person.building_id)


# Bounded above by the highest id seen when the totals were taken: a row committed after that is
# left for the next refresh, so that the totals and what was counted describe the same rows.
def _samples_between(campaign_id: int, after: int, upto: int) -> ColumnElement[bool]:
    return and_(Sample.campaign_id == campaign_id, Sample.kind != "retest", Sample.id > after, Sample.id <= upto)


def _sampled_between(campaign_id: int, after: int, upto: int) -> Select[int, int]:
    return (
        select(_BUILDING_ID, func.count())
        .select_from(Sample)
        .join(Person, Person.id == Sample.person_id)
        .where(_samples_between(campaign_id, after, upto), registered())
        .group_by(_BUILDING_ID)
    )


def _resulted_between(campaign_id: int, after: int, upto: int) -> Select[int, int]:
    return (
        select(_BUILDING_ID, func.count())
        .select_from(LabResult)
        .join(Sample, and_(Sample.campaign_id == campaign_id, Sample.tube_id == LabResult.tube_id, Sample.kind != "retest"))
        .join(Person, Person.id == Sample.person_id)
        .where(LabResult.campaign_id == campaign_id, LabResult.id > after, LabResult.id <= upto, registered())
        .group_by(_BUILDING_ID)
    )


def _totals(session: Session, campaign_id: int) -> tuple[int, int, int, int]:
    """(samples, highest sample id, results, highest result id) as they stand."""
    # Two statements on purpose: the count reads the partial index of pooled samples alone, and the
    # highest id of any kind is one step down the campaign index (a retest id as the bound is harmless).
    samples = session.scalar(select(func.count()).where(Sample.campaign_id == campaign_id, Sample.kind != "retest")) or 0
    top_sample = session.scalar(select(func.coalesce(func.max(Sample.id), 0)).where(Sample.campaign_id == campaign_id)) or 0
    results, top_result = session.execute(
        select(func.count(), func.coalesce(func.max(LabResult.id), 0)).where(LabResult.campaign_id == campaign_id)
    ).one()
    return samples, top_sample, results, top_result


def _lock_mark(session: Session, campaign_id: int) -> CoverageMark:
    values = {"campaign_id": campaign_id, "sample_id": -1, "result_id": -1, "sampled": 0, "results": 0, "people": -1, "person_max": -1}
    dialect = session.get_bind().dialect.name
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(CoverageMark).values(**values)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["campaign_id"]))
    mark = session.scalar(
        select(CoverageMark).where(CoverageMark.campaign_id == campaign_id).with_for_update().execution_options(populate_existing=True)
    )
    assert mark is not None
    return mark


def _rebuild_missing(session: Session, campaign_id: int, top_sample: int) -> None:
    session.execute(delete(CoverageMissing).where(CoverageMissing.campaign_id == campaign_id))
    done = select(Sample.id).where(_samples_between(campaign_id, -1, top_sample), Sample.person_id == Person.id).exists()
    session.execute(
        insert(CoverageMissing).from_select(["campaign_id", "person_id"], select(literal(campaign_id), Person.id).where(~done, registered()))
    )


def _registry(session: Session) -> tuple[int, int]:
    people, top = session.execute(
        select(func.count(), func.coalesce(func.max(Person.id), 0)).select_from(Person).where(registered())).one()
    return people, top


def _recount(
    session: Session, campaign: Campaign, mark: CoverageMark, totals: tuple[int, int, int, int], registry: tuple[int, int], now: datetime
) -> dict[int, list[int]]:
    session.execute(delete(CoverageTally).where(CoverageTally.campaign_id == campaign.id))
    samples, top_sample, results, top_result = totals
    tallies: dict[int, list[int]] = {
        b: [0, 0, n, home] for b, n, home in session.execute(
            select(_BUILDING_ID, func.count(), func.count().filter(Person.home_sampling.is_(True)))
            .where(registered()).group_by(_BUILDING_ID))
    }
    for building_id, n in session.execute(_sampled_between(campaign.id, -1, top_sample)):
        tallies.setdefault(building_id, [0, 0, 0, 0])[0] = n
    for building_id, n in session.execute(_resulted_between(campaign.id, -1, top_result)):
        tallies.setdefault(building_id, [0, 0, 0, 0])[1] = n
    if tallies:
        session.execute(
            insert(CoverageTally),
            [{"campaign_id": campaign.id, "building_id": b, "sampled": s, "resulted": r, "people": p, "home": h}
             for b, (s, r, p, h) in tallies.items()],
        )
    _rebuild_missing(session, campaign.id, top_sample)
    mark.sample_id, mark.result_id, mark.sampled, mark.results, mark.refreshed_at = top_sample, top_result, samples, results, now
    mark.people, mark.person_max = registry
    session.flush()
    return tallies


def refresh(*, session: Session, campaign: Campaign, now: datetime | None = None, full: bool = False) -> dict[int, list[int]]:
    """Building id -> [sampled, resulted, people, flagged for home sampling], and the missing set,
    up to date as of this transaction."""
    now = now or datetime.now()
    mark = _lock_mark(session, campaign.id)
    totals = _totals(session, campaign.id)
    registry = _registry(session)
    if full or mark.sample_id < 0 or registry != (mark.people, mark.person_max):
        return _recount(session, campaign, mark, totals, registry, now)
    samples, top_sample, results, top_result = totals
    new_samples = session.execute(_sampled_between(campaign.id, mark.sample_id, top_sample)).all() if top_sample > mark.sample_id else []
    new_results: Sequence[Row[int, int]] = []
    added_results = 0
    if top_result > mark.result_id:
        new_results = session.execute(_resulted_between(campaign.id, mark.result_id, top_result)).all()
        added_results = session.scalar(select(func.count()).where(
            LabResult.campaign_id == campaign.id, LabResult.id > mark.result_id, LabResult.id <= top_result)) or 0
    if samples != mark.sampled + sum(n for _b, n in new_samples) or results != mark.results + added_results:
        return _recount(session, campaign, mark, totals, registry, now)

    tallies = {b: [s, r, p, h] for b, s, r, p, h in session.execute(
        select(CoverageTally.building_id, CoverageTally.sampled, CoverageTally.resulted, CoverageTally.people, CoverageTally.home)
        .where(CoverageTally.campaign_id == campaign.id)
    )}
    changed: set[int] = set()
    for building_id, n in new_samples:
        tallies[building_id][0] += n  # every building with people has its row since the last count
        changed.add(building_id)
    for building_id, n in new_results:
        tallies[building_id][1] += n
        changed.add(building_id)
    if changed:
        session.connection().execute(
            update(CoverageTally.__table__)
            .where(CoverageTally.campaign_id == campaign.id, CoverageTally.building_id == bindparam("b"))
            .values(sampled=bindparam("s"), resulted=bindparam("r")),
            [{"b": b, "s": tallies[b][0], "r": tallies[b][1]} for b in changed],
        )
    if new_samples:
        newly = select(Sample.person_id).where(_samples_between(campaign.id, mark.sample_id, top_sample))
        session.execute(delete(CoverageMissing).where(CoverageMissing.campaign_id == campaign.id, CoverageMissing.person_id.in_(newly)))
        # Everyone in the registry is either sampled (once) or in the missing set; a set left
        # behind shows here.
        kept = session.scalar(select(func.count()).select_from(CoverageMissing).where(CoverageMissing.campaign_id == campaign.id)) or 0
        if kept != registry[0] - samples:
            _rebuild_missing(session, campaign.id, top_sample)
    mark.sample_id, mark.result_id, mark.sampled, mark.results, mark.refreshed_at = top_sample, top_result, samples, results, now
    session.flush()
    return tallies


def missing_ids(campaign_id: int) -> Select[int]:
    """A SELECT of the ids in the missing set (call ``refresh`` first in the same transaction)."""
    return select(CoverageMissing.person_id).where(CoverageMissing.campaign_id == campaign_id)


__all__ = ["missing_ids", "refresh"]
