"""Walk-ins (临时登记): someone not in the registry registered at the desk and sampled in the same go.

The desk takes their document (checked and keyed as the registry keys it), name, phone, where they
stay (a building of the district if they know it, else an address) and why they are here. They
become a ``people`` row with no building, so that a tube, a result or a trace-back treats them as
anyone else while no count of the registry includes them; the round's ``walk_ins`` row says where
and by whom they were registered, and their community office confirms them into the registry.

Both statements run before the scan statement of the same batch (in its pipeline on PostgreSQL),
so that the scan finds the person by their document like any other.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from sweep.errors import InvalidInput
from sweep.field.models import WALK_IN_REASONS
from sweep.registry.documents import check_document
from sweep.registry.fields import BadCell, parse_phone
from sweep.registry.idcrypt import encrypt_id_number


@dataclass(frozen=True)
class WalkInIn:
    """What the desk asks of someone not in the registry."""

    id_number: str
    name: str
    reason: str
    doc_type: str = "id_card"
    phone: str | None = None
    building_code: str | None = None
    address: str | None = None


def check_walk_in(walk_in: WalkInIn, *, key: str) -> dict[str, Any]:
    """The walk-in as the statements take it, or a refusal naming the field (``walk_in.…``) and the reason."""
    try:
        doc = check_document(doc_type=walk_in.doc_type, number=walk_in.id_number, key=key, field="walk_in.id_number")
    except InvalidInput as exc:
        raise InvalidInput(exc.field if exc.field.startswith("walk_in.") else f"walk_in.{exc.field}", exc.reason) from None
    name = walk_in.name.strip()
    if not 1 <= len(name) <= 50:
        raise InvalidInput("walk_in.name", "姓名须为1至50个字 (a name of 1-50 characters)")
    if walk_in.reason not in WALK_IN_REASONS:
        raise InvalidInput("walk_in.reason", f"来由应为 {'/'.join(WALK_IN_REASONS)} (why they are here: one of those)")
    try:
        phone = parse_phone((walk_in.phone or "").strip())
    except BadCell as exc:
        raise InvalidInput("walk_in.phone", exc.reason) from None
    building = (walk_in.building_code or "").strip() or None
    address = (walk_in.address or "").strip() or None
    if building is None and address is None:
        raise InvalidInput("walk_in.address", "须填写所住楼栋或地址 (say where they stay: a building code or an address)")
    if address is not None and len(address) > 200:
        raise InvalidInput("walk_in.address", "地址不超过200字 (an address of at most 200 characters)")
    return {"id_hash": doc.lookup.hex(), "doc_type": doc.doc_type, "id_masked": doc.masked,
            "id_encrypted": encrypt_id_number(doc.number, key=key).hex(), "name": name, "phone": phone,
            "building_code": building, "address": address, "reason": walk_in.reason}


_WALK_INS = {
    "postgresql": "SELECT * FROM jsonb_to_recordset(CAST(:walk_ins AS jsonb)) AS x(id_hash text, doc_type text, id_masked text, "
                  "id_encrypted text, name text, phone text, building_code text, address text, reason text)",
    "sqlite": "SELECT " + ", ".join(f"json_extract(value, '$.{c}') AS {c}" for c in (
        "id_hash", "doc_type", "id_masked", "id_encrypted", "name", "phone", "building_code", "address", "reason")) + " FROM json_each(:walk_ins)",
}
_UNHEX = {"postgresql": "decode({0}, 'hex')", "sqlite": "unhex({0})"}
# Someone already in ``people`` (the registry, or a walk-in of an earlier round) is not added again.
_PEOPLE = ("WITH w AS ({walk_ins}) INSERT INTO people (name, doc_type, id_hash, id_masked, id_encrypted, phone, home_sampling) "
           "SELECT w.name, w.doc_type, {hash}, w.id_masked, {sealed}, w.phone, {false} FROM w WHERE true "
           "ON CONFLICT (id_hash) DO NOTHING")
# A round's walk-in row for everyone of these not (yet) in the registry: registered here, now. The
# IN list lets SQLite find them by the ID-hash index; without it, it read the whole registry.
_REGISTERED = ("WITH w AS ({walk_ins}) INSERT INTO walk_ins (campaign_id, person_id, plan_site_id, building_id, address, reason, "
               "registered_at, registered_by) "
               "SELECT :cid, p.id, :site, b.id, CASE WHEN b.id IS NULL AND w.address IS NULL THEN '楼栋 ' || w.building_code "
               "ELSE w.address END, w.reason, :now, :uid "
               "FROM w JOIN people p ON p.id_hash = {hash} LEFT JOIN buildings b ON b.code = w.building_code "
               "WHERE p.id_hash IN (SELECT {hash} FROM w) AND p.building_id IS NULL ON CONFLICT (campaign_id, person_id) DO NOTHING")


def _statements(dialect: str) -> tuple[Any, Any]:
    fill = {"walk_ins": _WALK_INS[dialect], "hash": _UNHEX[dialect].format("w.id_hash"),
            "sealed": _UNHEX[dialect].format("w.id_encrypted"), "false": "false" if dialect == "postgresql" else "0"}
    return text(_PEOPLE.format(**fill)), text(_REGISTERED.format(**fill))


STATEMENTS = {dialect: _statements(dialect) for dialect in ("postgresql", "sqlite")}


def walk_in_items(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The walk-ins of a batch's checked items, each document once."""
    seen: dict[str, dict[str, Any]] = {}
    for item in items:
        walk_in = item.get("walk_in")
        if walk_in is not None:
            seen.setdefault(walk_in["id_hash"], walk_in)
    return list(seen.values())


def register_walk_ins(*, session: Session, walk_ins: list[dict[str, Any]], params: dict[str, Any]) -> None:
    """Add the batch's walk-ins to ``people`` and to the round's list (both statements, in the session)."""
    if not walk_ins:
        return
    conn = session.connection()
    people, registered = STATEMENTS[conn.dialect.name]
    values = {**params, "walk_ins": json.dumps(walk_ins, ensure_ascii=False)}
    conn.execute(people, values)
    conn.execute(registered, values)
