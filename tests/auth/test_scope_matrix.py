"""Every operation of the OpenAPI description × every role × own and other office and site.

Each operation is classified below: who may call it, what an allowed call on the own side answers,
which roles are refused (403) when the call names the other side's row, and what its answer is
checked for. Every 2xx answer is searched for rows outside the caller's scope (people, sites,
buildings, tubes, boxes, imports, findings; for the lab, names and phones). An operation the
table does not classify fails the test, so a new route must say where it stands.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from sweep.plan.clock import running_clock, server_now
from tests.auth.world import PASSWORD, ROLES, Foreign, Side, World, build, database, drop

# Who may, by role (sweep/auth/policy.py), written out here on purpose.
VIEW = {"admin", "command", "office", "site_leader", "inspector"}
CONTACTS = {"admin", "command", "office", "site_leader"}
EXPORT = IMPORT = FOLLOW = {"admin", "command", "office"}
SCAN = {"admin", "site_leader", "site_staff"}
CHECK_IN = {"admin", "command", "office", "site_leader", "site_staff"}
HAND_OVER = {"admin", "site_leader", "site_staff", "courier"}
RECEIVE = {"admin", "lab"}
RESULTS = {"admin", "command", "lab"}
RECTIFY = {"admin", "command", "site_leader", "inspector"}
KEY_GROUPS = {"admin", "command"}
TESTERS = {"admin", "command", "lab"}
INSPECT = {"admin", "inspector"}
USERS = {"admin"}
ANY = set(ROLES)
SITE = {"site_leader", "site_staff"}
# Scoped roles go first: a write by the district (deleting an exemption) must not take away the
# other side's row before a scoped role is refused it.
ORDER = ("office", "site_leader", "site_staff", "courier", "inspector", "lab", "command", "admin")
# The played round is on 2026-12-01: a receipt or a rectification is dated after its day, and the
# server's clock reads the afternoon after it, whatever today's date (client times ahead of the
# server's clock are refused).
AFTER = "2026-12-02T08:00:00"
LATER = "2026-12-02T09:00:00"


@pytest.fixture(autouse=True)
def _the_day_after_the_round() -> Iterator[None]:
    with running_clock(lambda: datetime(2026, 12, 2, 12, 0)):
        yield

Call = Callable[[World, Side, str], dict[str, Any]]


@dataclass(frozen=True)
class Op:
    roles: set[str] | None  # None: open to anyone, no log-in
    ok: set[int]  # an allowed call on the own side
    call: Call
    other: frozenset[str] = frozenset()  # roles refused (403) when the call names the other side's row
    sided: bool = False  # the call names a row of one side: try the other side too
    check: str = "rows"  # rows | people | none
    body: str = "json"  # json | xlsx | csv


def op(roles: set[str] | None, ok: set[int] | int, call: Call, *, other: set[str] = frozenset(), sided: bool | None = None,
       check: str = "rows", body: str = "json") -> Op:
    return Op(roles, {ok} if isinstance(ok, int) else ok, call, frozenset(other), bool(other) if sided is None else sided, check, body)


def C(w: World) -> str:
    return f"/api/campaigns/{w.campaign}"


def S(w: World, s: Side) -> str:
    return f"{C(w)}/sites/{s.site_id}"


def get(path: Callable[[World, Side], str], **params: Any) -> Call:
    return lambda w, s, who: {"method": "GET", "url": path(w, s), "params": {k: v(w, s) if callable(v) else v for k, v in params.items()}}


def post(path: Callable[[World, Side], str], body: Callable[[World, Side], Any] | None = None, method: str = "POST") -> Call:
    return lambda w, s, who: {"method": method, "url": path(w, s), "json": body(w, s) if body else {}}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8].upper()}"


def now() -> str:
    return server_now().isoformat(timespec="seconds")


def _number(w: World, s: Side) -> str:
    return w.id_numbers[s.person]


def _people_csv(w: World, s: Side) -> bytes:
    from sweep.db import make_session_factory, unit_of_work
    from sweep.registry.models import Building, Person

    with unit_of_work(make_session_factory(w.app.state.engine)) as session:
        person = session.get(Person, s.person)
        code = session.get(Building, person.building_id).code
        name = person.name
    return f"姓名,身份证号,楼栋编码\n{name},{w.id_numbers[s.person]},{code}\n".encode()


def _upload(w: World, s: Side, who: str) -> dict[str, Any]:
    return {"method": "POST", "url": "/api/registry/imports/people", "files": {"file": ("p.csv", _people_csv(w, s), "text/csv")},
            "data": {"community": s.community}}


def _results(w: World, s: Side, who: str) -> dict[str, Any]:
    sheet = f"管码,结果,检测时间\n{s.tube},阴性,2026-12-02 09:00\n".encode()
    return {"method": "POST", "url": f"{C(w)}/results/import", "files": {"file": ("r.csv", sheet, "text/csv")}}


def _workplaces(w: World, s: Side, who: str) -> dict[str, Any]:
    sheet = f"场所编码,场所名称,用人单位,人员类别\n{unique('WP')},二号冷库,某冷链公司,cold_chain\n".encode()
    return {"method": "POST", "url": "/api/key-groups/imports/workplaces", "files": {"file": ("w.csv", sheet, "text/csv")}}


def _token(w: World, s: Side, who: str) -> dict[str, Any]:
    return {"method": "POST", "url": "/api/auth/token", "json": {"username": w.users.get(who, "nobody"), "password": PASSWORD}}


def _users(path: str) -> Callable[[World, Side], str]:
    return lambda w, s: f"/api/users/{w.victim}{path}"


TABLE: dict[tuple[str, str], Op] = {
    # -- auth and accounts --
    ("POST", "/api/auth/token"): op(None, {200, 401}, _token, check="none"),
    ("POST", "/api/auth/logout"): op(ANY, 204, post(lambda w, s: "/api/auth/logout"), check="none"),
    ("GET", "/api/auth/me"): op(ANY, 200, get(lambda w, s: "/api/auth/me"), check="none"),
    ("GET", "/api/users"): op(USERS, 200, get(lambda w, s: "/api/users"), check="none"),
    ("POST", "/api/users"): op(USERS, 201, post(lambda w, s: "/api/users", lambda w, s: {
        "username": unique("u"), "display_name": "新", "role": "inspector", "password": "a new password"}), check="none"),
    ("POST", "/api/users/{user_id}/disable"): op(USERS, 200, post(_users("/disable")), check="none"),
    ("POST", "/api/users/{user_id}/enable"): op(USERS, 200, post(_users("/enable")), check="none"),
    ("PUT", "/api/users/{user_id}/role"): op(USERS, 200, post(_users("/role"), lambda w, s: {"role": "inspector"}, "PUT"), check="none"),
    ("PUT", "/api/users/{user_id}/scope"): op(USERS, 422, post(_users("/scope"), lambda w, s: {"office_id": s.office_id}, "PUT"),
                                              check="none"),
    ("POST", "/api/users/{user_id}/password"): op(USERS, 200, post(_users("/password"), lambda w, s: {"password": "another password"}),
                                                  check="none"),
    ("POST", "/api/users/{user_id}/revoke-tokens"): op(USERS, 200, post(_users("/revoke-tokens")), check="none"),
    ("GET", "/api/audit"): op(USERS, 200, get(lambda w, s: "/api/audit", limit=50), check="none"),
    # -- coverage --
    ("GET", "/api/campaigns/{campaign}/figures"): op(VIEW, 200, get(lambda w, s: f"{C(w)}/figures"), check="none"),
    ("GET", "/api/campaigns/{campaign}/coverage"): op(VIEW, 200, get(lambda w, s: f"{C(w)}/coverage", by="building")),
    ("GET", "/api/campaigns/{campaign}/missing"): op(CONTACTS, 200, get(lambda w, s: f"{C(w)}/missing", limit=100_000,
                                                                      community=lambda w, s: s.community), sided=True),
    ("GET", "/api/campaigns/{campaign}/missing.xlsx"): op(EXPORT, 200, get(lambda w, s: f"{C(w)}/missing.xlsx",
                                                                          community=lambda w, s: s.community), sided=True, body="xlsx"),
    ("GET", "/api/campaigns/{campaign}/buildings/{code}/people"): op(
        CONTACTS, 200, get(lambda w, s: f"{C(w)}/buildings/{s.building}/people"), other={"office", "site_leader"}),
    ("GET", "/api/campaigns/{campaign}/people/{person_id}/status"): op(
        CONTACTS, 200, get(lambda w, s: f"{C(w)}/people/{s.person}/status"), other={"office", "site_leader"}),
    ("POST", "/api/campaigns/{campaign}/exemptions"): op(
        FOLLOW, {201, 409}, post(lambda w, s: f"{C(w)}/exemptions", lambda w, s: {"person_id": s.person, "reason": "hospital"}),
        other={"office"}),
    ("GET", "/api/campaigns/{campaign}/exemptions"): op(FOLLOW, 200, get(lambda w, s: f"{C(w)}/exemptions")),
    ("DELETE", "/api/campaigns/{campaign}/exemptions/{exemption_id}"): op(
        FOLLOW, {204, 404}, post(lambda w, s: f"{C(w)}/exemptions/{s.exemption}", method="DELETE"), other={"office"}),
    ("POST", "/api/campaigns/{campaign}/home-tasks"): op(
        FOLLOW, {201, 409}, post(lambda w, s: f"{C(w)}/home-tasks", lambda w, s: {
            "person_id": s.person, "reason": "卧床", "due_at": (server_now() + timedelta(days=1)).isoformat()}), other={"office"}),
    ("GET", "/api/campaigns/{campaign}/home-tasks"): op(FOLLOW, 200, get(lambda w, s: f"{C(w)}/home-tasks")),
    ("POST", "/api/campaigns/{campaign}/home-tasks/from-registry"): op(
        FOLLOW, 200, post(lambda w, s: f"{C(w)}/home-tasks/from-registry", lambda w, s: {
            "due_at": (server_now() + timedelta(days=1)).isoformat()})),
    ("POST", "/api/campaigns/{campaign}/home-tasks/{task_id}/done"): op(
        FOLLOW, {200, 409}, post(lambda w, s: f"{C(w)}/home-tasks/{s.task}/done"), other={"office"}),
    # One round only: there is nothing to compare with, for anyone allowed.
    ("GET", "/api/campaigns/{campaign}/compare"): op(CONTACTS, 404, get(lambda w, s: f"{C(w)}/compare")),
    ("GET", "/api/campaigns/{campaign}/carry-over"): op(CONTACTS, 200, get(lambda w, s: f"{C(w)}/carry-over")),
    ("GET", "/api/campaigns/{campaign}/carry-over.csv"): op(EXPORT, 200, get(lambda w, s: f"{C(w)}/carry-over.csv"), body="csv"),
    ("GET", "/api/campaigns/{campaign}/carry-over.xlsx"): op(EXPORT, 200, get(lambda w, s: f"{C(w)}/carry-over.xlsx"), body="xlsx"),
    # -- walk-ins (临时登记): the office's list, the counts (no one's personal data), the confirmation --
    ("GET", "/api/campaigns/{campaign}/walk-ins"): op(FOLLOW, 200, get(lambda w, s: f"{C(w)}/walk-ins")),
    ("GET", "/api/campaigns/{campaign}/walk-ins/summary"): op(VIEW, 200, get(lambda w, s: f"{C(w)}/walk-ins/summary"), check="none"),
    ("POST", "/api/campaigns/{campaign}/walk-ins/{walk_in_id}/confirm"): op(
        FOLLOW, 404, post(lambda w, s: f"{C(w)}/walk-ins/2000000000/confirm", lambda w, s: {}), check="none"),
    # -- the plan: the round's, no one's personal data --
    ("GET", "/api/campaigns/{campaign}/plan"): op(VIEW, 200, get(lambda w, s: f"{C(w)}/plan"), check="none"),
    ("GET", "/api/campaigns/{campaign}/plan/roster.xlsx"): op(EXPORT, 200, get(lambda w, s: f"{C(w)}/plan/roster.xlsx"), check="none",
                                                               body="xlsx"),
    ("GET", "/api/campaigns/{campaign}/plan/callup.xlsx"): op(VIEW, 200, get(lambda w, s: f"{C(w)}/plan/callup.xlsx"), check="none",
                                                               body="xlsx"),
    # -- key groups --
    ("GET", "/api/key-groups"): op(VIEW, 200, get(lambda w, s: "/api/key-groups"), check="none"),
    ("POST", "/api/key-groups"): op(KEY_GROUPS, 201, post(lambda w, s: "/api/key-groups", lambda w, s: {
        "code": unique("kg").lower(), "name": unique("重点组"), "test_every_days": 3}), check="none"),
    ("PATCH", "/api/key-groups/{code}"): op(KEY_GROUPS, 200, post(lambda w, s: "/api/key-groups/cold_chain",
                                                                 lambda w, s: {"test_every_days": 1}, "PATCH"), check="none"),
    ("POST", "/api/key-groups/imports/{kind}"): op(KEY_GROUPS, 200, _workplaces, check="none"),
    ("PUT", "/api/key-groups/{code}/schedule"): op(KEY_GROUPS, 200, post(lambda w, s: "/api/key-groups/cold_chain/schedule",
                                                                        lambda w, s: {"test_every_days": 1}, "PUT"), check="none"),
    ("POST", "/api/key-groups/workplaces"): op(KEY_GROUPS, 201, post(lambda w, s: "/api/key-groups/workplaces", lambda w, s: {
        "code": unique("WP"), "name": "仓库", "employer": "公司", "key_group": "cold_chain"}), check="none"),
    ("POST", "/api/key-groups/members"): op(KEY_GROUPS, {200, 422}, post(lambda w, s: "/api/key-groups/members", lambda w, s: {
        "person_id": s.key_person or s.person, "workplace": w.workplace}), sided=True, check="none"),
    ("POST", "/api/key-groups/tests"): op(TESTERS, {201, 422}, post(lambda w, s: "/api/key-groups/tests", lambda w, s: {
        "person_id": s.key_person or s.person, "sampled_at": now()}), sided=True, check="none"),
    ("POST", "/api/key-groups/environment-samples"): op(TESTERS, 201, post(lambda w, s: "/api/key-groups/environment-samples",
                                                                          lambda w, s: {"workplace": w.workplace, "point": "门",
                                                                                        "sampled_at": now()}), check="none"),
    ("POST", "/api/key-groups/environment-samples/{sample_id}/result"): op(
        TESTERS, {200, 409}, post(lambda w, s: f"/api/key-groups/environment-samples/{w.env_sample}/result",
                                  lambda w, s: {"result": "negative"}), check="none"),
    ("GET", "/api/key-groups/compliance"): op(CONTACTS, 200, get(lambda w, s: "/api/key-groups/compliance"), check="people"),
    ("GET", "/api/key-groups/environment"): op(VIEW, 200, get(lambda w, s: "/api/key-groups/environment"), check="none"),
    # -- the dashboard: the round's, site by site, no one's personal data --
    ("GET", "/api/campaigns/{campaign}/dashboard"): op(VIEW, 200, get(lambda w, s: f"{C(w)}/dashboard"), check="people"),
    ("GET", "/api/campaigns/{campaign}/grids"): op(VIEW, 200, get(lambda w, s: f"{C(w)}/grids"), check="people"),
    # -- the field --
    ("GET", "/api/campaigns/{campaign}/sites/{site_id}/terminal"): op(SCAN, 200, get(lambda w, s: f"{S(w, s)}/terminal"), other=SITE),
    ("POST", "/api/campaigns/{campaign}/sites/{site_id}/tubes"): op(
        SCAN, 201, post(lambda w, s: f"{S(w, s)}/tubes", lambda w, s: {"code": unique("MX")}), other=SITE, check="none"),
    ("POST", "/api/campaigns/{campaign}/sites/{site_id}/tubes/{tube_code}/seal"): op(
        SCAN, 409, post(lambda w, s: f"{S(w, s)}/tubes/{s.tube}/seal"), other=SITE, check="none"),
    ("POST", "/api/campaigns/{campaign}/sites/{site_id}/scans"): op(
        SCAN, 409, post(lambda w, s: f"{S(w, s)}/scans", lambda w, s: {
            "client_uuid": str(uuid.uuid4()), "tube_code": s.tube, "sampled_at": now(), "id_number": _number(w, s)}),
        other=SITE, check="none"),
    ("POST", "/api/campaigns/{campaign}/sites/{site_id}/scans/batch"): op(
        SCAN, 200, post(lambda w, s: f"{S(w, s)}/scans/batch", lambda w, s: {"scans": [{
            "client_uuid": str(uuid.uuid4()), "tube_code": s.tube, "sampled_at": now(), "id_number": _number(w, s)}]}),
        other=SITE, check="none"),
    ("GET", "/api/campaigns/{campaign}/sites/{site_id}/scans/recent"): op(SCAN, 200, get(lambda w, s: f"{S(w, s)}/scans/recent"), other=SITE),
    ("GET", "/api/campaigns/{campaign}/sites/{site_id}/retests"): op(SCAN, 200, get(lambda w, s: f"{S(w, s)}/retests"), other=SITE),
    ("POST", "/api/campaigns/{campaign}/sites/{site_id}/boxes"): op(
        SCAN, 201, post(lambda w, s: f"{S(w, s)}/boxes", lambda w, s: {"code": unique("MB")}), other=SITE, check="none"),
    ("POST", "/api/campaigns/{campaign}/sites/{site_id}/boxes/{box_code}/tubes"): op(
        SCAN, 409, post(lambda w, s: f"{S(w, s)}/boxes/{s.box}/tubes", lambda w, s: {"tube_code": s.tube}), other=SITE, check="none"),
    ("POST", "/api/campaigns/{campaign}/sites/{site_id}/boxes/{box_code}/handover"): op(
        HAND_OVER, 409, post(lambda w, s: f"{S(w, s)}/boxes/{s.box}/handover", lambda w, s: {"courier_staff_id": s.courier}), other=SITE,
        check="none"),
    ("GET", "/api/campaigns/{campaign}/sites/{site_id}/readiness"): op(
        CHECK_IN, 200, get(lambda w, s: f"{S(w, s)}/readiness"), other={"office", *SITE}),
    ("POST", "/api/campaigns/{campaign}/readiness/{item_id}/check-in"): op(
        CHECK_IN, {200, 422}, post(lambda w, s: f"{C(w)}/readiness/{s.item}/check-in", lambda w, s: {"quantity": 1}),
        other={"office", *SITE}),
    ("GET", "/api/campaigns/{campaign}/readiness/flagged"): op(VIEW, 200, get(lambda w, s: f"{C(w)}/readiness/flagged")),
    ("GET", "/api/campaigns/{campaign}/sites/{site_id}/staff"): op(CHECK_IN, 200, get(lambda w, s: f"{S(w, s)}/staff"),
                                                                   other={"office", *SITE}),
    ("POST", "/api/campaigns/{campaign}/sites/{site_id}/staff/{staff_id}/arrival"): op(
        CHECK_IN, 200, post(lambda w, s: f"{S(w, s)}/staff/{s.staff}/arrival"), other={"office", *SITE}),
    ("GET", "/api/campaigns/{campaign}/boxes"): op(HAND_OVER, 200, get(lambda w, s: f"{C(w)}/boxes")),
    ("GET", "/api/campaigns/{campaign}/sites/{site_id}/couriers"): op(HAND_OVER, 200, get(lambda w, s: f"{S(w, s)}/couriers"),
                                                                      other=SITE, check="none"),
    ("POST", "/api/campaigns/{campaign}/preregistrations"): op(
        None, 200, post(lambda w, s: f"{C(w)}/preregistrations", lambda w, s: {"id_number": _number(w, s)}), check="none"),
    # -- the lab --
    ("POST", "/api/campaigns/{campaign}/boxes/{box_code}/receipt"): op(
        RECEIVE, {200, 409}, post(lambda w, s: f"{C(w)}/boxes/{s.box}/receipt", lambda w, s: {"received_at": AFTER}), sided=True, check="none"),
    ("GET", "/api/campaigns/{campaign}/boxes/{box_code}"): op(
        (VIEW - {"inspector"}) | {"lab"}, 200, get(lambda w, s: f"{C(w)}/boxes/{s.box}"), other={"office", "site_leader"}),
    ("GET", "/api/campaigns/{campaign}/custody/flags"): op(VIEW | {"lab"}, 200, get(lambda w, s: f"{C(w)}/custody/flags")),
    ("POST", "/api/campaigns/{campaign}/results"): op(
        RESULTS, {201, 409}, post(lambda w, s: f"{C(w)}/results", lambda w, s: {"tube_code": s.tube, "result": "negative", "resulted_at": LATER}), sided=True,
        check="none"),
    ("POST", "/api/campaigns/{campaign}/results/import"): op(RESULTS, 200, _results, check="none"),
    ("GET", "/api/campaigns/{campaign}/tubes/{code}/trace"): op(
        CONTACTS | {"lab"}, 200, get(lambda w, s: f"{C(w)}/tubes/{s.tube}/trace"), other={"office", "site_leader"}),
    ("GET", "/api/campaigns/{campaign}/alerts"): op(VIEW | {"lab"}, 200, get(lambda w, s: f"{C(w)}/alerts", include_closed="true"),
                                                   check="people"),
    ("POST", "/api/campaigns/{campaign}/retests/{order_id}/close"): op(
        RESULTS, {200, 404, 409}, post(lambda w, s: f"{C(w)}/retests/{s.order or 2_000_000_000}/close", lambda w, s: {"result": "negative"}),
        sided=True, check="none"),
    ("POST", "/api/resident/result"): op(None, 404, post(lambda w, s: "/api/resident/result", lambda w, s: {
        "id_number": _number(w, s), "phone_last4": "0000"}), check="none"),
    # -- inspection --
    ("GET", "/api/inspection-templates"): op(INSPECT, 200, get(lambda w, s: "/api/inspection-templates"), check="none"),
    ("POST", "/api/campaigns/{campaign}/inspections"): op(
        INSPECT, 422, post(lambda w, s: f"{C(w)}/inspections", lambda w, s: {"plan_site_id": s.site_id, "checks": []}), sided=True,
        check="none"),
    ("GET", "/api/campaigns/{campaign}/findings"): op(VIEW, 200, get(lambda w, s: f"{C(w)}/findings")),
    ("POST", "/api/findings/{finding_id}/rectify"): op(
        RECTIFY, {200, 409}, post(lambda w, s: f"/api/findings/{s.finding}/rectify", lambda w, s: {"rectification": "已整改", "rectified_at": AFTER}),
        other={"site_leader", "inspector"}, check="none"),
    # -- the registry --
    ("POST", "/api/registry/imports/{kind}"): op(IMPORT, 200, _upload, other={"office"}),
    ("GET", "/api/registry/imports/{import_id}"): op(IMPORT, 200, get(lambda w, s: f"/api/registry/imports/{s.import_id}"),
                                                    other={"office"}),
    ("GET", "/api/registry/imports/{import_id}/rejected.xlsx"): op(
        IMPORT, 200, get(lambda w, s: f"/api/registry/imports/{s.import_id}/rejected.xlsx"), other={"office"}, body="xlsx"),
    ("GET", "/api/registry/summary"): op(VIEW, 200, get(lambda w, s: "/api/registry/summary"), check="none"),
    ("GET", "/api/registry/map"): op(VIEW, 200, get(lambda w, s: "/api/registry/map"), check="none"),
    ("GET", "/api/registry/export"): op(EXPORT, 200, get(lambda w, s: "/api/registry/export", community=lambda w, s: s.community),
                                        other={"office"}, body="xlsx"),
    # -- the simulated day and the forecast: the round's --
    ("GET", "/api/campaigns/{campaign}/simulation"): op(VIEW, 200, get(lambda w, s: f"{C(w)}/simulation", runs=2), check="none"),
    ("GET", "/api/campaigns/{campaign}/forecast"): op(VIEW, 200, get(lambda w, s: f"{C(w)}/forecast", runs=2), check="none"),
}


@dataclass
class Seen:
    people: set[int] = field(default_factory=set)
    sites: set[int] = field(default_factory=set)
    codes: set[str] = field(default_factory=set)
    imports: set[int] = field(default_factory=set)
    findings: set[int] = field(default_factory=set)
    contacts: int = 0  # a person shown with a name or a phone


def seen_in(node: Any, seen: Seen) -> Seen:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "person_id" and isinstance(value, int):
                seen.people.add(value)
            elif key == "plan_site_id" and isinstance(value, int):
                seen.sites.add(value)
            elif key == "import_id" and isinstance(value, int):
                seen.imports.add(value)
        if "person_id" in node and (node.get("name") or node.get("phone")):
            seen.contacts += 1
        if {"id", "severity", "description"} <= node.keys():
            seen.findings.add(node["id"])
        for value in node.values():
            seen_in(value, seen)
    elif isinstance(node, list):
        for value in node:
            seen_in(value, seen)
    elif isinstance(node, str):
        seen.codes.add(node)
    return seen


def _csv(content: bytes) -> Seen:
    seen = Seen()
    for line in content.decode("utf-8-sig").splitlines():
        seen.codes.update(cell for cell in line.split(",") if cell)
    return seen


def _xlsx(content: bytes) -> Seen:
    seen = Seen()
    for sheet in load_workbook(io.BytesIO(content), read_only=True).worksheets:
        for row in sheet.iter_rows(values_only=True):
            seen.codes.update(str(v) for v in row if v is not None)
    return seen


def outside(seen: Seen, foreign: Foreign, check: str) -> list[str]:
    found = []
    if seen.people & foreign.people:
        found.append(f"people {sorted(seen.people & foreign.people)[:5]}")
    if foreign.masked and seen.contacts:
        found.append(f"{seen.contacts} people with names or phones")
    if check == "rows":
        for what in ("sites", "codes", "imports", "findings"):
            overlap = getattr(seen, what) & getattr(foreign, what)
            if overlap:
                found.append(f"{what} {sorted(overlap, key=str)[:5]}")
    return found


def expected(spec: Op, role: str | None, other: bool) -> set[int]:
    if spec.roles is None:
        return spec.ok
    if role is None:
        return {401}
    if role not in spec.roles:
        return {403}
    if other and role in spec.other:
        return {403}
    return spec.ok


def operations(app) -> Iterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    for path, methods in app.openapi()["paths"].items():
        for method in methods:
            yield method.upper(), path


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):  # type: ignore[no-untyped-def]
    url, cleanup = database(request, tmp_path_factory)
    made = build(url)
    yield made
    made.app.state.engine.dispose()
    drop(cleanup)


def _login(client: TestClient, username: str) -> dict[str, str]:
    answer = client.post("/api/auth/token", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"authorization": f"Bearer {answer.json()['token']}"}


def test_every_operation_is_classified(world):
    found = set(operations(world.app))
    assert found - set(TABLE) == set(), "operations the scope matrix does not classify: add them to TABLE"
    assert set(TABLE) - found == set(), "operations classified that the API no longer has"


def test_every_role_reaches_its_scope_and_nothing_outside_it(world):
    failures: list[str] = []
    with TestClient(world.app) as client:
        tokens = {role: _login(client, world.users[role]) for role in ORDER}
        for (method, path), spec in TABLE.items():
            for role in (None, *ORDER):
                for other in ((False, True) if spec.sided else (False,)):
                    side = world.b if other else world.a
                    request = spec.call(world, side, role or "")
                    headers = {}
                    if role is not None:
                        # Logging out ends the token: that call gets one of its own.
                        headers = _login(client, world.users[role]) if path == "/api/auth/logout" else tokens[role]
                    answer = client.request(headers=headers, **request)
                    want = expected(spec, role, other)
                    label = f"{method} {path} as {role or 'anonymous'} ({'other' if other else 'own'})"
                    if answer.status_code not in want:
                        failures.append(f"{label}: {answer.status_code} not in {sorted(want)}: {answer.text[:160]}")
                        continue
                    if answer.status_code >= 300 or spec.check == "none" or role is None:
                        continue
                    if spec.body == "xlsx":
                        seen = _xlsx(answer.content)
                    elif spec.body == "csv":
                        seen = _csv(answer.content)
                    else:
                        seen = seen_in(answer.json() if answer.content else None, Seen())
                    leaked = outside(seen, world.foreign[role], spec.check)
                    if leaked:
                        failures.append(f"{label}: outside the scope: {'; '.join(leaked)}")
    assert not failures, "\n".join(failures)
