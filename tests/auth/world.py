"""A played round with two sides: office A with site A, office B with site B, and an account of every
role on each side, for the scope tests. Side A is "own", side B "other".

What lies outside each account's scope is worked out here with plain queries of the test's own,
not with the scope module under test.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.api import create_app
from sweep.auth.models import User
from sweep.auth.scope import Scope
from sweep.auth.service import create_user
from sweep.config import Settings, get_settings
from sweep.coverage import followup
from sweep.coverage.service import missing_rows
from sweep.db import make_session_factory, unit_of_work
from sweep.demo.district import generate_district
from sweep.field import service as fieldwork
from sweep.field import tubes
from sweep.field.couriers import site_couriers
from sweep.field.models import Box, Handover, Sample, Tube
from sweep.inspect import service as inspect
from sweep.inspect.models import Finding
from sweep.keygroups import service as keygroups
from sweep.lab.models import RetestOrder
from sweep.plan.models import Campaign, PlanBuilding, PlanSite, ReadinessItem, Shift
from sweep.registry.importer import import_file
from sweep.registry.models import Building, Community, Person, RegistryImport
from sweep.registry.service import id_lookup_hash
from tests.conftest import database as database  # the scope tests take the module database from here
from tests.conftest import drop as drop
from tests.factories import scan_person

PEOPLE, SEED = 1500, 5
PASSWORD = "scope test password"
ROLES = ("admin", "command", "office", "site_leader", "site_staff", "courier", "lab", "inspector")
SIDED = ("office", "site_leader", "site_staff", "courier", "inspector")


@dataclass
class Side:
    office_id: int
    site_id: int
    site_code: str
    candidate_site_id: int
    community: str
    person: int  # missing, in the office, called to the site
    building: str  # called to the site
    tube: str
    box: str
    import_id: int
    finding: int
    exemption: int
    task: int
    item: int
    staff: int
    order: int | None
    key_person: int | None
    courier: int = 0  # the staff id of the site's rostered courier


@dataclass
class Foreign:
    """What an account must never see: person ids, plan-site ids, and codes (buildings, sites, tubes, boxes)."""

    people: set[int] = field(default_factory=set)
    sites: set[int] = field(default_factory=set)
    codes: set[str] = field(default_factory=set)
    imports: set[int] = field(default_factory=set)
    findings: set[int] = field(default_factory=set)
    masked: bool = False  # the lab: people only without names and phones


@dataclass
class World:
    app: FastAPI
    campaign: int
    a: Side
    b: Side
    users: dict[str, str]  # actor -> username ("office" is side A's; "office_b" side B's)
    ids: dict[str, int]
    foreign: dict[str, Foreign]
    id_numbers: dict[int, str]  # person id -> ID number (for imports)
    workplace: str
    victim: int
    env_sample: int



def _people_csv(rows: list[tuple[str, str, str]]) -> bytes:
    lines = ["姓名,身份证号,楼栋编码"] + [",".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def build(url: str) -> World:
    from sweep.demo.run import run_demo

    summary = run_demo(url=url, people=PEOPLE, seed=SEED, day=date(2026, 12, 1))
    key = get_settings().secret_key
    app = create_app(settings=Settings(database_url=url, secret_key=key, login_attempts=100_000, login_address_attempts=100_000,
                                       resident_attempts=100_000))
    district = generate_district(people=PEOPLE, seed=SEED)
    factory = make_session_factory(app.state.engine)
    with unit_of_work(factory) as session:
        campaign = session.get(Campaign, summary["campaign"])
        assert campaign is not None
        site_a, site_b = session.scalars(select(PlanSite).where(PlanSite.campaign_id == campaign.id).order_by(PlanSite.id)).all()[:2]
        assert site_a.office_id != site_b.office_id, "the scope tests need two sites of two offices"
        users: dict[str, str] = {}
        ids: dict[str, int] = {}
        for role in ROLES:
            for side, site in (("", site_a), ("_b", site_b)):
                if role not in SIDED and side:
                    continue
                name = f"{role}{side}"
                scope = {"office_id": site.office_id} if role == "office" else {"plan_site_id": site.id} if role in ("site_leader", "site_staff") else {}
                user = create_user(session=session, username=f"scope-{name}", display_name=name, role=role, password=PASSWORD, **scope)
                users[name], ids[name] = user.username, user.id
        victim = create_user(session=session, username="scope-victim", display_name="v", role="inspector", password=PASSWORD).id
        sides = {}
        numbers = dict(zip(range(1, PEOPLE + 1), district.people.id_number, strict=False))
        id_numbers: dict[int, str] = {}
        for tag, site in (("a", site_a), ("b", site_b)):
            sides[tag] = _side(session, campaign, site, tag, ids, key)
        # The ID numbers of the people the imports name (the registry keeps only their hashes).
        by_hash = {id_lookup_hash(n, key=key): n for n in numbers.values()}
        for pid, h in session.execute(select(Person.id, Person.id_hash)):
            if bytes(h) in by_hash:
                id_numbers[pid] = by_hash[bytes(h)]
        for tag in ("a", "b"):
            office_user = session.get(User, ids["office" if tag == "a" else "office_b"])
            s = sides[tag]
            person = session.get(Person, s.person)
            building = session.get(Building, person.building_id)
            report = import_file(session=session, kind="people", stream=io.BytesIO(_people_csv([(person.name, id_numbers[s.person], building.code)])),
                                 filename=f"{tag}.csv", key=key, scope=Scope.of(office_user))
            s.import_id = report.import_id
        workplace = keygroups.add_workplace(session=session, code="WP-SCOPE", name="冷库", employer="冷链公司", key_group="cold_chain")
        env = keygroups.record_environment_sample(session=session, workplace=workplace.code, point="门把手", sampled_at=datetime.now())
        foreign = _foreign(session, campaign, sides["a"], sides["b"], ids)
        world = World(app, campaign.id, sides["a"], sides["b"], users, ids, foreign, id_numbers, workplace.code, victim, env.id)
    return world


def _side(session: Session, campaign: Campaign, site: PlanSite, tag: str, ids: dict[str, int], key: str) -> Side:
    suffix = "" if tag == "a" else "_b"
    called = select(PlanBuilding.building_id).where(PlanBuilding.campaign_id == campaign.id, PlanBuilding.plan_site_id == site.id)
    missing = [m for m in missing_rows(session=session, campaign=campaign, scope=Scope.system())]
    here = [m.person_id for m in missing if session.scalar(select(Person.building_id).where(Person.id == m.person_id).where(Person.building_id.in_(called)))]
    assert len(here) >= 4, "the scope tests need missing people at each site"
    person, exempt, home, sampled = here[:4]
    building = session.scalar(select(Building.code).join(Person, Person.building_id == Building.id).where(Person.id == person))
    community = session.scalar(select(Community.code).join(Person, Person.community_id == Community.id).where(Person.id == person))
    at = campaign.starts_at + timedelta(hours=5)
    # A tube and a box of the site's own, the box handed to the side's courier.
    tube, box = f"SCOPE-T-{tag.upper()}", f"SCOPE-B-{tag.upper()}"
    # A single tube: whoever this is (a key group sampled one to a tube included), it takes them.
    tubes.open_tube(session=session, campaign=campaign, plan_site_id=site.id, code=tube, at=at, kind="single")
    scan_person(session=session, campaign=campaign, plan_site_id=site.id, tube_code=tube, person_id=sampled,
                client_uuid=str(uuid.uuid4()), sampled_at=at)
    fieldwork.open_box(session=session, campaign=campaign, plan_site_id=site.id, code=box, at=at)
    fieldwork.pack_tube(session=session, campaign=campaign, plan_site_id=site.id, box_code=box, tube_code=tube, at=at)
    fieldwork.hand_over(session=session, campaign=campaign, plan_site_id=site.id, box_code=box, at=at,
                        courier_staff_id=site_couriers(session=session, campaign=campaign, plan_site_id=site.id)[0].staff_id,
                        courier_id=ids["courier" + suffix])
    district = Scope.system()
    exemption = followup.add_exemption(session=session, campaign=campaign, person_id=exempt, reason="away", at=at, scope=district)
    task = followup.add_home_task(session=session, campaign=campaign, person_id=home, reason="卧床", due_at=at + timedelta(days=1), at=at,
                                  scope=district)
    # A visit by the side's inspector, failing the first item: one finding at the site.
    inspector = session.get(User, ids["inspector" + suffix])
    template = next(t for t in inspect.templates(session=session) if t.code == "site")
    visit = inspect.record_inspection(session=session, campaign=campaign, plan_site_id=site.id, template_code="site", visited_at=at,
                                      checks=[inspect.CheckIn(i.no, i.no != 1) for i in template.items], inspector=inspector)
    finding = session.scalar(select(Finding.id).where(Finding.inspection_id == visit.id))
    item = session.scalar(select(ReadinessItem.id).where(ReadinessItem.plan_site_id == site.id).order_by(ReadinessItem.id))
    staff = session.scalar(select(Shift.staff_id).where(Shift.plan_site_id == site.id).order_by(Shift.id))
    order = session.scalar(select(RetestOrder.id).join(Person, Person.id == RetestOrder.person_id).where(
        RetestOrder.campaign_id == campaign.id, Person.office_id == site.office_id).order_by(RetestOrder.id))
    key_person = session.scalar(select(Person.id).where(Person.office_id == site.office_id, Person.key_group_id.is_not(None)).order_by(Person.id))
    session.flush()
    courier = site_couriers(session=session, campaign=campaign, plan_site_id=site.id)[0].staff_id
    return Side(site.office_id, site.id, site.code, site.candidate_site_id, community, person, building, tube, box, 0, finding,
                exemption.id, task.id, item, staff, order, key_person, courier)


def _foreign(session: Session, campaign: Campaign, a: Side, b: Side, ids: dict[str, int]) -> dict[str, Foreign]:
    everyone = set(session.scalars(select(Person.id)))
    all_sites = set(session.scalars(select(PlanSite.id)))
    site_codes = {s: c for s, c in session.execute(select(PlanSite.id, PlanSite.code))}
    buildings = dict(session.execute(select(Building.id, Building.code)).all())
    tubes = dict(session.execute(select(Tube.code, Tube.plan_site_id)).all())
    boxes = dict(session.execute(select(Box.code, Box.plan_site_id)).all())
    imports_b = set(session.scalars(select(RegistryImport.id).where(RegistryImport.office_id == b.office_id)))

    # Office A: everything of office B.
    office_b_sites = set(session.scalars(select(PlanSite.id).where(PlanSite.office_id != a.office_id)))
    office = Foreign(
        people=set(session.scalars(select(Person.id).where(Person.office_id != a.office_id))),
        sites=office_b_sites,
        codes={c for i, c in buildings.items() if session.scalar(select(Building.office_id).where(Building.id == i)) != a.office_id}
        | {site_codes[s] for s in office_b_sites} | {t for t, s in tubes.items() if s in office_b_sites}
        | {x for x, s in boxes.items() if s in office_b_sites},
        imports=imports_b,
    )
    # Site A: the people called to it or sampled there this round; nothing of another site.
    called = set(session.scalars(select(PlanBuilding.building_id).where(PlanBuilding.campaign_id == campaign.id, PlanBuilding.plan_site_id == a.site_id)))
    here = set(session.scalars(select(Person.id).where(Person.building_id.in_(called)))) | set(
        session.scalars(select(Sample.person_id).where(Sample.campaign_id == campaign.id, Sample.plan_site_id == a.site_id)))
    other_sites = all_sites - {a.site_id}
    site = Foreign(
        people=everyone - here,
        sites=other_sites,
        codes={c for i, c in buildings.items() if i not in called} | {site_codes[s] for s in other_sites}
        | {t for t, s in tubes.items() if s != a.site_id} | {x for x, s in boxes.items() if s != a.site_id},
        imports=imports_b,
    )
    handed = set(session.scalars(select(Box.code).join(Handover, Handover.box_id == Box.id).where(Handover.courier_id == ids["courier"])))
    courier = Foreign(people=everyone, codes=set(boxes) - handed, imports=imports_b)
    # An inspector sees every site (to visit it), and of the findings only those of their own visits.
    inspector = Foreign(people=everyone, imports=imports_b, findings=set(session.scalars(select(Finding.id).where(Finding.id != a.finding))))
    office.findings = set(session.scalars(select(Finding.id).where(Finding.plan_site_id.in_(office_b_sites))))
    site.findings = set(session.scalars(select(Finding.id).where(Finding.plan_site_id != a.site_id)))
    return {
        "admin": Foreign(), "command": Foreign(), "lab": Foreign(masked=True, imports=imports_b),
        "office": office, "site_leader": site, "site_staff": site, "courier": courier, "inspector": inspector,
    }
