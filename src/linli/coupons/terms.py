"""A coupon's terms as plain values: the discount arithmetic, the scope check and the words people read.

No database here: the order placement, the live room's preview and the tests share these functions.

- Fixed: the amount; percent: `total × percent_off_bp / 10000` rounded down (never more than the percentage),
  then at most the cap. Either way at most `total − 1`, so the member always pays at least 1 fen:
  payable + discount == total, 0 <= discount <= the amount or cap, payable >= 1.
- A coupon applies to an order when the order's total (price × quantity, before the discount) reaches the
  threshold and the order is inside its scope: all, the SKU's category or product, the session, or the community
  the order goes to.
"""

from __future__ import annotations

from dataclasses import dataclass

from linli.errors import InvalidInput
from linli.money import yuan

BASIS = 10_000


@dataclass(frozen=True)
class Terms:
    kind: str  # fixed, percent
    amount_fen: int | None
    percent_off_bp: int | None
    cap_fen: int | None
    threshold_fen: int
    scope: str
    scope_id: int | None


@dataclass(frozen=True)
class OrderScope:
    """What an order is, for a coupon's scope: the SKU's product and category, the session, the community."""

    product_id: int
    category_id: int | None
    session_id: int | None
    community_id: int | None


def discount_fen(terms: Terms, total_fen: int) -> int:
    """What the coupon takes off an order of `total_fen` (the threshold is `require_threshold`'s)."""
    if terms.kind == "fixed":
        assert terms.amount_fen is not None
        raw = terms.amount_fen
    else:
        assert terms.percent_off_bp is not None and terms.cap_fen is not None
        raw = min(terms.cap_fen, total_fen * terms.percent_off_bp // BASIS)
    return max(0, min(raw, total_fen - 1))


def meets_threshold(terms: Terms, total_fen: int) -> bool:
    return total_fen >= terms.threshold_fen


def require_threshold(terms: Terms, total_fen: int) -> None:
    if not meets_threshold(terms, total_fen):
        raise InvalidInput(
            f"订单金额满 {yuan(terms.threshold_fen)} 元才能使用这张优惠券", code="coupon_threshold_not_met",
            details={"threshold_fen": terms.threshold_fen, "total_fen": total_fen},
        )


def in_scope(terms: Terms, order: OrderScope) -> bool:
    target = {
        "all": None, "category": order.category_id, "product": order.product_id, "session": order.session_id,
        "community": order.community_id,
    }[terms.scope]
    return terms.scope == "all" or (target is not None and target == terms.scope_id)


def discount_text(terms: Terms) -> str:
    """满50减10, 立减5, 9折（最高减20元）, 满100享8.5折（最高减30元）."""
    threshold = f"满{short_yuan(terms.threshold_fen)}" if terms.threshold_fen else ""
    if terms.kind == "fixed":
        assert terms.amount_fen is not None
        return f"{threshold}减{short_yuan(terms.amount_fen)}" if threshold else f"立减{short_yuan(terms.amount_fen)}"
    assert terms.percent_off_bp is not None and terms.cap_fen is not None
    return f"{threshold}{'享' if threshold else ''}{zhe_text(terms.percent_off_bp)}（最高减{short_yuan(terms.cap_fen)}元）"


def short_yuan(fen: int) -> str:
    """Yuan as a coupon says it: 5000 → "50", 4990 → "49.90" (whole yuan without the decimals)."""
    return str(fen // 100) if fen % 100 == 0 else yuan(fen)


def zhe_text(percent_off_bp: int) -> str:
    """Basis points off as 折, by integer arithmetic: 1000 → 9折, 1500 → 8.5折, 1250 → 8.75折."""
    paid = BASIS - percent_off_bp
    whole, rest = divmod(paid, 1000)
    decimals = f"{rest:03d}".rstrip("0")
    return f"{whole}.{decimals}折" if decimals else f"{whole}折"
