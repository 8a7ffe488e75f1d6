"""The brand console: delivery waves — the brand's waves (filtered as `GET /api/v1/brands/{id}/delivery-waves`
filters them) and the form that cuts a new one, exactly as `POST /api/v1/brands/{id}/delivery-waves` does
(`brands.require_staff`, then `fulfillment.waves.create_wave`).

A wave is cut for one community's pickup point: every waiting parcel of that point paid by the cut-off joins
it. Staff type the cut-off and the expected arrival in the brand's own time (a `datetime-local` field), which
the page reads in `brand.timezone`. A double submit cuts once: the second finds nothing left to take and the
service refuses it (该自提点在截单时间前没有待配送的订单), shown beside the community.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.brands.schemas import IdPath
from linli.context import AppContext
from linli.errors import DomainError, InvalidInput
from linli.fulfillment import service as fulfillment
from linli.fulfillment import waves
from linli.fulfillment.models import WAVE_STATUSES, DeliveryWave
from linli.http import Ctx
from linli.pagination import PageParams
from linli.web.console import staff_view
from linli.web.signin import FormState
from linli.web.templating import render
from linli.web.visitor import CheckedVisitor, SignedIn, SignInRequired, Visitor
from linli.web.workbench import user_id_of

router = APIRouter()

PAGE_SIZE = 20
DEFAULT_ARRIVAL = timedelta(days=1)
ALL_COMMUNITIES = PageParams(page=1, page_size=500)  # the choice in the form and the filter (a brand has a few dozen)
FormText = Annotated[str, Form(max_length=32)]
# Which field a refusal of `create_wave` belongs beside (the rest are beside the community).
FIELD_OF = {
    "cutoff_in_future": "cutoff_at", "cutoff_too_old": "cutoff_at", "cutoff_at_invalid": "cutoff_at",
    "arrive_after_invalid": "arrive_after", "arrive_after_format_invalid": "arrive_after",
}
FORM_REFUSALS = {*FIELD_OF, "wave_empty", "community_not_found", "pickup_point_not_found", "community_invalid"}


@dataclass(frozen=True)
class WaveRow:
    """A wave as the console lists it: where it goes and how many of its parcels are in each status."""

    wave: DeliveryWave
    where: waves.PointInfo
    parcels: dict[str, int]

    @property
    def parcel_total(self) -> int:
        return sum(self.parcels.values())


async def wave_rows(session: AsyncSession, *, brand_id: int, rows: list[DeliveryWave]) -> list[WaveRow]:
    """The waves with their pickup points and parcel counts, read as the API's `WaveOut` reads them."""
    counts = await waves.wave_parcel_counts(session=session, wave_ids={w.id for w in rows})
    places: dict[int, waves.PointInfo] = {}
    out = []
    for wave in rows:
        if wave.community_id not in places:
            places[wave.community_id] = await waves.point_of(
                session=session, brand_id=brand_id, community_id=wave.community_id
            )
        out.append(WaveRow(wave=wave, where=places[wave.community_id], parcels=counts.get(wave.id, {})))
    return out


def local_input(moment: datetime, timezone: str) -> str:
    """An instant as a `datetime-local` field shows it: the brand's wall clock, to the minute."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M")


def moment_of(text: str, *, timezone: str, label: str, code: str) -> datetime:
    """What a `datetime-local` field sends ("2026-12-01T21:30"), read as the brand's wall clock."""
    try:
        local = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"请填写{label}（年-月-日 时:分）", code=code) from None
    return local if local.tzinfo is not None else local.replace(tzinfo=ZoneInfo(timezone))


def community_of(text: str) -> int:
    """The community chosen in the form (an id, as the API's `community_id`); anything else is refused."""
    if re.fullmatch(r"[0-9]{1,19}", text.strip()) is None or not 1 <= int(text) <= 2**63 - 1:
        raise InvalidInput("请选择自提点所在小区", code="community_invalid")
    return int(text)


async def render_waves(
    request: Request, visitor: Visitor, ctx: AppContext, brand_id: int, form: FormState, *,
    community_id: int | None = None, status: str | None = None, page: int = 1,
) -> Response:
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        rows, total = await waves.list_waves(
            session=session, brand_id=brand_id, community_id=community_id, status=status,
            params=PageParams(page=page, page_size=PAGE_SIZE),
        )
        listed = await wave_rows(session, brand_id=brand_id, rows=rows)
        communities, _ = await brands.list_communities(session=session, brand_id=brand_id, params=ALL_COMMUNITIES)
    now = ctx.clock.now()
    # A cut-off must have passed: this minute is the latest one. The arrival is the staff's guess to type.
    form.values.setdefault("cutoff_at", local_input(now, staff.brand.timezone))
    form.values.setdefault("arrive_after", local_input(now + DEFAULT_ARRIVAL, staff.brand.timezone))
    return render(
        request, visitor, "console_waves.html", status_code=form.status_code, staff=staff, brand=staff.brand,
        tab="waves", form=form, waves=listed, total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)),
        communities=[c for c, _ in communities], chosen_community=community_id, chosen_status=status,
        wave_statuses=WAVE_STATUSES, wave_status_names=waves.WAVE_STATUS_NAMES,
        parcel_status_names=fulfillment.PARCEL_STATUS_NAMES,
    )


@router.get("/brands/{brand_id}/console/waves")
async def waves_page(
    request: Request,
    brand_id: IdPath,
    visitor: SignedIn,
    ctx: Ctx,
    community_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return await render_waves(
        request, visitor, ctx, brand_id, FormState(), community_id=community_id, status=status or None, page=page
    )


@router.post("/brands/{brand_id}/console/waves")
async def cut_wave(
    request: Request, brand_id: IdPath, visitor: CheckedVisitor, ctx: Ctx, community_id: FormText = "",
    cutoff_at: FormText = "", arrive_after: FormText = "",
) -> Response:
    if not visitor.signed_in:
        raise SignInRequired(f"/brands/{brand_id}/console/waves")
    form = FormState(values={"community_id": community_id.strip(), "cutoff_at": cutoff_at.strip(),
                             "arrive_after": arrive_after.strip()})
    try:
        async with ctx.db.transaction() as session:
            await brands.require_staff(session=session, brand_id=brand_id, user_id=user_id_of(visitor))
            timezone = (await brands.get_brand(session=session, brand_id=brand_id)).timezone
            wave = await waves.create_wave(
                session=session, brand_id=brand_id, community_id=community_of(community_id),
                cutoff_at=moment_of(cutoff_at, timezone=timezone, label="截单时间", code="cutoff_at_invalid"),
                arrive_after=moment_of(arrive_after, timezone=timezone, label="预计到达时间",
                                       code="arrive_after_format_invalid"),
                actor_user_id=user_id_of(visitor), now=ctx.clock.now(),
            )
    except DomainError as exc:
        if exc.code not in FORM_REFUSALS:
            raise  # not this brand's staff (403), an unknown brand (404): the error page
        form.refuse(exc, FIELD_OF.get(exc.code, "community_id"))
        return await render_waves(request, visitor, ctx, brand_id, form)
    return RedirectResponse(f"/brands/{brand_id}/console/waves/{wave.id}?done=cut", status_code=303)

