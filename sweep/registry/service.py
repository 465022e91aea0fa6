"""Registry look-ups. ID numbers are found by their keyed hash and never need to be shown."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.errors import InvalidInput, NotFound
from sweep.registry.idnumber import InvalidIdNumber, validate_id_number
from sweep.registry.models import Person


def id_lookup_hash(number: str, *, key: str) -> bytes:
    """HMAC-SHA256 of the normalised number: a stolen table alone does not reveal who is in it.

    A plain hash would not do: 18-digit ID numbers are few enough to enumerate.
    """
    return hmac.new(key.encode(), number.encode(), hashlib.sha256).digest()


def find_person_by_id_number(*, session: Session, raw: str, key: str, field: str = "id_number") -> Person:
    try:
        number = validate_id_number(raw).number
    except InvalidIdNumber as exc:
        raise InvalidInput(field, exc.reason) from exc
    person = session.scalar(select(Person).where(Person.id_hash == id_lookup_hash(number, key=key)))
    if person is None:
        raise NotFound(field, "登记册中没有此身份证号 (no one with this ID number in the registry)")
    return person
