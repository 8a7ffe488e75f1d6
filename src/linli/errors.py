"""Domain errors: each carries a stable code and a Chinese message, and maps to one HTTP status."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    default_code = "bad_request"
    default_message = "请求无效"

    def __init__(self, message: str | None = None, *, code: str | None = None, details: Any = None) -> None:
        self.code = code or self.default_code
        self.message = message or self.default_message
        self.details = details
        super().__init__(f"{self.code}: {self.message}")


class InvalidInput(DomainError):
    status_code = 422
    default_code = "invalid_request"
    default_message = "请求参数无效"


class Unauthorized(DomainError):
    status_code = 401
    default_code = "unauthorized"
    default_message = "请先登录"


class Forbidden(DomainError):
    status_code = 403
    default_code = "forbidden"
    default_message = "无权执行此操作"


class NotFound(DomainError):
    status_code = 404
    default_code = "not_found"
    default_message = "资源不存在"


class Conflict(DomainError):
    status_code = 409
    default_code = "conflict"
    default_message = "操作与当前状态冲突"


class RateLimited(DomainError):
    status_code = 429
    default_code = "rate_limited"
    default_message = "操作过于频繁，请稍后再试"


class Unavailable(DomainError):
    """Something the server itself lacks (a font, a tool); retrying will not help until it is installed."""

    status_code = 503
    default_code = "unavailable"
    default_message = "服务暂时不可用"
