"""Error answers say what was wrong, never what was sent: an ID number must not come back in a 4xx body."""

from __future__ import annotations

import re
from typing import Any

# An 18-digit (last may be X) or a legacy 15-digit number standing alone: an ID number, or close
# enough to one that it must not be echoed.
_ID_LIKE = re.compile(r"(?<![0-9])([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx]|[0-9])(?![0-9])")
REASON_MAX = 300


def scrub(text: str) -> str:
    """Mask anything that looks like an ID number, and cut a long text to a short excerpt."""
    text = _ID_LIKE.sub(lambda m: m.group(1) + "********" + m.group(2)[-1:], text)
    return text if len(text) <= REASON_MAX else text[: REASON_MAX - 1] + "…"


def redacted(body: dict[str, Any]) -> dict[str, Any]:
    return {k: scrub(v) if isinstance(v, str) else v for k, v in body.items()}


def redacted_errors(errors: Any) -> list[dict[str, Any]]:
    """Pydantic's errors without the input they refused (``input``) or the context that may quote it."""
    out = []
    for error in errors:
        out.append({"loc": tuple(error.get("loc", ())), "msg": scrub(str(error.get("msg", ""))), "type": error.get("type", "")})
    return out
