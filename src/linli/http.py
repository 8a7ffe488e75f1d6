"""HTTP plumbing shared by every context's routes: sessions, the current user, error responses, and the
answer WeChat Pay expects from a notify endpoint.

Errors are JSON (`{"error": {...}}`) except on the web pages (`linli.web`): a request that a page route
marked with `mark_page` gets the same status with the HTML page `app.state.error_page` renders.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Protocol

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException

from linli.callbacks import NotificationHandler, apply_notification
from linli.context import AppContext
from linli.errors import Conflict, DomainError, Unauthorized


def app_context(request: Request) -> AppContext:
    return request.app.state.ctx


async def _app_context_dependency(request: Request) -> AppContext:
    # async: FastAPI runs a plain `def` dependency in the thread pool, a thread hop per request for a lookup.
    return request.app.state.ctx


Ctx = Annotated[AppContext, Depends(_app_context_dependency)]


async def _write_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with app_context(request).db.transaction() as session:
        yield session


async def _read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with app_context(request).db.read() as session:
        yield session


# scope="function": the transaction commits before the response is sent, so a 2xx means committed.
WriteSession = Annotated[AsyncSession, Depends(_write_session, scope="function")]
ReadSession = Annotated[AsyncSession, Depends(_read_session, scope="function")]


async def _report_session(request: Request, read: ReadSession) -> AsyncIterator[AsyncSession]:
    db = app_context(request).db
    if db.replica is None:  # the figures are on the primary: the request's own read serves them (one connection)
        yield read
        return
    async with db.report() as session:
        yield session


# Figures of a dashboard or report, which may come from the replica (`replica.staleness_of(session)` says how old
# they are, None on the primary). Access checks and anything about money take a ReadSession beside it.
ReportSession = Annotated[AsyncSession, Depends(_report_session, scope="function")]


async def _now(request: Request) -> datetime:
    # async for the same reason as the context: no thread hop to read the clock.
    return request.app.state.ctx.clock.now()


Now = Annotated[datetime, Depends(_now)]


@dataclass(frozen=True)
class CurrentUser:
    user_id: int
    auth_session_id: int


# auto_error=False: a missing or malformed header is our own 401 with a Chinese message, not FastAPI's 403.
bearer_scheme = HTTPBearer(
    auto_error=False, scheme_name="bearer", description="登录接口返回的 token，请求头 Authorization: Bearer <token>"
)
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


async def _authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> CurrentUser:
    from linli.accounts import service as accounts

    token = credentials.credentials.strip() if credentials is not None else ""
    if not token:
        raise Unauthorized()
    ctx = app_context(request)
    caller = await accounts.token_caller(db=ctx.db, settings=ctx.settings, token=token, now=ctx.clock.now())
    return CurrentUser(user_id=caller.user_id, auth_session_id=caller.auth_session_id)


async def current_user(request: Request, credentials: BearerCredentials) -> CurrentUser:
    return await _authenticate(request, credentials)


AuthUser = Annotated[CurrentUser, Depends(current_user)]


async def optional_user(request: Request, credentials: BearerCredentials) -> CurrentUser | None:
    """The caller when a bearer token is sent (a bad token is still a 401), else None (anonymous)."""
    if not request.headers.get("authorization"):
        return None
    return await _authenticate(request, credentials)


MaybeUser = Annotated[CurrentUser | None, Depends(optional_user)]


class ErrorPage(Protocol):
    """Renders a refusal as an HTML page (installed by the web context as `app.state.error_page`)."""

    def __call__(self, request: Request, *, status_code: int, message: str) -> Response: ...


def mark_page(request: Request) -> None:
    """A router dependency of the web pages: errors of this request are answered as HTML."""
    request.state.page = True


def _page_error(request: Request, status_code: int, message: str) -> Response | None:
    render: ErrorPage | None = getattr(request.app.state, "error_page", None)
    if render is None or not getattr(request.state, "page", False):
        return None
    return render(request, status_code=status_code, message=message)


def _error_body(code: str, message: str, details: object = None) -> dict:
    error: dict = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def _validation_details(exc: RequestValidationError) -> list[dict]:
    return [
        {"loc": [str(part) for part in err.get("loc", ())], "msg": str(err.get("msg", "")), "type": err.get("type")}
        for err in exc.errors()
    ]


def _sends_json(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def _answer(
    request: Request, status_code: int, code: str, message: str, details: object = None, headers: dict | None = None
) -> Response:
    page = _page_error(request, status_code, message)
    if page is not None:
        return page
    return JSONResponse(_error_body(code, message, details), status_code=status_code, headers=headers)


def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    """422 with the fields at fault; a body that is not JSON at all (broken, or sent as another content type to a
    JSON route, which FastAPI then sees as raw bytes) says so rather than listing fields."""
    errors = exc.errors()
    whole_body = [e for e in errors if tuple(e.get("loc", ())) == ("body",) and e["type"] == "model_attributes_type"]
    if any(e.get("type") == "json_invalid" for e in errors):
        code, message = "body_not_json", "请求体不是有效的 JSON"
    elif whole_body and not _sends_json(request):
        code, message = "body_not_json", "请求体须为 JSON（Content-Type: application/json）"
    else:
        names = list(dict.fromkeys(str(e["loc"][-1]) for e in errors if len(e.get("loc", ())) > 1))
        code, message = "invalid_request", "请求参数无效" + (f"：{'、'.join(names[:3])}" if names else "")
    return _answer(request, 422, code, message, _validation_details(exc))


HTTP_ERROR_CODES = {
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "无权执行此操作"),
    404: ("not_found", "接口不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    413: ("payload_too_large", "请求体过大"),
}


def _unstorable(request: Request) -> Response:
    return _answer(request, 422, "invalid_request", "请求参数包含无法保存的值")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        return _answer(request, exc.status_code, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return _validation_error(request, exc)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, _exc: IntegrityError) -> Response:
        # A race that slipped past the checks hit a unique constraint: nothing was written.
        error = Conflict("操作冲突，请刷新后重试", code="concurrent_conflict")
        return _answer(request, 409, error.code, error.message)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> Response:
        # SQLSTATE class 22 is "data exception": a value the database cannot hold (a NUL byte in text,
        # a number out of range). That is bad input, and the transaction was rolled back.
        state = str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")
        if state.startswith("22"):
            return _unstorable(request)
        raise exc

    @app.exception_handler(StatementError)
    async def _statement(request: Request, exc: StatementError) -> Response:
        # The driver refused to bind a value before the database saw it (SQLite's 64-bit integers, a date
        # that leaves the calendar when converted to UTC): the same bad input as SQLSTATE 22 above.
        if isinstance(exc.orig, OverflowError):
            return _unstorable(request)
        raise exc

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, _exc: OverflowError) -> Response:
        return _unstorable(request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400:
            # FastAPI and Starlette answer a body they cannot read (not UTF-8, a broken multipart form) with a bare
            # 400; nothing else here raises one.
            if isinstance(exc.__cause__, UnicodeDecodeError):
                return _answer(request, 422, "body_not_utf8", "请求体不是有效的 UTF-8 文本")
            return _answer(request, 422, "body_malformed", "无法解析请求体", {"reason": str(exc.detail)})
        code, message = HTTP_ERROR_CODES.get(exc.status_code, ("http_error", "请求失败"))
        return _answer(request, exc.status_code, code, message, headers=exc.headers)


async def wechatpay_notify_reply(
    request: Request, ctx: AppContext, *, provider: Any, handle: NotificationHandler, log: logging.Logger, what: str
) -> JSONResponse:
    """Answers a WeChat Pay notification the way WeChat expects: 200 SUCCESS, or FAIL and it retries."""
    if provider is None:
        return JSONResponse({"code": "FAIL", "message": "微信支付未启用"}, status_code=404)
    body = await request.body()
    try:
        outcome = await apply_notification(ctx, handle=handle, provider=provider, headers=request.headers, body=body)
    except DomainError as exc:
        log.warning("%s refused: %s", what, exc)
        return JSONResponse({"code": "FAIL", "message": exc.message}, status_code=exc.status_code)
    except Exception:  # noqa: BLE001 - tell WeChat to retry; the notification is applied at most once anyway
        log.exception("%s failed", what)
        return JSONResponse({"code": "FAIL", "message": "系统繁忙"}, status_code=500)
    log.info("%s: %s", what, outcome)
    return JSONResponse({"code": "SUCCESS", "message": "成功"}, status_code=200)
