"""What each chart of the brand's 数据看板 draws, as the JSON the page embeds for `static/web/brand_dashboard.js`.

A chart is a kind (line or bar, bars lying down for rankings), its labels and one or more series of the same
unit. Values stay as the service gives them: money in fen, rates in basis points (None where nothing can be
said); the script scales them for display (÷ 100: ¥ and %), so the page's table and the chart read one source.
A new section of the page adds a builder here and a `dash.chart_section` in the template.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from linli.dashboards.brand import BrandDashboard

Unit = Literal["fen", "bp", "count"]


@dataclass(frozen=True)
class Series:
    name: str
    unit: Unit
    values: list[int | None]


@dataclass(frozen=True)
class Chart:
    kind: Literal["line", "bar"]
    labels: list[str]
    series: list[Series] = field(default_factory=list)
    horizontal: bool = False  # bars lying down, the first label on top (a ranking)

    def data(self) -> dict[str, Any]:
        return asdict(self)


def gmv_by_day(figures: BrandDashboard) -> Chart:
    return Chart("line", [d.day.isoformat() for d in figures.days],
                 [Series("成交额", "fen", [d.gmv_fen for d in figures.days])])


def top_leaders(figures: BrandDashboard) -> Chart:
    return Chart("bar", [t.name for t in figures.leaders],
                 [Series("成交额", "fen", [t.gmv_fen for t in figures.leaders])], horizontal=True)


def repurchase_by_month(figures: BrandDashboard) -> Chart:
    return Chart("line", [m.month.strftime("%Y-%m") for m in figures.months],
                 [Series("复购率", "bp", [m.rate_bp for m in figures.months])])


def gmv_by_community(figures: BrandDashboard) -> Chart:
    return Chart("bar", [c.name for c in figures.communities],
                 [Series("成交额", "fen", [c.gmv_fen for c in figures.communities])])


def brand_charts(figures: BrandDashboard) -> dict[str, Chart]:
    """The page's charts by section key (the key names the section, its chart and its CSV table)."""
    return {
        "days": gmv_by_day(figures), "leaders": top_leaders(figures), "months": repurchase_by_month(figures),
        "communities": gmv_by_community(figures),
    }
