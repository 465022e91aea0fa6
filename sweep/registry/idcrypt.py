"""ID numbers encrypted at rest, for the few roles allowed to see them in full.

AES-GCM with a random 96-bit nonce per number; the key is derived from SWEEP_SECRET_KEY with
HKDF under its own label, so the look-up HMAC and the cipher never share a key.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE = 12
_INFO = b"sweep id-number encryption v1"


@lru_cache(maxsize=8)
def _cipher(key: str) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(key.encode())
    return AESGCM(derived)


def encrypt_id_number(number: str, *, key: str) -> bytes:
    nonce = os.urandom(NONCE)
    return nonce + _cipher(key).encrypt(nonce, number.encode("utf-8"), None)


def encrypt_id_numbers(numbers: Iterable[str], *, key: str, count: int) -> Iterator[bytes]:
    """The same, for a million at a time: one call for all the nonces."""
    encrypt = _cipher(key).encrypt
    nonces = os.urandom(NONCE * count)
    for i, number in enumerate(numbers):
        nonce = nonces[i * NONCE : (i + 1) * NONCE]
        yield nonce + encrypt(nonce, number.encode("utf-8"), None)


def decrypt_id_number(blob: bytes, *, key: str) -> str:
    """Raises ValueError when the blob was not sealed under this key (the secret changed)."""
    try:
        return _cipher(key).decrypt(blob[:NONCE], blob[NONCE:], None).decode("utf-8")
    except InvalidTag as exc:
        raise ValueError("ID number cannot be decrypted with the current secret key") from exc


__all__ = ["decrypt_id_number", "encrypt_id_number", "encrypt_id_numbers"]
