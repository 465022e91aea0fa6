"""Hostile input against every operation, on both databases: a fixed corpus, walked over the app's
own OpenAPI description and its pages. Lone surrogates and invalid UTF-8 in every string, huge and
boundary numbers in every number, path parameters that are not numbers, broken bodies, oversized
bodies, and malformed files on every upload. The property: never a 5xx, every refusal in the one
error shape (``error``, ``field``, ``reason``), and no row of any table changed by a refusal.

Deterministic, unlike ``tests/web/test_openapi.py`` (schemathesis' random cases): each value that
once answered 500 is named here, so that it stays answered."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from sweep import migrate
from sweep.api import create_app
from sweep.auth.service import create_user
from sweep.config import Settings
from sweep.db import make_engine, make_session_factory, unit_of_work
from sweep.demo.district import generate_district
from sweep.demo.load import load_district
from sweep.plan.planning import make_plan
from sweep.plan.service import create_campaign
from sweep.schema import load_all_models
from tests.conftest import BACKENDS, scratch_postgres

KEY = "fuzz-secret"
PASSWORD = "fuzz password 1"
# Tables a refused request may still write to by design: a failed log-in is counted (rate limit);
# a scan refused item by item leaves its batch's audit line (who tried to scan what), checked below.
COUNTED_ANYWAY = {"login_failures"}
UPLOAD_LIMIT = 1024 * 1024

# Sent as raw JSON text, so that the escape reaches the server as the client wrote it.
HOSTILE_STRINGS = ['"\\ud800"', '"a\\udfff"', '"\\u0000"', '"' + "长" * 5000 + '"', '""', '"²"', '"𝟙"']
HOSTILE_NUMBERS = ["99999999999999999999", "-99999999999999999999", "2147483648", "-1", "0", "1e308", "-0.0", "1.5"]
HOSTILE_PATH = ["%C2%B2", "99999999999999999999", "2147483648", "-1", "0", "%ED%A0%80", "%FF", "a" * 300, "1.5"]
HOSTILE_QUERY = ["%ED%A0%80", "%FF", "99999999999999999999", "-1", "%C2%B2", "9999-12-31T23:59:59", "1900-01-01", "x" * 2000]
RAW_BODIES = [b"\xff\xfe\xfd", b'{"a": "\xff"}', b'{"a": ', b"[]", b"null", b"1e999999", b'"\\ud800"', b"{" * 5000]


def _count_rows(engine: Engine) -> dict[str, int]:
    tables = sorted(t for t in load_all_models().tables if t not in COUNTED_ANYWAY)
    query = "SELECT " + ", ".join(f"(SELECT count(*) FROM {t})" for t in tables)
    with engine.connect() as conn:
        return dict(zip(tables, conn.execute(text(query)).one(), strict=True))


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while "$ref" in schema and seen < 20:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
        seen += 1
    return schema


def _sample(schema: dict[str, Any], spec: dict[str, Any], depth: int = 0) -> Any:
    """A plausible value for the schema, to carry one hostile value at a time past the other fields."""
    schema = _resolve(schema, spec)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if _resolve(o, spec).get("type") != "null"] or schema[key]
            return _sample(options[0], spec, depth + 1)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 4:
            return {}
        return {k: _sample(v, spec, depth + 1) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [_sample(schema.get("items", {}), spec, depth + 1)] if depth < 4 else []
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    if schema.get("format") == "date-time":
        return datetime.now().isoformat(timespec="seconds")
    if schema.get("format") == "date":
        return datetime.now().date().isoformat()
    return "x"


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))
    else:
        yield path, value


_MARK = "\u0001HOSTILE\u0001"


def _with(value: Any, path: tuple[Any, ...]) -> Any:
    if not path:
        return _MARK
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _with(value[head], rest)}
    copy = list(value)
    copy[head] = _with(copy[head], rest)
    return copy


def hostile_bodies(body: Any) -> Iterator[bytes]:
    """The plausible body with one leaf at a time replaced by each hostile value of its kind, as raw JSON."""
    for path, leaf in _leaves(body):
        corpus = HOSTILE_NUMBERS if isinstance(leaf, int | float) and not isinstance(leaf, bool) else HOSTILE_STRINGS
        template = json.dumps(_with(body, path), ensure_ascii=True).replace(json.dumps(_MARK), "{}")
        for raw in corpus:
            yield template.replace("{}", raw, 1).encode() if "{}" in template else raw.encode()
    yield from RAW_BODIES


# Malformed files for every upload: broken UTF-16, broken GB18030, binary noise, an empty file, a
# GeoJSON whose features are not objects, a spreadsheet that is not one, a CSV of hostile cells.
BAD_FILES: list[tuple[str, bytes]] = [
    ("people.csv", codecs.BOM_UTF16_LE + "姓名,身份证号\n".encode("utf-16-le") + b"\x00\xd8"),
    ("people.csv", codecs.BOM_UTF16_BE + b"\xd8\x00\x00"),
    ("people.csv", "姓名,身份证号\n张三,".encode("gb18030") + b"\x81\x30\xff\xff"),
    ("people.csv", bytes(range(256)) * 8),
    ("people.csv", b""),
    ("people.csv", b"\xef\xbb\xbf"),
    ("people.xlsx", b"PK\x03\x04 not a zip at all"),
    ("people.geojson", b'{"type": "FeatureCollection", "features": [1, "a", null, []]}'),
    ("people.geojson", b'{"type": "FeatureCollection", "features": {"a": 1}}'),
    ("people.geojson", b'{"type": "FeatureCollection", "features": [{"properties": [1], "geometry": 7}]}'),
    ("people.geojson", b"[1, 2, 3]"),
    ("results.csv", "管码,结果,检测时间\nT-1,阴性,2026-12-02T23:00:00+08:00\nT-2,阴性,9999-12-31 23:59\n".encode()),
    ("results.csv", "管码,结果,检测时间\nT-1,阴性,1900-01-01 00:00\n".encode()),
    ("results.csv", b"tube_code,result\n" + b"\xed\xa0\x80,negative\n"),
    ("data.bin", b"\x00" * 100),
]


class Fuzzed:
    def __init__(self, app: FastAPI, client: TestClient, headers: dict[str, str], campaign_id: int) -> None:
        self.app, self.client, self.headers, self.campaign_id = app, client, headers, campaign_id
        self.spec = app.openapi()
        self.failures: list[str] = []

    def check(self, label: str, method: str, url: str, **kwargs: Any) -> None:
        engine: Engine = self.app.state.engine
        before = _count_rows(engine)
        response = self.client.request(method, url, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)
        status = response.status_code
        if status >= 500:
            self.failures.append(f"{label}: {method} {url[:120]} → {status} {response.text[:200]}")
            return
        if status >= 400:
            if "json" in response.headers.get("content-type", ""):
                body = response.json()
                if not (isinstance(body, dict) and {"error", "field", "reason"} <= set(body)):
                    self.failures.append(f"{label}: {method} {url[:120]} → {status} not in the error shape: {response.text[:200]}")
            after = _count_rows(engine)
            changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]
                       and not (t == "audit_log" and "/scans" in url)}
            if changed:
                self.failures.append(f"{label}: {method} {url[:120]} → {status} but rows changed: {changed}")


def _fill_path(path: str, campaign_id: int, override: dict[str, str] | None = None) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if override and name in override:
            return override[name]
        return str(campaign_id) if name == "campaign" else ("people" if name == "kind" else "1")

    return re.sub(r"\{([^}]+)\}", value, path)


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            yield method.upper(), path, op


def _prepare(url: str, engine: Engine) -> Fuzzed:
    settings = Settings(database_url=url, secret_key=KEY, login_attempts=1_000_000, login_address_attempts=1_000_000,
                        max_upload_bytes=UPLOAD_LIMIT)
    app = create_app(settings=settings, engine=engine)
    with engine.begin() as conn:
        load_district(conn, generate_district(people=300, seed=5), key=KEY)
    with unit_of_work(make_session_factory(engine)) as session:
        campaign = create_campaign(session=session, settings=settings, name="加固测试轮", starts_at=datetime.now() - timedelta(hours=1))
        make_plan(session=session, settings=settings, campaign=campaign)
        create_user(session=session, username="fuzz-admin", display_name="fuzz", role="admin", password=PASSWORD)
        campaign_id = campaign.id
    client = TestClient(app, raise_server_exceptions=False)
    token = client.post("/api/auth/token", json={"username": "fuzz-admin", "password": PASSWORD}).json()["token"]
    return Fuzzed(app, client, {"authorization": f"Bearer {token}"}, campaign_id)


@pytest.fixture(scope="module", params=BACKENDS)
def fuzzed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
        else:
            url = stack.enter_context(scratch_postgres(request))
        migrate.upgrade(url)
        engine = make_engine(url)
        stack.callback(engine.dispose)
        yield _prepare(url, engine)


def _report(f: Fuzzed) -> None:
    failures, f.failures = f.failures, []
    assert not failures, f"{len(failures)} answers broke the contract:\n" + "\n".join(failures[:40])


def test_hostile_path_parameters(fuzzed: Fuzzed) -> None:
    for method, path, _op in _operations(fuzzed.spec):
        for name in re.findall(r"\{([^}]+)\}", path):
            for raw in HOSTILE_PATH:
                fuzzed.check(f"path {name}", method, _fill_path(path, fuzzed.campaign_id, {name: raw}), content=b"{}",
                             headers={"content-type": "application/json"})
    _report(fuzzed)


# The pages outside the OpenAPI description, with their path and query parameters.
PAGES = ["/rounds/{}", "/rounds/{}/boxes/X-1", "/rounds/1/boxes/{}", "/rounds/{}/simulation", "/plans/{}", "/dashboard?campaign={}",
         "/admin/users?role={}", "/terminal/?site={}"]
# Form posts, percent-encoded as a browser sends them: a lone surrogate (its UTF-8 form) and invalid UTF-8.
FORMS = ["/login", "/resident", "/admin/users/1"]
FORM_BODIES = [b"username=%ED%A0%80&password=x&id_number=%ED%BF%BF&name=x&role=%ED%A0%80", b"username=%FF&password=%FF&id_number=%FF"]


def test_hostile_pages(fuzzed: Fuzzed) -> None:
    for page in PAGES:
        for raw in HOSTILE_PATH:
            fuzzed.check("page", "GET", page.format(raw), headers={"accept": "text/html"})
    for path in FORMS:
        for form in FORM_BODIES:
            fuzzed.check("form", "POST", path, content=form, headers={"content-type": "application/x-www-form-urlencoded", "accept": "text/html"})
    _report(fuzzed)


def test_hostile_query_parameters(fuzzed: Fuzzed) -> None:
    for method, path, op in _operations(fuzzed.spec):
        for param in op.get("parameters", []):
            if param["in"] != "query":
                continue
            for raw in HOSTILE_QUERY:
                fuzzed.check(f"query {param['name']}", method, f"{_fill_path(path, fuzzed.campaign_id)}?{param['name']}={raw}")
    _report(fuzzed)


def test_hostile_json_bodies(fuzzed: Fuzzed) -> None:
    seen = 0
    for method, path, op in _operations(fuzzed.spec):
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue
        body = _sample(content["application/json"]["schema"], fuzzed.spec)
        url = _fill_path(path, fuzzed.campaign_id)
        for raw in hostile_bodies(body):
            seen += 1
            fuzzed.check("body", method, url, content=raw, headers={"content-type": "application/json"})
    assert seen > 500, seen
    _report(fuzzed)


def test_oversized_bodies_are_refused_in_the_error_shape(fuzzed: Fuzzed) -> None:
    big = b'{"username": "' + b"a" * (3 * 1024 * 1024) + b'", "password": "x"}'
    response = fuzzed.client.post("/api/auth/token", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413, response.text[:200]
    assert response.json()["field"] == "body"
    huge_file = b"name,id\n" + b"a,b\n" * (UPLOAD_LIMIT // 2)
    response = fuzzed.client.post("/api/registry/imports/people", headers=fuzzed.headers, files={"file": ("p.csv", huge_file, "text/csv")})
    assert response.status_code == 413, response.text[:200]
    assert {"error", "field", "reason"} <= set(response.json())


def test_malformed_uploads(fuzzed: Fuzzed) -> None:
    uploads = [(m, p) for m, p, op in _operations(fuzzed.spec) if "multipart/form-data" in op.get("requestBody", {}).get("content", {})]
    assert len(uploads) >= 3, uploads
    for method, path in uploads:
        kinds = ["people", "buildings", "sites", "staff", "grids", "members", "workplaces"] if "{kind}" in path else [""]
        for kind in kinds:
            url = _fill_path(path, fuzzed.campaign_id, {"kind": kind})
            for name, data in BAD_FILES:
                fuzzed.check(f"upload {name}", method, url, files={"file": (name, data, "application/octet-stream")})
    _report(fuzzed)


def test_unknown_paths_and_methods_answer_in_the_error_shape(fuzzed: Fuzzed) -> None:
    for method, url, status in [("GET", "/api/nothing-here", 404), ("DELETE", "/api/auth/token", 405), ("GET", "/api/campaigns/%C2%B2", 404)]:
        response = fuzzed.client.request(method, url)
        assert response.status_code == status
        assert {"error", "field", "reason"} <= set(response.json()), response.text


def test_invalid_utf8_and_surrogates_name_the_field(fuzzed: Fuzzed) -> None:
    for raw, status in [(b'{"username": "\xff", "password": "x"}', 400), (b'{"username": "\\ud800", "password": "x"}', 422)]:
        response = fuzzed.client.post("/api/auth/token", content=raw, headers={"content-type": "application/json"})
        assert response.status_code == status, response.text
        body = response.json()
        assert body["error"] == "invalid" and body["field"] in ("body", "username"), body
    response = fuzzed.client.post("/api/resident/result", content=b'{"id_number": "\\udc00", "name": "x"}',
                                  headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["field"] == "id_number", response.text
