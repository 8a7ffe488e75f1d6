"""What the claim pages share: filing a claim from a form (the member's and the leader's), with exactly the
photo limits and service call of `POST /api/v1/orders/{id}/claims`, and claims as the pages show them.

Filing reads the photos as the API does (at most `MAX_PHOTOS`, one byte past `MAX_PHOTO_BYTES` each, the type
from the first bytes) before anything else, so a refused photo writes nothing; the service then checks every
rule before it stores a file, and a claim that is not saved leaves no photo behind. A refusal is the service's
Chinese message beside its field, with what was typed kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.aftersales import photos as photo_rules
from linli.aftersales import service
from linli.aftersales.models import Claim, ClaimPhoto
from linli.context import AppContext
from linli.errors import DomainError, InvalidInput
from linli.security import mask_name, mask_phone
from linli.web.forms import fen_of, new_key
from linli.web.signin import FormState

REASON_CHOICES = list(service.REASON_TEXT.items())
DECISION_TEXT = {"instant": "极速退款", "approved": "同意", "partial": "部分同意", "rejected": "驳回"}
MAX_QUANTITY = 999  # the API's bound on the quantity field
# Which field a refusal is shown beside (by the service's error code); any other refusal goes above the button.
FIELD_OF = {
    "claim_reason_invalid": "reason",
    "claim_quantity_invalid": "quantity",
    "claim_quantity_exceeds_order": "quantity",
    "claim_amount_invalid": "amount",
    "claim_amount_exceeds_paid": "amount",
    "claim_description_too_long": "description",
    "too_many_photos": "photos",
    "photo_too_large": "photos",
    "photo_not_image": "photos",
    "claim_photo_required": "photos",
    "order_not_found": "order_id",
}


def claim_form(values: dict[str, str] | None = None) -> FormState:
    """A blank claim form (or the one typed), with the idempotency key this rendering gives it."""
    form = FormState(values=dict(values or {}))
    form.values.setdefault("reason", "bad")
    form.values.setdefault("quantity", "1")
    form.values.setdefault("idempotency_key", new_key())
    return form


def quantity_of(text: str) -> int:
    value = text.strip()
    if not value.isdigit() or not 1 <= int(value) <= MAX_QUANTITY:
        raise InvalidInput(f"售后数量须在 1 到 {MAX_QUANTITY} 之间", code="claim_quantity_invalid")
    return int(value)


async def read_photos(files: list[UploadFile]) -> list[photo_rules.Photo]:
    """The API's `_read_uploads`, after dropping the empty part a browser sends for a file input left empty."""
    chosen = [f for f in files if f.filename or f.size]
    if len(chosen) > photo_rules.MAX_PHOTOS:
        raise InvalidInput(f"最多上传 {photo_rules.MAX_PHOTOS} 张图片", code="too_many_photos")
    return photo_rules.check_photos([await f.read(photo_rules.MAX_PHOTO_BYTES + 1) for f in chosen])


@dataclass(frozen=True)
class Filing:
    """The outcome of a claim form: the claim filed (or replayed), or the form to show again."""

    claim: Claim | None
    form: FormState


async def file_from_form(
    ctx: AppContext, *, user_id: int, order_id: int, form: FormState, files: list[UploadFile], order_in_path: bool
) -> Filing:
    """`aftersales.file_claim` from what the form sent. A 403 (staff may not file) is raised, and so is a 404
    for an order in the page's path (the 404 page, as on GET); an order chosen in the form is told beside it."""
    values = form.values
    filed = None
    try:
        photos = await read_photos(files)
        quantity = quantity_of(values.get("quantity", ""))
        amount_fen = fen_of(values.get("amount", ""), what="申请金额", code="claim_amount_invalid")
        try:
            async with ctx.db.transaction() as session:
                filed = await service.file_claim(
                    session=session, storage=ctx.storage, user_id=user_id, order_id=order_id,
                    reason=values.get("reason", ""), quantity=quantity, amount_fen=amount_fen,
                    description=values.get("description", ""), photos=photos,
                    idempotency_key=values.get("idempotency_key", ""), now=ctx.clock.now(),
                )
        except BaseException:
            if filed is not None:  # stored, but the claim was not saved: leave no orphan photos
                await photo_rules.discard(ctx.storage, filed.stored_keys)
            raise
    except DomainError as exc:
        if exc.status_code == 403 or (exc.status_code == 404 and order_in_path):
            raise
        form.refuse(exc, FIELD_OF.get(exc.code, "claim"))
        if "photos" not in form.errors:
            form.errors["photos_again"] = "请重新选择照片"  # a browser never keeps the files of a refused form
        return Filing(claim=None, form=form)
    return Filing(claim=filed.claim, form=form)


@dataclass(frozen=True)
class ClaimView:
    """A claim as a page shows it: its photos and, for a leader or staff, the member masked."""

    claim: Claim
    photos: list[ClaimPhoto]
    member_name: str | None
    member_phone: str | None

    @property
    def reason_text(self) -> str:
        return service.REASON_TEXT[self.claim.reason]

    @property
    def status_text(self) -> str:
        return service.STATUS_TEXT[self.claim.status]

    @property
    def decision_text(self) -> str:
        return DECISION_TEXT.get(self.claim.decision or "", "")

    def photo_url(self, photo: ClaimPhoto) -> str:
        return f"/claims/{self.claim.id}/photos/{photo.id}"


async def claim_views(session: AsyncSession, claims: list[Claim], *, role: str) -> list[ClaimView]:
    """Members see no member fields; leaders and staff (on pages) the name and phone masked."""
    photos = await service.photos_of(session=session, claim_ids={c.id for c in claims})
    users = await accounts.users_by_ids(session=session, user_ids={c.user_id for c in claims}) if role != "member" else {}
    views = []
    for claim in claims:
        person = users.get(claim.user_id)
        shown = role != "member"
        views.append(
            ClaimView(
                claim=claim, photos=photos.get(claim.id, []),
                member_name=mask_name(person.display_name if person else None) if shown else None,
                member_phone=mask_phone(person.phone if person else None) if shown else None,
            )
        )
    return views
