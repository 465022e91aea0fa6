"""Samples by round: a partition a round on PostgreSQL, the scan statement reading one, replays within a round."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

from sweep.field import tubes
from sweep.field.models import Sample
from sweep.field.record import _PG_SCAN_SQL
from sweep.field.scan import ScanIn, check_batch, scan_batch
from sweep.field.tubes import PG_KEYED_PLANS
from sweep.partitions import PARTITIONED_BY_ROUND, round_partition
from tests.factories import planned_campaign, two_sites, uid
from tests.field.conftest import numbers_of

KEY = "test-secret"


@pytest.fixture
def round_(session, settings, start, district_loaded):
    campaign = planned_campaign(session, settings, start)
    site, _ = two_sites(session, campaign)
    return campaign, site


def _scan(session, campaign, site, scans):
    return scan_batch(session=session, campaign=campaign, plan_site_id=site.id, scans=scans, key=KEY, user_id=None)


def _partitions(session, table):
    return set(session.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = CAST(:t AS regclass)"),
        {"t": table}).scalars())


def test_a_replay_to_the_same_round_answers_the_same(session, round_, start):
    campaign, site = round_
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="PT-0001", at=start)
    people = numbers_of(session, KEY, 3, skip=40)
    scans = [ScanIn(uid(), "PT-0001", start + timedelta(minutes=k), id_number=n) for k, (_p, n) in enumerate(people)]
    first = _scan(session, campaign, site, scans)
    again = _scan(session, campaign, site, scans)
    assert [o.status for o in first] == ["ok"] * 3
    assert [o.status for o in again] == ["replayed"] * 3
    assert [(o.result.sample_id, o.result.tube_code, o.result.position) for o in again] == \
           [(o.result.sample_id, o.result.tube_code, o.result.position) for o in first]
    assert session.scalar(select(func.count()).select_from(Sample).where(Sample.campaign_id == campaign.id)) == 3


def test_the_database_refuses_a_client_uuid_twice_in_one_round(session, round_, start):
    campaign, site = round_
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="PT-0002", at=start)
    (person, number), (other, _n) = numbers_of(session, KEY, 2, skip=50)
    key = uid()
    [done] = _scan(session, campaign, site, [ScanIn(key, "PT-0002", start, id_number=number)])
    row = {"campaign_id": campaign.id, "tube_id": session.scalar(select(Sample.tube_id).where(Sample.id == done.result.sample_id)),
           "person_id": other, "plan_site_id": site.id, "position": 2, "kind": "pooled", "client_uuid": key,
           "sampled_at": start, "recorded_at": start}
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(insert(Sample).values(**row))
    assert person != other


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True, scope="session")
def test_a_round_made_has_a_partition_of_each_table_and_its_samples_land_there(session, round_, start):
    campaign, site = round_
    for table in PARTITIONED_BY_ROUND:
        assert {round_partition(table, campaign.id), f"{table}_default"} <= _partitions(session, table)
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="PT-0003", at=start)
    _scan(session, campaign, site, [ScanIn(uid(), "PT-0003", start, id_number=n) for _p, n in numbers_of(session, KEY, 2, skip=60)])
    where = session.execute(text("SELECT DISTINCT tableoid::regclass::text FROM samples WHERE campaign_id = :c"), {"c": campaign.id})
    assert where.scalars().all() == [round_partition("samples", campaign.id)]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True, scope="session")
def test_the_kept_scan_plan_reads_only_its_rounds_partition(session, settings, round_, start):
    """The statement as the terminals' connections keep it (one generic plan): executed for a
    round, every partition of another round and the DEFAULT one are pruned before they are read."""
    campaign, site = round_
    other = planned_campaign(session, settings, start + timedelta(days=7))
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code="PT-0004", at=start)
    scans = [ScanIn(uid(), "PT-0004", start, id_number=n) for _p, n in numbers_of(session, KEY, 2, skip=70)]
    params = check_batch(scans, campaign, KEY).params(campaign=campaign, plan_site_id=site.id, user_id=None, now=start)
    names = re.findall(r"%\((\w+)\)s", _PG_SCAN_SQL)
    order = list(dict.fromkeys(names))
    types = {"cid": "int", "site": "int", "uid": "int", "now": "timestamp", "items": "text", "refused": "int", "copies": "int",
             "tubes": "text"}
    body = re.sub(r"%\((\w+)\)s", lambda m: f"${order.index(m.group(1)) + 1}", _PG_SCAN_SQL)
    conn = session.connection()
    conn.exec_driver_sql(PG_KEYED_PLANS)
    conn.exec_driver_sql(f"PREPARE kept_scan ({', '.join(types[n] for n in order)}) AS {body}")
    # EXPLAIN takes no parameters of its own: the values go in as literals.
    values = ", ".join("NULL" if params[n] is None else f"'{str(params[n]).replace(chr(39), chr(39) * 2)}'" for n in order)
    plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE kept_scan ({values})").scalars())
    conn.exec_driver_sql("DEALLOCATE kept_scan")
    read = set(re.findall(r"\bsamples_(round_\d+|default)", plan))
    assert read == {f"round_{campaign.id}"}, plan
    assert f"round_{other.id}" not in plan and "Subplans Removed" in plan, plan
    # And within it, by the batch's keys: a replay by (round, UUID), an earlier sample by (round, person).
    conditions = re.findall(r"Index Cond: \((.*)\)", plan)
    assert any("campaign_id = $" in c and "client_uuid)::text = ANY" in c for c in conditions), plan
    assert any("campaign_id = $" in c and "person_id = ANY" in c for c in conditions), plan
    assert session.scalar(select(func.count()).select_from(Sample).where(Sample.campaign_id == campaign.id)) == 2
