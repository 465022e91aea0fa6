"""Password hashing with Argon2id (argon2-cffi), the current OWASP recommendation."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from sweep.errors import InvalidInput

_hasher = PasswordHasher()
MIN_LENGTH = 10
# Verified against when the user does not exist, so that a missing user and a wrong password
# take the same time and an attacker cannot list usernames by timing the answer.
_DUMMY_HASH = _hasher.hash("sweep-timing-equaliser")


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise InvalidInput("password", f"密码至少 {MIN_LENGTH} 位 (a password has at least {MIN_LENGTH} characters)")
    return _hasher.hash(password)


def verify_password(password: str, stored: str | None) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
