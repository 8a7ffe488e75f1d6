"""Sign-in for pages: SMS code for members and leaders, password for staff, sign-out.

Over the accounts service, as the API: each call runs in its own transaction, and a refusal becomes the
Chinese message beside the field it is about while the form keeps what was typed. A failed login is still
recorded (the lock-out counts it), exactly as `POST /api/v1/auth/sms-login` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from linli.accounts import service as accounts
from linli.context import AppContext
from linli.errors import DomainError
from linli.http import Ctx
from linli.web.templating import render
from linli.web.visitor import (
    CheckedVisitor,
    PageVisitor,
    Visitor,
    clear_session_cookie,
    safe_next,
    set_session_cookie,
)

router = APIRouter()

# Which field a refusal is shown beside; anything else goes beside the last field of the form.
PHONE_ERRORS = {"phone_invalid", "sms_too_frequent", "sms_daily_limit", "sms_phone_blocked", "sms_unavailable"}
FormText = Annotated[str, Form(max_length=256)]
OptionalText = Annotated[str, Form(max_length=2048)]


@dataclass
class FormState:
    """What a sign-in form shows again: the values typed, the messages beside fields, the status to answer."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    notice: str = ""
    status_code: int = 200
    dev_sms: str = ""  # development mode only: the message the dev SMS inbox received

    def refuse(self, exc: DomainError, field_name: str) -> None:
        self.errors[field_name] = exc.message
        self.status_code = exc.status_code


async def send_code(ctx: AppContext, phone: str) -> FormState:
    state = FormState(values={"phone": phone.strip()})
    try:
        async with ctx.db.transaction() as session:
            await accounts.request_sms_code(
                session=session, settings=ctx.settings, sender=ctx.sms_sender, phone=phone, now=ctx.clock.now()
            )
    except DomainError as exc:
        state.refuse(exc, "phone")
        return state
    minutes = max(1, ctx.settings.sms_code_ttl_seconds // 60)
    state.notice = f"验证码已发送，{minutes} 分钟内有效"
    state.values["code_sent"] = "1"
    if ctx.settings.dev_mode and ctx.settings.sms_provider == "inbox":
        state.dev_sms = await dev_sms_text(ctx, phone.strip())
    return state


async def dev_sms_text(ctx: AppContext, phone: str) -> str:
    """In development mode no SMS leaves the machine: the page shows what the dev inbox holds (as
    `GET /api/v1/dev/sms-inbox` would), so the demo can be walked in a browser alone."""
    async with ctx.db.read() as session:
        newest = await accounts.dev_inbox(session=session, phone=phone, limit=1)
    return newest[0].body if newest else ""


async def sms_sign_in(ctx: AppContext, phone: str, code: str) -> tuple[accounts.IssuedToken | None, FormState]:
    state = FormState(values={"phone": phone.strip(), "code_sent": "1"})
    try:
        async with ctx.db.transaction() as session:
            outcome = await accounts.login_with_sms(
                session=session, settings=ctx.settings, phone=phone, code=code, now=ctx.clock.now()
            )
    except DomainError as exc:  # the phone itself is not a mobile number: nothing was recorded
        state.refuse(exc, "phone")
        return None, state
    if outcome.error is not None:  # committed: the failure counts towards the lock-out
        state.refuse(outcome.error, "phone" if outcome.error.code in PHONE_ERRORS else "sms_code")
        return None, state
    return outcome.issued, state


def signed_in_redirect(ctx: AppContext, issued: accounts.IssuedToken, next_path: str) -> RedirectResponse:
    response = RedirectResponse(safe_next(next_path), status_code=303)
    set_session_cookie(response, ctx.settings, issued, ctx.clock.now())
    return response


def _sms_page(request: Request, visitor: Visitor, state: FormState, next_path: str) -> Response:
    return render(
        request, visitor, "signin.html", status_code=state.status_code, form=state, next=safe_next(next_path)
    )


@router.get("/signin")
async def signin_page(request: Request, visitor: PageVisitor, next: str = "") -> Response:
    if visitor.signed_in:
        return RedirectResponse(safe_next(next), status_code=303)
    return _sms_page(request, visitor, FormState(), next)


@router.post("/signin/sms-code")
async def signin_send_code(
    request: Request, ctx: Ctx, visitor: CheckedVisitor, phone: FormText = "", next: OptionalText = ""
) -> Response:
    return _sms_page(request, visitor, await send_code(ctx, phone), next)


@router.post("/signin/sms")
async def signin_sms(
    request: Request, ctx: Ctx, visitor: CheckedVisitor, phone: FormText = "", sms_code: FormText = "",
    next: OptionalText = "",
) -> Response:
    issued, state = await sms_sign_in(ctx, phone, sms_code)
    if issued is None:
        return _sms_page(request, visitor, state, next)
    return signed_in_redirect(ctx, issued, next)


STAFF_LANDING = "/console"  # where staff sign-in lands unless told otherwise


def _staff_page(request: Request, visitor: Visitor, state: FormState, next_path: str) -> Response:
    return render(
        request, visitor, "signin_staff.html", status_code=state.status_code, form=state, next=safe_next(next_path)
    )


@router.get("/signin/staff")
async def staff_signin_page(request: Request, visitor: PageVisitor, next: str = "") -> Response:
    if visitor.signed_in:  # whoever they are: where they asked to go, else 我的 (which shows their ways on)
        return RedirectResponse(safe_next(next), status_code=303)
    return _staff_page(request, visitor, FormState(), next or STAFF_LANDING)


@router.post("/signin/staff")
async def staff_signin(
    request: Request, ctx: Ctx, visitor: CheckedVisitor, login_name: FormText = "", password: FormText = "",
    next: OptionalText = "",
) -> Response:
    next = next or STAFF_LANDING
    state = FormState(values={"login_name": login_name.strip()})  # never the password
    async with ctx.db.transaction() as session:
        outcome = await accounts.login_with_password(
            session=session, settings=ctx.settings, login_name=login_name, password=password, now=ctx.clock.now()
        )
    if outcome.issued is None:
        assert outcome.error is not None
        state.refuse(outcome.error, "password")
        return _staff_page(request, visitor, state, next)
    return signed_in_redirect(ctx, outcome.issued, next)


@router.post("/signout")
async def signout(ctx: Ctx, visitor: CheckedVisitor) -> Response:
    if visitor.auth_session_id is not None:
        async with ctx.db.transaction() as session:
            await accounts.revoke_session(session=session, auth_session_id=visitor.auth_session_id, now=ctx.clock.now())
    response = RedirectResponse("/signin", status_code=303)
    clear_session_cookie(response, ctx.settings)
    return response
