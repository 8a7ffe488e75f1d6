"""The pickup code's QR image is a regular QR code a phone can scan, holding exactly the pickup code."""

from __future__ import annotations

from linli import qrcodes
from tests.fulfillment.helpers import code_of
from tests.ledger.helpers import buy
from tests.orders.setup import bound_member, build_stage
from tests.qr import scan


async def test_the_pickup_qr_scans_as_the_pickup_code(ctx, client, world):
    stage = await build_stage(world)
    buyer = await bound_member(world, stage.leader)
    order_id = await buy(ctx, stage, buyer)
    code = await code_of(client, buyer, order_id)

    image = await client.get(f"/api/v1/orders/{order_id}/pickup-code/qr.png", headers=buyer.headers)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert scan(image.content) == code
    # Six digits are where a QR library would pick Micro QR (M2): the symbol is a regular version 1 code.
    symbol = qrcodes.qr_symbol(code)
    assert not symbol.is_micro and not symbol.designator.startswith("M") and symbol.version == 1
    assert image.content == qrcodes.qr_png(code)
