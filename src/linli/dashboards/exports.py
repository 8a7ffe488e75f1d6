"""The brand dashboard's tables as CSV files: one per table of the page (days, top leaders, months, communities),
the same bytes from the API (`GET …/dashboard.csv?table=`) and the console's 「导出 CSV」 links.

As the ledger's files (`statements.report_csv`): UTF-8 with a BOM (Excel shows the Chinese headers), money
twice, in fen and in yuan as text (no floats), free text guarded against spreadsheet formulas, and a 合计
row where the rows add up to the range's totals (days, communities).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable

from linli.dashboards.brand import BrandDashboard, CommunityFigures, DayFigures, LeaderFigures, Totals
from linli.errors import InvalidInput
from linli.ledger.statements import CSV_BOM, text_cell
from linli.money import yuan

TABLES = ("days", "leaders", "months", "communities")
MONEY = ("实付", "退款", "成交额")


def check_table(table: str) -> str:
    if table not in TABLES:
        raise InvalidInput(
            "表格只能是 days（每日）、leaders（团长排行）、months（月复购）或 communities（小区）",
            code="dashboard_table_invalid",
        )
    return table


def _money_headers() -> list[str]:
    return [f"{label}({unit})" for label in MONEY for unit in ("分", "元")]


def _money(figures: Totals | DayFigures | LeaderFigures | CommunityFigures) -> list[str]:
    return [cell for fen in (figures.paid_fen, figures.refunded_fen, figures.gmv_fen) for cell in (str(fen), yuan(fen))]


def rate_text(rate_bp: int | None) -> str:
    """Basis points as a percentage with two decimals (8500 → "85.00%"); empty when nobody paid that month."""
    return "" if rate_bp is None else f"{rate_bp // 100}.{rate_bp % 100:02d}%"


def _days(figures: BrandDashboard) -> Iterable[list[str]]:
    yield ["日期", "订单数", *_money_headers()]
    for day in figures.days:
        yield [day.day.isoformat(), str(day.orders), *_money(day)]
    yield ["合计", str(figures.totals.orders), *_money(figures.totals)]


def _leaders(figures: BrandDashboard) -> Iterable[list[str]]:
    yield ["排名", "团长ID", "团长", "订单数", *_money_headers()]
    for rank, leader in enumerate(figures.leaders, start=1):
        yield [str(rank), str(leader.leader_id), text_cell(leader.name), str(leader.orders), *_money(leader)]


def _months(figures: BrandDashboard) -> Iterable[list[str]]:
    yield ["月份", "付款人数", "次月再次购买人数", "复购率", "复购率(基点)"]
    for month in figures.months:
        yield [
            month.month.strftime("%Y-%m"), str(month.paying_members), str(month.bought_again_next_month),
            rate_text(month.rate_bp), "" if month.rate_bp is None else str(month.rate_bp),
        ]


def _communities(figures: BrandDashboard) -> Iterable[list[str]]:
    yield ["小区ID", "小区", "订单数", *_money_headers()]
    for community in figures.communities:
        key = "" if community.community_id is None else str(community.community_id)
        yield [key, text_cell(community.name), str(community.orders), *_money(community)]
    yield ["", "合计", str(figures.totals.orders), *_money(figures.totals)]


_WRITERS: dict[str, Callable[[BrandDashboard], Iterable[list[str]]]] = {
    "days": _days, "leaders": _leaders, "months": _months, "communities": _communities,
}


def dashboard_csv(figures: BrandDashboard, *, table: str) -> bytes:
    """One table of the dashboard as CSV (UTF-8 with BOM): its header, its rows, and a 合计 row where it has one."""
    buffer = io.StringIO()
    buffer.write(CSV_BOM)
    csv.writer(buffer).writerows(_WRITERS[check_table(table)](figures))
    return buffer.getvalue().encode("utf-8")


def csv_filename(figures: BrandDashboard, *, table: str) -> str:
    return f"brand-dashboard-{figures.first_day.isoformat()}-{figures.last_day.isoformat()}-{check_table(table)}.csv"
