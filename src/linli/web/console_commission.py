"""The brand console: commission rules — the version in force, every version (who and when), and a form that
publishes a new version.

Exactly the API's (`linli.ledger.api`): reading and publishing are for any staff role of the brand
(`brands.require_staff` through `staff_view`; nothing here is owner-only); `rules.find_current_version` and
`rules.versions_query` to read, `rules.update_rules` to publish. History is never edited: a correction is a new
version, which applies to orders placed from then on. The form edits the base rates, the referral reward, the
self-purchase switch, the settlement window and the per-product rates; the per-session rates and the tier
bonuses of the version in force are carried into the new one unchanged (shown, edited through the API).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.catalog import service as catalog
from linli.catalog.models import Product
from linli.context import AppContext
from linli.errors import DomainError, InvalidInput
from linli.http import Ctx
from linli.ledger import rules
from linli.ledger.models import CommissionRuleVersion
from linli.ledger.statements import percent
from linli.live import service as live
from linli.pagination import PageParams, fetch_page
from linli.web import csrf
from linli.web.console import staff_view
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, SignInRequired, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()

SHOWN_VERSIONS = PageParams(page=1, page_size=50)
PRODUCTS = PageParams(page=1, page_size=100)
PERCENT = re.compile(r"^(\d{1,5})(?:\.(\d{1,2}))?%?$")
WHOLE = re.compile(r"^\d{1,4}$")
RATE_FIELDS = {"live_rate": "直播间基础佣金率", "off_session_rate": "非直播订单佣金率", "referral_rate": "拉新奖励佣金率"}
COUNT_FIELDS = {"referral_months": "拉新奖励期（月）", "settlement_window_days": "售后期（天）"}
# Where a refusal of `rules.validate` goes: by its code, or for a rate by the label its message starts with.
CODE_FIELDS = {"referral_months_invalid": "referral_months", "settlement_window_invalid": "settlement_window_days",
               "commission_override_duplicate": "products", "commission_override_unknown_product": "products",
               "commission_overrides_too_many": "products"}
LABEL_FIELDS = {label: name for name, label in RATE_FIELDS.items()} | {"商品专属佣金率": "products", "佣金率加拉新奖励": "referral_rate"}


def bp_of(text: str, label: str) -> int:
    """A percentage as typed ("15", "12.5", "12.50%") in basis points, exactly (no floats): 12.5 → 1250."""
    found = PERCENT.match(text.strip().replace("％", "%"))
    if found is None:
        raise InvalidInput(f"{label}请填百分比，如 15 或 12.5（最多两位小数）", code="commission_rate_invalid")
    return int(found.group(1)) * 100 + int((found.group(2) or "0").ljust(2, "0"))


def count_of(text: str, label: str) -> int:
    if WHOLE.match(text.strip()) is None:
        raise InvalidInput(f"{label}请填整数", code="invalid_request")
    return int(text.strip())


def plain_percent(bp: int) -> str:
    return percent(bp).rstrip("%")


@dataclass(frozen=True)
class Version:
    """A version as the page lists it: the rules, when they took effect, who published them."""

    number: int
    rules: rules.RuleSet
    note: str
    created_at: datetime
    created_by: str  # "" for the defaults


async def _versions(session: AsyncSession, brand_id: int) -> list[Version]:
    rows, total = await fetch_page(session, rules.versions_query(brand_id=brand_id), SHOWN_VERSIONS)
    if not total:  # never changed: the defaults are the one version, in force since the brand was created
        brand = await brands.get_brand(session=session, brand_id=brand_id)
        return [Version(1, rules.DEFAULT_RULES, "默认规则", brand.created_at, "")]
    users = await accounts.users_by_ids(session=session, user_ids={r.created_by_user_id for r in rows if r.created_by_user_id})

    def by(row: CommissionRuleVersion) -> str:
        user = users.get(row.created_by_user_id) if row.created_by_user_id else None
        return (user.display_name or user.login_name or "") if user else ""

    return [Version(r.version, rules.ruleset_of(r), r.note, r.created_at, by(r)) for r in rows]


def _form_of(current: rules.RuleSet, products: list[Product]) -> FormState:
    values = {"live_rate": plain_percent(current.live_rate_bp), "off_session_rate": plain_percent(current.off_session_rate_bp),
              "referral_rate": plain_percent(current.referral_rate_bp), "referral_months": str(current.referral_months),
              "settlement_window_days": str(current.settlement_window_days),
              "self_purchase_counts": "1" if current.self_purchase_counts else "", "note": ""}
    overrides = dict(current.product_overrides)
    for product in products:
        values[f"product-{product.id}"] = plain_percent(overrides[product.id]) if product.id in overrides else ""
    return FormState(values=values)


async def render_commission(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, form: FormState | None,
    published: int | None = None,
) -> Response:
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        versions = await _versions(session, brand_id)
        products, _ = await catalog.list_products(session=session, brand_id=brand_id, params=PRODUCTS, status=None)
        current = versions[0].rules
        named = {p.id: p.name for p in products}
        missing = {p for v in versions for p, _ in v.rules.product_overrides} - set(named)  # beyond the first PRODUCTS
        named |= {k: p.name for k, p in (await catalog.products_by_ids(session=session, product_ids=missing)).items()}
        sessions = await live.sessions_by_ids(session=session, brand_id=brand_id, session_ids={
            s for v in versions for s, _, _ in v.rules.session_overrides})
    form = form or _form_of(current, products)
    form.values["based_on_version"] = str(versions[0].number)  # a new submit is made over what is shown now
    return render(
        request, visitor, "console_commission.html", status_code=form.status_code, staff=staff,
        brand=staff.brand, tab="commission", form=form, versions=versions,
        current=versions[0], products=products, product_names=named,
        session_titles={k: s.title for k, s in sessions.items()}, percent=percent, published=published,
    )


@router.get("/brands/{brand_id}/console/commission")
async def commission_page(
    request: Request, brand_id: IdPath, visitor: SignedIn, ctx: Ctx,
    published: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    return await render_commission(request, visitor, ctx, brand_id, None, published=published)


def _read_rules(form: FormState, current: rules.RuleSet, product_ids: list[int]) -> rules.RuleSet:
    """The typed rules over the version in force; every field that does not parse gets its message."""
    parsed: dict[str, int] = {}
    for name, label in (RATE_FIELDS | COUNT_FIELDS).items():
        try:
            parsed[name] = (bp_of if name in RATE_FIELDS else count_of)(form.values[name], label)
        except InvalidInput as exc:
            form.refuse(exc, name)
    # A product the form does not list (beyond the first PRODUCTS) keeps its rate.
    overrides = [(p, bp) for p, bp in current.product_overrides if p not in product_ids]
    for product_id in product_ids:
        text = form.values.get(f"product-{product_id}", "")
        if not text:
            continue
        try:
            overrides.append((product_id, bp_of(text, "商品专属佣金率")))
        except InvalidInput as exc:
            form.refuse(exc, f"product-{product_id}")
    if form.errors:
        raise InvalidInput(next(iter(form.errors.values())), code="commission_rate_invalid")
    return replace(
        current, live_rate_bp=parsed["live_rate"], off_session_rate_bp=parsed["off_session_rate"],
        referral_rate_bp=parsed["referral_rate"], referral_months=parsed["referral_months"],
        settlement_window_days=parsed["settlement_window_days"], self_purchase_counts=form.values["self_purchase_counts"] == "1",
        product_overrides=tuple(overrides),
    )


def based_on(form: FormState) -> int | None:
    """The version the page's form was made over (a hidden field; a mangled one matches no version). A post
    without it (not from the page) is checked as the API checks one: not at all."""
    text = form.values.get("based_on_version")
    if text is None:
        return None
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else 0


def _field_of(exc: DomainError, proposed: rules.RuleSet | None) -> str:
    if exc.code in CODE_FIELDS:
        return CODE_FIELDS[exc.code]
    for label, name in LABEL_FIELDS.items():
        if exc.message.startswith(label):
            if name == "products" and proposed is not None:  # beside the product whose rate is out of range
                wrong = [p for p, bp in proposed.product_overrides if not 0 <= bp <= rules.BP_DENOMINATOR]
                return f"product-{wrong[0]}" if wrong else name
            return name
    return "note"


@router.post("/brands/{brand_id}/console/commission")
async def publish(request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx) -> Response:
    if not visitor.signed_in:
        raise SignInRequired(f"/brands/{brand_id}/console/commission")
    # The per-product fields are named after the brand's products, so the form is read whole.
    sent = await request.form()
    form = FormState(values={k: str(v).strip()[:200] for k, v in sent.items() if k != csrf.FIELD})
    form.values.setdefault("self_purchase_counts", "")
    for name in (*RATE_FIELDS, *COUNT_FIELDS, "note"):
        form.values.setdefault(name, "")
    proposed = None
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
            found = await rules.find_current_version(session=session, brand_id=brand_id)
            current = rules.ruleset_of(found) if found is not None else rules.DEFAULT_RULES
            products, _ = await catalog.list_products(session=session, brand_id=brand_id, params=PRODUCTS, status=None)
            proposed = _read_rules(form, current, [p.id for p in products])
            row = await rules.update_rules(
                session=session, brand_id=brand_id, rules=proposed, note=form.values["note"],
                actor_user_id=user_id_of(visitor), now=ctx.clock.now(), based_on_version=based_on(form),
            )
            published = row.version
    except DomainError as exc:
        if exc.status_code == 403:
            raise
        if not form.errors:
            form.refuse(exc, _field_of(exc, proposed))
        return await render_commission(request, visitor, ctx, brand_id, form)
    return RedirectResponse(f"/brands/{brand_id}/console/commission?published={published}", status_code=303)
