"""Read models for a leader's commission: balances and lines (the real-time view; statements build on it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.brands import service as brands
from linli.errors import InvalidInput
from linli.ledger import rules, service
from linli.ledger.models import LINE_STATUSES, CommissionLine, CommissionRuleVersion
from linli.members import service as members
from linli.pagination import PageParams, fetch_page
from linli.security import mask_name, mask_phone

STATUS_TEXT = {
    "pending": "待结算",
    "settled": "可提现",
    "reversed": "已退款，佣金已全部扣回",
    "excluded": "不计佣金",
}


@dataclass(frozen=True)
class LineView:
    line: CommissionLine
    member_name: str  # masked
    member_phone: str  # masked
    rule_version: int
    available_from_date: date | None  # eligible_at as a date in the brand's time zone

    @property
    def net_fen(self) -> int:
        return self.line.commission_fen - self.line.clawed_back_fen


@dataclass(frozen=True)
class CommissionView:
    balances: service.LeaderBalances
    lines: list[LineView]
    total: int


def _status_filter(status: str | None) -> str | None:
    if status is not None and status not in LINE_STATUSES:
        raise InvalidInput("佣金状态无效", code="commission_status_filter_invalid")
    return status


async def describe_lines(*, session: AsyncSession, brand_id: int, lines: list[CommissionLine]) -> list[LineView]:
    brand = await brands.get_brand(session=session, brand_id=brand_id)
    zone = ZoneInfo(brand.timezone)
    member_rows = await members.members_by_ids(session=session, member_ids={line.member_id for line in lines})
    users = await accounts.users_by_ids(session=session, user_ids={m.user_id for m in member_rows.values()})
    version_ids = {line.rule_version_id for line in lines}
    versions = {
        v.id: v.version
        for v in (
            await session.scalars(select(CommissionRuleVersion).where(CommissionRuleVersion.id.in_(version_ids)))
            if version_ids else []
        )
    }
    views = []
    for line in lines:
        member = member_rows.get(line.member_id)
        user = users.get(member.user_id) if member else None
        eligible: datetime | None = line.eligible_at
        views.append(
            LineView(
                line=line, member_name=mask_name(user.display_name if user else None),
                member_phone=mask_phone(user.phone if user else None), rule_version=versions.get(line.rule_version_id, 0),
                available_from_date=eligible.astimezone(zone).date() if eligible else None,
            )
        )
    return views


async def leader_commission(
    *, session: AsyncSession, brand_id: int, leader_id: int, status: str | None, params: PageParams
) -> CommissionView:
    """Balances now and the leader's commission lines, newest first."""
    query = (
        select(CommissionLine)
        .where(CommissionLine.brand_id == brand_id, CommissionLine.leader_id == leader_id)
        .order_by(CommissionLine.id.desc())
    )
    if _status_filter(status) is not None:
        query = query.where(CommissionLine.status == status)
    lines, total = await fetch_page(session, query, params)
    balances = await service.leader_balances(session=session, brand_id=brand_id, leader_id=leader_id)
    return CommissionView(
        balances=balances, lines=await describe_lines(session=session, brand_id=brand_id, lines=lines), total=total
    )


def rule_text(rule: str) -> str:
    return rules.RULE_TEXT.get(rule, rule)
