"""The pick list as a CSV file, the same bytes for the API (`…/pick-list.csv`) and the console's download.

`kind="bags"` is one row per order in a bag (what the packer ticks off), `kind="products"` the totals per SKU
(what is taken from the shelf). Members appear as the pick list shows them: names and phones masked.
"""

from __future__ import annotations

import csv
import io
from typing import Literal

from linli.fulfillment.waves import PickList

CsvKind = Literal["bags", "products"]
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def pick_list_csv(picks: PickList, *, kind: CsvKind) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if kind == "products":
        writer.writerow(["商品", "规格", "件数", "订单数"])
        for total in picks.products:
            writer.writerow([total.product_name, total.sku_name, total.quantity, total.orders])
    else:
        writer.writerow(["袋号", "用户", "手机", "订单号", "商品", "规格", "件数"])
        for bag in picks.bags:
            for item in bag.items:
                writer.writerow([bag.bag_no, bag.member_name, bag.member_phone, item.order.id, item.order.product_name,
                                 item.order.sku_name, item.order.quantity])
    # The BOM makes Excel read the file as UTF-8 (the Chinese names stay readable).
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def csv_filename(wave_id: int, kind: CsvKind) -> str:
    return f"wave-{wave_id}-{kind}.csv"
