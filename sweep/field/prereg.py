"""Pre-registration (预登记): a resident gives their ID number ahead of time and gets a short code.

At the desk the registrar scans the code from the resident's phone instead of reading the card,
which is faster and keeps the number off the desk's screen.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sweep.db import begin_write
from sweep.field.models import Preregistration
from sweep.plan.models import Campaign
from sweep.registry.service import find_person_by_id_number

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
    """The resident's code for this round: made once, the same code on every later call."""
    person = find_person_by_id_number(session=session, raw=id_number, key=key)
    begin_write(session)
    existing = session.scalar(
        select(Preregistration.code).where(Preregistration.campaign_id == campaign.id, Preregistration.person_id == person.id)
    )
    if existing is not None:
        return PreregState(existing, person.id_masked, True)
    for _attempt in range(5):
        code = _new_code()
        try:
            with session.begin_nested():
                session.add(Preregistration(campaign_id=campaign.id, person_id=person.id, code=code, created_at=now))
                session.flush()
        except IntegrityError:
            continue  # a code drawn twice, or the same resident in two tabs: draw again / read theirs
        return PreregState(code, person.id_masked, False)
    code = session.scalar(
        select(Preregistration.code).where(Preregistration.campaign_id == campaign.id, Preregistration.person_id == person.id)
    )
    if code is None:  # pragma: no cover - five collisions in 34 billion
        raise RuntimeError("could not draw a free pre-registration code")
    return PreregState(code, person.id_masked, True)
