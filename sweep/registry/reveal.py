"""Full ID numbers, for the roles allowed to see them, each reveal written to the audit log."""

from __future__ import annotations

from sqlalchemy.orm import Session

from sweep.auth.models import User
from sweep.auth.service import audit
from sweep.errors import Forbidden, NotFound
from sweep.registry.idcrypt import decrypt_id_number
from sweep.registry.models import Person

# Command HQ and admins see the whole district; an office only its own people.
REVEAL_ROLES = ("admin", "command", "office")


class NotAllowed(Forbidden):
    code = "not_allowed"


def can_reveal(*, user: User, office_id: int | None) -> bool:
    if not user.active:
        return False
    if user.role in ("admin", "command"):
        return True
    return user.role == "office" and user.office_id is not None and user.office_id == office_id


def reveal_id_number(*, session: Session, person_id: int, user: User, key: str) -> str:
    """The person's full ID number, if the user's role allows it; every reveal goes to the audit log."""
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound("person_id", f"没有这个人员 (no such person): {person_id}")
    if not can_reveal(user=user, office_id=person.office_id):
        raise NotAllowed("role", f"角色 {user.role} 无权查看此人完整证件号码 (role {user.role} may not see this full ID number)")
    if person.id_encrypted is None:
        raise NotFound("id_number", "此人员的完整证件号码未保存 (the full ID number of this person is not stored)")
    try:
        number = decrypt_id_number(person.id_encrypted, key=key)
    except ValueError as exc:
        raise NotFound("id_number", "密钥已更换，无法解密 (the secret key changed; the number cannot be decrypted)") from exc
    audit(
        session=session,
        user_id=user.id,
        action="registry.reveal_id",
        entity="person",
        entity_id=person.id,
        detail={"role": user.role, "id_masked": person.id_masked},
    )
    return number


__all__ = ["REVEAL_ROLES", "NotAllowed", "can_reveal", "reveal_id_number"]
