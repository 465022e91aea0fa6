"""A committed round for the field's HTTP and concurrency tests: sites, users, and people's ID numbers; and the
API over it, logged in by role."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from sweep.api import create_app
from sweep.auth.service import create_user
from sweep.config import Settings
from sweep.db import make_session_factory, unit_of_work
from sweep.field.models import Sample
from sweep.field.scan import ScanIn, ScanOutcome, scan_batch
from sweep.plan.models import Campaign, PlanSite
from sweep.registry.models import Person
from sweep.registry.service import id_lookup_hash
from tests.factories import planned_campaign, two_sites

PASSWORD = "correct horse battery"
KEY = "test-secret"  # the round's settings and the app's: ID numbers hash alike in both


@lru_cache
def district_id_numbers() -> tuple[str, ...]:
    """The clear ID numbers of the shared test district (the registry keeps only their hashes)."""
    from sweep.demo.district import generate_district

    return tuple(generate_district(people=3000, seed=7).people.id_number)


def numbers_of(session: Session, key: str, n: int, skip: int = 0) -> list[tuple[int, str]]:
    """(person id, ID number) of n registered people sampled in pools (no single-tube key group), after the first ``skip``."""
    numbers = district_id_numbers()[skip : skip + 2 * n + 20]
    by_hash = {id_lookup_hash(x, key=key): x for x in numbers}
    rows = session.execute(select(Person.id, Person.id_hash, Person.key_group_id).where(Person.id_hash.in_(list(by_hash)))).all()
    found = {by_hash[h]: pid for pid, h, group in rows if group is None}
    picked = [(found[x], x) for x in numbers if x in found][:n]
    assert len(picked) == n, "the test district has too few people outside key groups here"
    return picked


@dataclass
class Round:
    campaign_id: int
    site_a: int
    site_b: int
    office_a: int
    users: dict[str, str]  # role label -> username


@pytest.fixture(scope="module")
def committed_round(engine, district_loaded) -> Iterator[Round]:
    """A planned round committed to the database, with a user per role; the app reads it over its own connections.

    Removed afterwards (its rows go with it, by the schema's cascades), so that later modules
    looking back at earlier rounds find only their own."""
    settings = Settings(database_url="sqlite://", secret_key=KEY)
    factory = make_session_factory(engine)
    tag = uuid.uuid4().hex[:6]
    with unit_of_work(factory) as session:
        # Under way for two to three hours whatever the time of day, so that a scan made now, or an
        # hour after the start, falls inside the round and not in its future.
        started = datetime.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
        campaign = planned_campaign(session, settings, started)
        sites = session.scalars(select(PlanSite).where(PlanSite.campaign_id == campaign.id).order_by(PlanSite.id)).all()
        a = sites[0]
        b = next(s for s in sites[1:] if s.office_id != a.office_id) if any(s.office_id != a.office_id for s in sites[1:]) else sites[1]
        users: dict[str, str] = {}
        for label, role, scope in (
            ("staff_a", "site_staff", {"plan_site_id": a.id}),
            ("staff_b", "site_staff", {"plan_site_id": b.id}),
            ("leader_a", "site_leader", {"plan_site_id": a.id}),
            ("lab", "lab", {}),
            ("command", "command", {}),
            ("office_a", "office", {"office_id": a.office_id}),
            ("courier", "courier", {}),
            ("admin", "admin", {}),
        ):
            name = f"{label}-{tag}"
            create_user(session=session, username=name, display_name=name, role=role, password=PASSWORD, **scope)
            users[label] = name
        result = Round(campaign.id, a.id, b.id, a.office_id, users)
    yield result
    with unit_of_work(factory) as session:
        session.execute(delete(Campaign).where(Campaign.id == result.campaign_id))


def load_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    assert campaign is not None
    return campaign


@pytest.fixture(scope="module")
def api(engine, db_url, committed_round):  # type: ignore[no-untyped-def]
    """The app over the committed round: its test client, a function giving a role's log-in headers, and the round."""
    app = create_app(settings=Settings(database_url=db_url, secret_key=KEY), engine=engine)
    with TestClient(app) as client:
        tokens: dict[str, dict[str, str]] = {}

        def as_(label: str) -> dict[str, str]:
            if label not in tokens:
                r = client.post("/api/auth/token", json={"username": committed_round.users[label], "password": PASSWORD})
                assert r.status_code == 200, r.text
                tokens[label] = {"authorization": f"Bearer {r.json()['token']}"}
            return tokens[label]

        yield client, as_, committed_round


@pytest.fixture
def round_(session, settings, start, district_loaded):  # type: ignore[no-untyped-def]
    """A planned round in the test's own transaction, and two of its sites."""
    campaign = planned_campaign(session, settings, start)
    a, b = two_sites(session, campaign)
    return campaign, a, b


def batch(session: Session, campaign: Campaign, site: PlanSite, scans: list[ScanIn], user_id: int | None = None) -> list[ScanOutcome]:
    """Scans at a site through the one scan path, as a terminal's batch."""
    return scan_batch(session=session, campaign=campaign, plan_site_id=site.id, scans=scans, key=KEY, user_id=user_id)


def samples_in(session: Session, campaign: Campaign) -> int:
    return session.scalar(select(func.count()).select_from(Sample).where(Sample.campaign_id == campaign.id)) or 0
