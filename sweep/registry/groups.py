"""Which people a key group wants sampled one to a tube (单人单管): the rule the scan path reads."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from sweep.db import in_chunks
from sweep.registry.models import KeyGroup, Person


def single_tube_people(*, session: Session, person_ids: Iterable[int]) -> set[int]:
    """Of these people, those whose key group is sampled single (``key_groups.single_tube``)."""
    ids = list(dict.fromkeys(person_ids))
    found: set[int] = set()
    for chunk in in_chunks(ids):
        found.update(session.scalars(
            select(Person.id).join(KeyGroup, KeyGroup.id == Person.key_group_id)
            .where(Person.id.in_(chunk), KeyGroup.single_tube.is_(True))
        ))
    return found


__all__ = ["single_tube_people"]
