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


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "too_large"


# Starlette's own refusals (no such path, wrong method, a body it cannot parse), in the same shape.
HTTP_ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("invalid", "body", "请求内容无法解析（须为 UTF-8 编码的 JSON 或表单） (the body cannot be parsed: send UTF-8 JSON or a form)"),
    404: ("not_found", "path", "没有这个地址 (no such address)"),
    405: ("method_not_allowed", "method", "此地址不接受这种请求方法 (this address does not take this method)"),
    413: ("too_large", "body", "请求内容过大 (the body is too large)"),
    415: ("invalid", "content-type", "不支持的内容类型 (unsupported content type)"),
}


def http_error(status: int, detail: object = None) -> DomainError:
    """A bare HTTP refusal (Starlette's) as the domain error of its status, naming a field and a reason."""
    code, field, reason = HTTP_ERRORS.get(status, ("http_error", "request", f"请求被拒绝 (request refused): {status}"))
    error = DomainError(field, reason)
    error.status_code, error.code = status, code
    return error
