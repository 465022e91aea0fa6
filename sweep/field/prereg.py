"""Pre-registration (预登记): a resident gives their ID number ahead of time and gets a short code.

At the desk the registrar scans the code from the resident's phone instead of reading the card,
which is faster and keeps the number off the desk's screen.

The page is open to anyone, so its answer must not tell who is in the registry: a registered
and an unregistered number both get a code, alike. The code of a number not in the registry has
no person yet; it keeps the number's keyed look-up hash, its masked form and the number sealed as
the registry seals it, so that the desk completes it as a walk-in (临时登记) with the code alone
when the resident comes (``field.walkins``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sweep.db import begin_write
from sweep.errors import InvalidInput
from sweep.field.models import Preregistration
from sweep.plan.models import Campaign
from sweep.registry.idcrypt import encrypt_id_number
from sweep.registry.idnumber import InvalidIdNumber, mask_id_number, validate_id_number
from sweep.registry.models import Person
from sweep.registry.service import id_lookup_hash

# Crockford's base32 without I, L, O, U: nothing a tired registrar can misread.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8  # "P" and 7 characters: 32**7, about 34 billion codes for one round


@dataclass(frozen=True)
class PreregState:
    code: str
    id_masked: str
    replayed: bool


def _new_code() -> str:
    return "P" + "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH - 1))


def preregister(*, session: Session, campaign: Campaign, id_number: str, key: str, now: datetime) -> PreregState:
    """The resident's code for this round: made once, the same code on every later call, registered or not."""
    try:
        number = validate_id_number(id_number).number
    except InvalidIdNumber as exc:
        raise InvalidInput("id_number", exc.reason) from exc
    digest = id_lookup_hash(number, key=key)
    masked = mask_id_number(number)
    begin_write(session)
    mine = select(Preregistration.code).where(Preregistration.campaign_id == campaign.id, Preregistration.id_hash == digest)
    existing = session.scalar(mine)
    if existing is not None:
        return PreregState(existing, masked, True)
    person_id = session.scalar(select(Person.id).where(Person.id_hash == digest))
    sealed = encrypt_id_number(number, key=key) if person_id is None else None
    for _attempt in range(5):
        code = _new_code()
        try:
            with session.begin_nested():
                session.add(Preregistration(campaign_id=campaign.id, person_id=person_id, id_hash=digest, id_masked=masked,
                                            id_encrypted=sealed, code=code, created_at=now))
                session.flush()
        except IntegrityError:
            continue  # a code drawn twice, or the same resident in two tabs: draw again / read theirs
        return PreregState(code, masked, False)
    theirs = session.scalar(mine)
    if theirs is None:  # pragma: no cover - five collisions in 34 billion
        raise RuntimeError("could not draw a free pre-registration code")
    return PreregState(theirs, masked, True)
