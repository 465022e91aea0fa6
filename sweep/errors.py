"""Domain errors. Each names the field at fault and the reason, in words a person can act on.

Services raise them; one handler turns them into 4xx JSON for the API (see ``sweep.api``),
and the CLI prints them and exits non-zero.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 422
    code = "invalid"

    def __init__(self, field: str, reason: str, **detail: Any) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.detail = detail

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.code, "field": self.field, "reason": self.reason, **self.detail}


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class InvalidInput(DomainError):
    status_code = 422
    code = "invalid"


class TubeFull(Conflict):
    code = "tube_full"


class TubeSealed(Conflict):
    code = "tube_sealed"


class AlreadySampled(Conflict):
    code = "already_sampled"


class WrongSite(DomainError):
    status_code = 403
    code = "wrong_site"


class AlreadyHandedOver(Conflict):
    code = "already_handed_over"


class Busy(DomainError):
    """The request was fine but lost to others too often; the client should resend it shortly."""

    status_code = 503
    code = "busy"


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class Unavailable(DomainError):
    """The database cannot take the request just now (no primary reachable during a failover)."""

    status_code = 503
    code = "unavailable"
