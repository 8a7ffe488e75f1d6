"""The brand console: a wave's pick list to print — the pickup point, the totals per SKU and one bag per member
(members masked), with 「打印」 (static/web/print.js) and the two CSV downloads.

Staff only, with the API's reading of a wave for staff (`brands.require_staff` through `staff_view`, then
`fulfillment.waves.get_wave` and `waves.pick_list`); the CSV is the API's file (`fulfillment.pick_sheet`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from linli.brands.schemas import IdPath
from linli.fulfillment import pick_sheet, waves
from linli.fulfillment import service as fulfillment
from linli.http import Ctx
from linli.web.console import staff_view
from linli.web.templating import render
from linli.web.visitor import SignedIn

router = APIRouter()


@router.get("/brands/{brand_id}/console/waves/{wave_id}/pick-list")
async def pick_list_page(request: Request, brand_id: IdPath, wave_id: IdPath, visitor: SignedIn, ctx: Ctx) -> Response:
    async with ctx.db.read() as session:
        staff = await staff_view(session, brand_id=brand_id, visitor=visitor)
        wave = await waves.get_wave(session=session, brand_id=brand_id, wave_id=wave_id)
        picks = await waves.pick_list(session=session, wave=wave)
    return render(
        request, visitor, "console_pick_list.html", staff=staff, brand=staff.brand, tab="waves", picks=picks,
        wave=wave, wave_status_names=waves.WAVE_STATUS_NAMES, parcel_status_names=fulfillment.PARCEL_STATUS_NAMES,
    )


@router.get("/brands/{brand_id}/console/waves/{wave_id}/pick-list.csv")
async def pick_list_csv(
    brand_id: IdPath,
    wave_id: IdPath,
    visitor: SignedIn,
    ctx: Ctx,
    kind: Annotated[pick_sheet.CsvKind, Query()] = "bags",
) -> Response:
    async with ctx.db.read() as session:
        await staff_view(session, brand_id=brand_id, visitor=visitor)
        wave = await waves.get_wave(session=session, brand_id=brand_id, wave_id=wave_id)
        body = pick_sheet.pick_list_csv(await waves.pick_list(session=session, wave=wave), kind=kind)
    return Response(
        content=body, media_type=pick_sheet.CSV_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{pick_sheet.csv_filename(wave_id, kind)}"',
            "Cache-Control": "no-store",
        },
    )
