"""The brand console: 优惠券 — the brand's templates with what became of their coupons (发放, 使用, 过期未用, 优惠
金额), the form to create one and 停发; the rules, hand issuing and campaigns are in `console_coupon_issuing`.

The same service calls and checks as `coupons/api.py` (`brands.require_staff`, then `coupons.templates.*`). Money
is typed in yuan (`web.forms.fen_of`), a percentage as 折 (9 → 9折, 8.5 → 8.5折: 减 10% / 15%, by integer
arithmetic), the validity as a number of days from issuing or a window in the brand's wall-clock time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.catalog import service as catalog
from linli.context import AppContext
from linli.coupons import issuing, templates
from linli.coupons.terms import discount_text
from linli.errors import DomainError, InvalidInput
from linli.http import Ctx
from linli.live import service as live
from linli.marketing import interests
from linli.pagination import PageParams
from linli.web import receipts
from linli.web.console import staff_view
from linli.web.console_products import console_path, page_refusal, poster_id
from linli.web.forms import count_of, fen_of, moment_of, new_key
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, Visitor

router = APIRouter()

SHOWN = PageParams(page=1, page_size=100)
Text = Annotated[str, Form(max_length=4000)]
Done = Annotated[str | None, Query(max_length=16)]
ZHE = re.compile(r"^(\d)(?:\.(\d{1,2}))?$")
KIND_TEXT = {"fixed": "满减", "percent": "折扣"}
STATUS_TEXT = {"active": "发放中", "disabled": "已停发"}
DONE = {
    "template": "优惠券已创建", "disabled": "已停发（已发出的券仍可使用至过期）", "rule": "自动发券规则已添加",
    "rule_off": "自动发券规则已停用",
}
TEMPLATE_FIELDS = {
    "coupon_name_invalid": "name", "coupon_kind_invalid": "kind", "coupon_amount_invalid": "amount",
    "coupon_amount_exceeds_threshold": "amount", "coupon_terms_invalid": "amount", "coupon_percent_invalid": "zhe",
    "coupon_cap_invalid": "cap", "coupon_threshold_invalid": "threshold", "coupon_validity_invalid": "valid_days",
    "coupon_limit_invalid": "per_member_limit", "coupon_quota_invalid": "issue_quota",
}
TEMPLATE_VALUES = (
    "name", "kind", "amount", "zhe", "cap", "threshold", "valid_days", "valid_from", "valid_until", "per_member_limit",
    "issue_quota", "scope", "form_key",
)


@dataclass
class Outcome:
    """What a hand issue or a campaign run did, shown above the forms."""

    title: str
    issued: int
    already: int = 0
    skipped: list[issuing.Skipped] = field(default_factory=list)


def percent_off_of(text: str) -> int:
    """折 as typed ("9", "8.5", "8.75") as basis points off: 9 → 1000, 8.5 → 1500, by integer arithmetic."""
    found = ZHE.match(text.strip().removesuffix("折"))
    paid = int(found.group(1)) * 1000 + int((found.group(2) or "0").ljust(2, "0")) * 10 if found else 0
    if not 0 < paid < 10_000:
        raise InvalidInput("折扣请填 0.01 到 9.99 之间的折数，如 9 或 8.5", code="coupon_percent_invalid")
    return 10_000 - paid


def _optional_fen(text: str, *, what: str, code: str) -> int | None:
    return fen_of(text, what=what, code=code) if text.strip() else None


def template_input(values: dict[str, str], timezone: str) -> templates.TemplateInput:
    """The create form as the service's input; a value that is not a number or a time is refused beside its field."""
    kind = values["kind"]
    amount = percent = cap = None
    if kind == "fixed":
        amount = fen_of(values["amount"], what="减免金额", code="coupon_amount_invalid")
    elif kind == "percent":
        percent = percent_off_of(values["zhe"])
        cap = fen_of(values["cap"], what="最高减免金额", code="coupon_cap_invalid")
    threshold = _optional_fen(values["threshold"], what="使用门槛", code="coupon_threshold_invalid") or 0
    days = window_from = window_until = None
    if values["valid_days"].strip():
        days = count_of(values["valid_days"], label="有效天数", code="coupon_validity_invalid")
    elif values["valid_from"].strip() or values["valid_until"].strip():
        window_from = moment_of(values["valid_from"], timezone, label="有效期开始时间", code="coupon_validity_invalid")
        window_until = moment_of(values["valid_until"], timezone, label="有效期结束时间", code="coupon_validity_invalid")
    limit = count_of(values["per_member_limit"] or "1", label="每人限领", code="coupon_limit_invalid")
    quota = None
    if values["issue_quota"].strip():
        quota = count_of(values["issue_quota"], label="发放总量", code="coupon_quota_invalid")
    scope, _, target = values["scope"].partition(":")
    if scope not in ("all", "category", "product", "session", "community") or (scope != "all") != target.isdigit():
        raise InvalidInput("请选择适用范围", code="coupon_scope_invalid")
    return templates.TemplateInput(
        name=values["name"], kind=kind, amount_fen=amount, percent_off_bp=percent, cap_fen=cap, threshold_fen=threshold,
        valid_from=window_from, valid_until=window_until, valid_days=days, per_member_limit=limit, issue_quota=quota,
        scope=scope, scope_id=int(target) if target else None,
    )


async def _scope_options(session, brand_id: int) -> list[tuple[str, list[tuple[str, str]]]]:  # noqa: ANN001
    """The choices of 适用范围, grouped: the brand's categories, products, sessions and communities."""
    products, _ = await catalog.list_products(session=session, brand_id=brand_id, params=SHOWN, status=None)
    sessions, _ = await live.list_sessions(session=session, brand_id=brand_id, status=None, params=SHOWN)
    communities, _ = await brands.list_communities(session=session, brand_id=brand_id, params=SHOWN)
    categories = await catalog.list_categories(session=session, brand_id=brand_id)
    return [
        ("全场", [("all", "全场通用")]),
        ("分类", [(f"category:{c.id}", c.name) for c in categories]),
        ("商品", [(f"product:{p.id}", p.name) for p in products]),
        ("直播场次", [(f"session:{s.id}", s.title) for s in sessions]),
        ("小区", [(f"community:{c.id}", c.name) for c, _ in communities]),
    ]


async def render_coupons(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, form: FormState, *, done: str | None = None,
    outcome: Outcome | None = None,
) -> Response:
    now = ctx.clock.now()
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        rows, total = await templates.list_templates(session=session, brand_id=brand_id, params=SHOWN)
        stats = await templates.template_stats(session=session, templates=rows, now=now)
        scopes = await templates.scope_texts(session=session, brand_id=brand_id, templates=rows)
        scope_options = await _scope_options(session, brand_id)
        rules = await issuing.list_rules(session=session, brand_id=brand_id)
        campaigns = await issuing.list_campaigns(session=session, brand_id=brand_id)
        communities, _ = await brands.list_communities(session=session, brand_id=brand_id, params=SHOWN)
        groups = [g for g in await interests.list_groups(session=session, brand_id=brand_id) if g.status == "active"]
    for name, default in (("kind", "fixed"), ("scope", "all"), ("per_member_limit", "1"), ("valid_days", "30")):
        form.values.setdefault(name, default)
    form.values.setdefault("form_key", new_key())  # 新建优惠券 creates once however often it is sent
    form.values.setdefault("issue_key", new_key())  # 发券 and 发起活动 issue once per rendering
    form.values.setdefault("campaign_key", new_key())
    active = [t for t in rows if t.status == "active"]
    return render(
        request, visitor, "console_coupons.html", status_code=form.status_code, staff=staff, brand=staff.brand,
        tab="coupons", form=form, templates=rows, total=total, stats=stats, scopes=scopes, scope_options=scope_options,
        active=active, names={t.id: t.name for t in rows}, rules=rules, campaigns=campaigns,
        communities=[c for c, _ in communities], interest_groups=groups, triggers=issuing.TRIGGERS, kind_text=KIND_TEXT,
        status_text=STATUS_TEXT,
        discount_text=lambda t: discount_text(templates.terms_of(t)), done=DONE.get(done or ""), outcome=outcome,
    )


def back(brand_id: int, done: str) -> RedirectResponse:
    return RedirectResponse(console_path(brand_id, f"coupons?done={done}"), status_code=303)


@router.get("/brands/{brand_id}/console/coupons")
async def coupons_page(request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx, done: Done = None) -> Response:
    return await render_coupons(request, visitor, ctx, brand_id, FormState(), done=done)


@router.post("/brands/{brand_id}/console/coupons")
async def create_template(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, name: Text = "", kind: Text = "fixed",
    amount: Text = "", zhe: Text = "", cap: Text = "", threshold: Text = "", valid_days: Text = "",
    valid_from: Text = "", valid_until: Text = "", per_member_limit: Text = "1", issue_quota: Text = "",
    scope: Text = "all", form_key: Text = "",
) -> Response:
    user_id = poster_id(visitor, console_path(brand_id, "coupons"))
    values = dict(zip(TEMPLATE_VALUES, (name, kind, amount, zhe, cap, threshold, valid_days, valid_from, valid_until,
                                        per_member_limit, issue_quota, scope, form_key), strict=True))
    form = FormState(values=values)
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
            brand = await brands.get_brand(session=session, brand_id=brand_id)
            data = template_input(values, brand.timezone)
            await receipts.check(session, user_id=user_id, form_key=form_key)
            await templates.create_template(
                session=session, brand_id=brand_id, data=data, actor_user_id=user_id, now=ctx.clock.now()
            )
            await receipts.seal(session, user_id=user_id, form_key=form_key, now=ctx.clock.now(),
                                result_path=console_path(brand_id, "coupons?done=template"))
    except receipts.AlreadySubmitted as already:
        return RedirectResponse(already.result_path, status_code=303)
    except DomainError as exc:
        if page_refusal(exc):
            raise
        form.refuse(exc, TEMPLATE_FIELDS.get(exc.code, "scope"))
        return await render_coupons(request, visitor, ctx, brand_id, form)
    return back(brand_id, "template")


@router.post("/brands/{brand_id}/console/coupons/{template_id}/disable")
async def disable_template(brand_id: IdPath, template_id: IdPath, visitor: CheckedVisitor, ctx: Ctx) -> Response:
    """停发: a second click finds it stopped and changes nothing; another brand's template is the 404 page."""
    user_id = poster_id(visitor, console_path(brand_id, "coupons"))
    async with ctx.db.transaction() as session:
        await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id)
        await templates.disable_template(
            session=session, brand_id=brand_id, template_id=template_id, now=ctx.clock.now()
        )
    return back(brand_id, "disabled")
