"""Attribution: binding members to leaders through invite codes, the trail, transfers and disputes.

The rules are written for leaders in docs/attribution.md; this module is their only implementation.

Trail conventions (attribution_events, append-only: rows are inserted, never updated or deleted):
`leader_id` is the leader the member belongs to after the event (for `refused`: the leader whose
code was refused), `previous_leader_id` the leader before it (for `refused`: the member's current or
last leader). So a leader's own trail is every event naming them in either column.

Concurrency: the member's binding row is read with FOR UPDATE before any decision, and the unique
constraint on bindings.member_id settles two first entries racing past that read (SQLite serializes
write transactions anyway).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.accounts import service as accounts
from linli.attribution.models import AttributionEvent, Binding, BindingPolicy, Dispute
from linli.brands import service as brands
from linli.db import insert_unique
from linli.errors import Conflict, InvalidInput, NotFound
from linli.leaders import invite_codes
from linli.leaders import service as leaders
from linli.leaders.models import Leader
from linli.members import service as members
from linli.outbox.service import emit
from linli.pagination import PageParams, fetch_page
from linli.timefmt import format_local

if TYPE_CHECKING:
    from linli.accounts.models import User

MODES = ("permanent", "validity", "last_touch")
MAX_DAYS = 3650
DISPUTE_STATUSES = ("open", "upheld", "rejected")
DISPUTE_DECISIONS = ("upheld", "rejected")

# Why something happened, in words a leader reads in the trail (docs/attribution.md lists the same).
REASON_TEXT = {
    "first_entry": "首次通过邀请码进入，完成绑定",
    "after_expiry": "原绑定已到期，通过邀请码重新绑定",
    "last_touch": "最后触达模式：通过新团长的邀请码进入，改绑",
    "same_leader": "已绑定该团长，无需重复绑定",
    "already_bound": "已绑定其他团长，本次进入不改变归属",
    "protected": "当前绑定仍在保护期内，其他团长不能接走",
    "not_new_member": "品牌设置为仅绑定新用户，老用户不绑定",
    "purchase": "购买下单，绑定有效期顺延",
    "validity_ended": "绑定有效期已到，绑定结束",
    "leader_exit": "原团长已退出，由品牌转给同小区继任团长",
    "dispute_upheld": "团长申诉成立，由品牌改判归属",
}


# ---------------------------------------------------------------------------------------------
# Policy


@dataclass(frozen=True)
class Policy:
    mode: str
    validity_days: int
    protection_days: int
    only_new_members: bool
    updated_at: datetime | None
    updated_by_user_id: int | None

    def expires_at(self, now: datetime) -> datetime | None:
        return now + timedelta(days=self.validity_days) if self.mode == "validity" else None

    def protected_until(self, now: datetime) -> datetime | None:
        return now + timedelta(days=self.protection_days) if self.protection_days else None


DEFAULT_POLICY = Policy(
    mode="permanent", validity_days=30, protection_days=0, only_new_members=False, updated_at=None,
    updated_by_user_id=None,
)


def _policy_of(row: BindingPolicy) -> Policy:
    return Policy(
        mode=row.mode, validity_days=row.validity_days, protection_days=row.protection_days,
        only_new_members=row.only_new_members, updated_at=row.updated_at, updated_by_user_id=row.updated_by_user_id,
    )


async def get_policy(*, session: AsyncSession, brand_id: int) -> Policy:
    """The brand's binding policy; a brand that never set one has the defaults (permanent first touch)."""
    row = await session.get(BindingPolicy, brand_id)
    return DEFAULT_POLICY if row is None else _policy_of(row)


async def update_policy(
    *,
    session: AsyncSession,
    brand_id: int,
    mode: str,
    validity_days: int,
    protection_days: int,
    only_new_members: bool,
    actor_user_id: int,
    now: datetime,
) -> Policy:
    """Replaces the policy. Existing bindings keep the terms they were made with (future entries only)."""
    if mode not in MODES:
        raise InvalidInput("绑定模式只能是 permanent、validity 或 last_touch", code="binding_mode_invalid")
    if not 1 <= validity_days <= MAX_DAYS:
        raise InvalidInput("绑定有效期须在 1 到 3650 天之间", code="validity_days_invalid")
    if not 0 <= protection_days <= MAX_DAYS:
        raise InvalidInput("保护期须在 0 到 3650 天之间", code="protection_days_invalid")
    await brands.get_brand(session=session, brand_id=brand_id)
    values = dict(
        mode=mode, validity_days=validity_days, protection_days=protection_days, only_new_members=only_new_members,
        updated_at=now, updated_by_user_id=actor_user_id,
    )
    row = await session.get(BindingPolicy, brand_id, with_for_update=True)
    if row is None:
        row = BindingPolicy(brand_id=brand_id, **values)
        if await insert_unique(session, row):
            return _policy_of(row)
        # Another staff member created the row a moment ago: ours is the later change.
        row = await session.get(BindingPolicy, brand_id, with_for_update=True, populate_existing=True)
        assert row is not None
    for key, value in values.items():
        setattr(row, key, value)
    await session.flush()
    return _policy_of(row)


# ---------------------------------------------------------------------------------------------
# Binding state helpers


def is_active(binding: Binding | None, now: datetime) -> bool:
    """Active and not past its validity (an expiry not yet written down is still an expiry)."""
    return (
        binding is not None
        and binding.status == "active"
        and (binding.expires_at is None or binding.expires_at > now)
    )


def _is_protected(binding: Binding, now: datetime) -> bool:
    return binding.protected_until is not None and binding.protected_until > now


def _active_filter(now: datetime) -> ColumnElement[bool]:
    """The SQL twin of is_active()."""
    return (Binding.status == "active") & (Binding.expires_at.is_(None) | (Binding.expires_at > now))


async def _lock_binding(session: AsyncSession, member_id: int) -> Binding | None:
    return await session.scalar(
        select(Binding)
        .where(Binding.member_id == member_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _record(
    session: AsyncSession,
    *,
    brand_id: int,
    member_id: int,
    kind: str,
    reason: str,
    leader_id: int | None,
    previous_leader_id: int | None,
    occurred_at: datetime,
    invite_code: str | None = None,
    actor_user_id: int | None = None,
    note: str | None = None,
) -> AttributionEvent:
    event = AttributionEvent(
        brand_id=brand_id, member_id=member_id, kind=kind, reason=reason, leader_id=leader_id,
        previous_leader_id=previous_leader_id, invite_code=invite_code, actor_user_id=actor_user_id, note=note,
        occurred_at=occurred_at,
    )
    session.add(event)
    return event


def _expire(session: AsyncSession, binding: Binding) -> None:
    """Writes down an expiry; the event is dated at expires_at so that lazy and job detection agree."""
    assert binding.expires_at is not None
    binding.status = "expired"
    _record(
        session, brand_id=binding.brand_id, member_id=binding.member_id, kind="expired", reason="validity_ended",
        leader_id=None, previous_leader_id=binding.leader_id, occurred_at=binding.expires_at,
    )


def _expire_if_due(session: AsyncSession, binding: Binding, now: datetime) -> None:
    if binding.status == "active" and binding.expires_at is not None and binding.expires_at <= now:
        _expire(session, binding)


def _assign(
    binding: Binding,
    *,
    leader_id: int,
    source: str,
    invite_code: str | None,
    now: datetime,
    expires_at: datetime | None,
    protected_until: datetime | None,
) -> None:
    binding.leader_id = leader_id
    binding.status = "active"
    binding.source = source
    binding.invite_code = invite_code
    binding.bound_at = now
    binding.expires_at = expires_at
    binding.protected_until = protected_until


# ---------------------------------------------------------------------------------------------
# Entry through an invite code


@dataclass(frozen=True)
class EntryOutcome:
    """What one entry did. A refusal is an outcome, not an error: it is recorded and committed."""

    result: str  # bound, rebound, already_yours, refused
    reason: str  # a key of REASON_TEXT
    brand_id: int
    member_id: int
    leader_id: int  # the leader whose code was used
    member_created: bool
    binding: Binding | None  # the member's active binding after the entry, if any


async def enter_with_code(*, session: AsyncSession, user_id: int, raw_code: str, now: datetime) -> EntryOutcome:
    """A user opens an invite link: becomes a member of the code's brand and is bound per the brand's policy.

    Unusable codes raise (422 malformed, 404 unknown, 410 revoked/expired/leader inactive) and record
    nothing; entering through one's own code raises 409 `self_binding` and changes nothing.
    """
    resolved = await invite_codes.resolve(session=session, raw_code=raw_code, now=now)
    leader = resolved.leader
    code = resolved.invite.code
    member, created = await members.get_or_create_member(
        session=session, brand_id=leader.brand_id, user_id=user_id, now=now
    )
    if member.id == leader.member_id:
        raise Conflict("不能通过自己的邀请码绑定自己", code="self_binding")
    policy = await get_policy(session=session, brand_id=leader.brand_id)

    def outcome(result: str, reason: str, binding: Binding | None) -> EntryOutcome:
        return EntryOutcome(
            result=result, reason=reason, brand_id=leader.brand_id, member_id=member.id, leader_id=leader.id,
            member_created=created, binding=binding if is_active(binding, now) else None,
        )

    def refuse(reason: str, binding: Binding | None) -> EntryOutcome:
        _record(
            session, brand_id=leader.brand_id, member_id=member.id, kind="refused", reason=reason,
            leader_id=leader.id, previous_leader_id=binding.leader_id if binding else None, occurred_at=now,
            invite_code=code, actor_user_id=user_id,
        )
        return outcome("refused", reason, binding)

    def take(binding: Binding) -> None:
        _assign(
            binding, leader_id=leader.id, source="invite_code", invite_code=code, now=now,
            expires_at=policy.expires_at(now), protected_until=policy.protected_until(now),
        )

    def bound(binding: Binding, *, kind: str, reason: str, previous_leader_id: int | None) -> EntryOutcome:
        _record(
            session, brand_id=leader.brand_id, member_id=member.id, kind=kind, reason=reason, leader_id=leader.id,
            previous_leader_id=previous_leader_id, occurred_at=now, invite_code=code, actor_user_id=user_id,
        )
        return outcome("rebound" if kind == "rebound" else "bound", reason, binding)

    binding = await _lock_binding(session, member.id)
    if binding is None:
        if policy.only_new_members and not created:
            return refuse("not_new_member", None)
        fresh = Binding(brand_id=leader.brand_id, member_id=member.id)
        take(fresh)
        if await insert_unique(session, fresh):
            # The member's first binding ever: a new member of the brand (later rebindings and transfers are not).
            emit(session, topic="member.bound", payload={
                "member_id": member.id, "brand_id": leader.brand_id, "leader_id": leader.id, "bound_at": now.isoformat()
            }, now=now)
            return bound(fresh, kind="bound", reason="first_entry", previous_leader_id=None)
        # A concurrent first entry bound this member a moment ago: continue as "already bound".
        binding = await _lock_binding(session, member.id)
        assert binding is not None

    _expire_if_due(session, binding, now)
    if binding.status == "active":
        if binding.leader_id == leader.id:
            return outcome("already_yours", "same_leader", binding)  # entries never renew; purchases do
        if policy.mode != "last_touch":
            return refuse("already_bound", binding)
        if _is_protected(binding, now):
            return refuse("protected", binding)
        previous = binding.leader_id
        take(binding)
        return bound(binding, kind="rebound", reason="last_touch", previous_leader_id=previous)
    # The previous binding has ended: a new binding, still subject to protection and only-new-members.
    if binding.leader_id != leader.id and _is_protected(binding, now):
        return refuse("protected", binding)
    if policy.only_new_members:
        return refuse("not_new_member", binding)
    previous = binding.leader_id
    take(binding)
    return bound(binding, kind="bound", reason="after_expiry", previous_leader_id=previous)


# ---------------------------------------------------------------------------------------------
# Purchases, expiry and counts (called by orders, the job and leaders)


async def renew_on_purchase(*, session: AsyncSession, member_id: int, now: datetime) -> Binding | None:
    """A purchase by the member: extends an expiring binding to now + validity_days (never shortens it).

    Returns the member's active binding (the leader the order is attributed to), or None if unbound.
    Permanent bindings have nothing to renew and record nothing.
    """
    binding = await _lock_binding(session, member_id)
    if binding is None:
        return None
    _expire_if_due(session, binding, now)
    if binding.status != "active":
        return None
    if binding.expires_at is None:
        return binding
    policy = await get_policy(session=session, brand_id=binding.brand_id)
    renewed_until = now + timedelta(days=policy.validity_days)
    if renewed_until > binding.expires_at:
        binding.expires_at = renewed_until
        timezone = (await brands.get_brand(session=session, brand_id=binding.brand_id)).timezone
        _record(
            session, brand_id=binding.brand_id, member_id=member_id, kind="renewed", reason="purchase",
            leader_id=binding.leader_id, previous_leader_id=None, occurred_at=now,
            note=f"有效期至 {format_local(renewed_until, timezone)}",
        )
    return binding


async def expire_bindings(*, session: AsyncSession, now: datetime, brand_id: int | None = None) -> int:
    """Writes down every binding whose validity ended by `now`; running it again finds nothing more."""
    query = (
        select(Binding)
        .where(Binding.status == "active", Binding.expires_at.is_not(None), Binding.expires_at <= now)
        .order_by(Binding.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if brand_id is not None:
        query = query.where(Binding.brand_id == brand_id)
    due = (await session.scalars(query)).all()
    for binding in due:
        _expire(session, binding)
    await session.flush()
    return len(due)


async def active_binding(*, session: AsyncSession, member_id: int, now: datetime) -> Binding | None:
    """The member's binding if it is in force now (read only; the leader an order is attributed to)."""
    binding = await session.scalar(select(Binding).where(Binding.member_id == member_id))
    return binding if is_active(binding, now) else None


@dataclass(frozen=True)
class FirstBinding:
    """Who first bound a member, when, and whether that entry brought the member in new (ledger: referral reward)."""

    leader_id: int
    bound_at: datetime
    brought_in_new: bool


async def first_binding_of(*, session: AsyncSession, member_id: int) -> FirstBinding | None:
    """The member's first binding ever (None if never bound), from the append-only trail.

    "Brought in new" means the member became a member of the brand by that very entry: the member's
    first trail event is that `bound / first_entry` and it happened when the member row was created
    (`enter_with_code` creates both with the same instant). A member who existed before (visited the
    live room, was refused, ordered unbound) was not brought in new by the leader who bound them later.
    """
    first = await session.scalar(
        select(AttributionEvent).where(AttributionEvent.member_id == member_id).order_by(AttributionEvent.id).limit(1)
    )
    bound = first if first is not None and first.kind == "bound" else await session.scalar(
        select(AttributionEvent)
        .where(AttributionEvent.member_id == member_id, AttributionEvent.kind == "bound")
        .order_by(AttributionEvent.id)
        .limit(1)
    )
    if bound is None or bound.leader_id is None:
        return None
    member = await members.members_by_ids(session=session, member_ids={member_id})
    joined_at = member[member_id].joined_at if member_id in member else None
    brought_in_new = bound is first and bound.reason == "first_entry" and joined_at == bound.occurred_at
    return FirstBinding(leader_id=bound.leader_id, bound_at=bound.occurred_at, brought_in_new=brought_in_new)


async def count_active_bindings(*, session: AsyncSession, leader_ids: set[int], now: datetime) -> dict[int, int]:
    """Members currently bound to each leader (the basis of leader levels); expired bindings do not count."""
    if not leader_ids:
        return {}
    rows = await session.execute(
        select(Binding.leader_id, func.count())
        .where(Binding.leader_id.in_(leader_ids), _active_filter(now))
        .group_by(Binding.leader_id)
    )
    counts = {leader_id: 0 for leader_id in leader_ids}
    counts.update({leader_id: count for leader_id, count in rows.all()})
    return counts


async def community_member_ids(*, session: AsyncSession, brand_id: int, community_id: int, now: datetime) -> list[int]:
    """Members bound now to a leader of the community (also one who left and whose members were not moved yet), by
    member id: a coupon campaign's audience."""
    rows = await session.scalars(
        select(Binding.member_id)
        .join(Leader, Leader.id == Binding.leader_id)
        .where(Binding.brand_id == brand_id, Leader.community_id == community_id, _active_filter(now))
        .order_by(Binding.member_id)
    )
    return list(rows)


# ---------------------------------------------------------------------------------------------
# Reading bindings and the trail


async def member_binding(*, session: AsyncSession, brand_id: int, user_id: int, now: datetime) -> Binding | None:
    """The caller's own active binding in a brand (None if not a member or not bound)."""
    await brands.get_brand(session=session, brand_id=brand_id)
    member = await members.find_member(session=session, brand_id=brand_id, user_id=user_id)
    if member is None:
        return None
    return await active_binding(session=session, member_id=member.id, now=now)


async def leader_members(
    *, session: AsyncSession, brand_id: int, leader_id: int, now: datetime, params: PageParams
) -> tuple[list[Binding], int]:
    query = (
        select(Binding)
        .where(Binding.brand_id == brand_id, Binding.leader_id == leader_id, _active_filter(now))
        .order_by(Binding.bound_at.desc(), Binding.id.desc())
    )
    return await fetch_page(session, query, params)


def _trail_query(brand_id: int) -> Select:
    return select(AttributionEvent).where(AttributionEvent.brand_id == brand_id).order_by(AttributionEvent.id.desc())


async def leader_trail(
    *, session: AsyncSession, brand_id: int, leader_id: int, params: PageParams
) -> tuple[list[AttributionEvent], int]:
    """Events naming this leader: members who came, left, were refused to them or moved away. Newest first."""
    query = _trail_query(brand_id).where(
        or_(AttributionEvent.leader_id == leader_id, AttributionEvent.previous_leader_id == leader_id)
    )
    return await fetch_page(session, query, params)


async def member_trail(
    *, session: AsyncSession, brand_id: int, member_id: int, params: PageParams
) -> tuple[list[AttributionEvent], int]:
    """The whole trail of one member (brand staff). Newest first."""
    await members.get_member(session=session, brand_id=brand_id, member_id=member_id)
    return await fetch_page(session, _trail_query(brand_id).where(AttributionEvent.member_id == member_id), params)


@dataclass(frozen=True)
class MemberInfo:
    member_id: int
    phone: str | None  # unmasked: the API masks it
    display_name: str


@dataclass(frozen=True)
class LeaderInfo:
    leader_id: int
    name: str
    status: str
    community_id: int
    community_name: str
    badge: str


async def describe(
    *, session: AsyncSession, brand_id: int, member_ids: set[int], leader_ids: set[int]
) -> tuple[dict[int, MemberInfo], dict[int, LeaderInfo]]:
    """Names, phones and badges for showing bindings, events and disputes, through the owning contexts."""
    leader_rows = await leaders.leaders_by_ids(session=session, leader_ids=leader_ids)
    member_rows = await members.members_by_ids(
        session=session, member_ids=member_ids | {lead.member_id for lead in leader_rows.values()}
    )
    users = await accounts.users_by_ids(session=session, user_ids={m.user_id for m in member_rows.values()})
    communities = await brands.communities_by_ids(
        session=session, community_ids={lead.community_id for lead in leader_rows.values()}
    )
    brand_name = (await brands.get_brand(session=session, brand_id=brand_id)).name

    def user_of(member_id: int) -> User | None:
        member = member_rows.get(member_id)
        return users.get(member.user_id) if member else None

    member_info = {}
    for member_id in member_ids:
        user = user_of(member_id)
        member_info[member_id] = MemberInfo(
            member_id=member_id, phone=user.phone if user else None, display_name=user.display_name if user else ""
        )
    leader_info = {}
    for lead in leader_rows.values():
        user = user_of(lead.member_id)
        community = communities.get(lead.community_id)
        community_name = community.name if community else ""
        leader_info[lead.id] = LeaderInfo(
            leader_id=lead.id, name=(user.display_name if user and user.display_name else lead.real_name),
            status=lead.status, community_id=lead.community_id, community_name=community_name,
            badge=leaders.badge_text(community_name=community_name, brand_name=brand_name),
        )
    return member_info, leader_info


# ---------------------------------------------------------------------------------------------
# Transfer when a leader exits


async def transfer_members(
    *, session: AsyncSession, brand_id: int, from_leader_id: int, to_leader_id: int, actor_user_id: int, now: datetime
) -> int:
    """Moves every member bound to an exited leader to the active successor of the same community.

    Only `exited` leaders: a suspended leader still holds the community, so no active successor can
    exist there. Each moved binding keeps its expiry and gets a fresh protection period.
    """
    if from_leader_id == to_leader_id:
        raise InvalidInput("继任团长不能是原团长本人", code="transfer_same_leader")
    # Both leader rows are locked in id order so that a concurrent status change waits for us.
    locked = {}
    for leader_id in sorted((from_leader_id, to_leader_id)):
        locked[leader_id] = await leaders.get_leader(
            session=session, brand_id=brand_id, leader_id=leader_id, for_update=True
        )
    source, successor = locked[from_leader_id], locked[to_leader_id]
    if source.status != "exited":
        raise Conflict("只能转移已退出团长的用户", code="transfer_leader_not_exited")
    if successor.status != "active":
        raise Conflict("继任团长必须是在任团长", code="transfer_successor_inactive")
    if successor.community_id != source.community_id:
        raise InvalidInput("只能转给同一小区的继任团长", code="transfer_other_community")
    policy = await get_policy(session=session, brand_id=brand_id)
    bindings = (
        await session.scalars(
            select(Binding)
            .where(Binding.leader_id == from_leader_id, Binding.status == "active")
            .order_by(Binding.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).all()
    moved = 0
    for binding in bindings:
        _expire_if_due(session, binding, now)
        if binding.status != "active":
            continue
        _assign(
            binding, leader_id=to_leader_id, source="transfer", invite_code=None, now=now,
            expires_at=binding.expires_at, protected_until=policy.protected_until(now),
        )
        _record(
            session, brand_id=brand_id, member_id=binding.member_id, kind="transferred", reason="leader_exit",
            leader_id=to_leader_id, previous_leader_id=from_leader_id, occurred_at=now, actor_user_id=actor_user_id,
        )
        moved += 1
    await session.flush()
    return moved


# ---------------------------------------------------------------------------------------------
# Disputes


def _require_text(value: str | None, message: str) -> str:
    if value is None or not value.strip():
        raise InvalidInput(message, code="reason_required")
    if len(value.strip()) > 500:
        raise InvalidInput("原因不能超过 500 字", code="reason_too_long")
    return value.strip()


async def open_dispute(
    *, session: AsyncSession, brand_id: int, leader_id: int, member_id: int, reason: str, now: datetime
) -> Dispute:
    """A leader claims a member bound elsewhere. Only members whose trail names this leader can be claimed,
    and every other member answers the same 404, so that claims cannot be used to probe members."""
    reason = _require_text(reason, "请填写申诉理由")
    involved = await session.scalar(
        select(
            exists().where(
                AttributionEvent.brand_id == brand_id,
                AttributionEvent.member_id == member_id,
                or_(AttributionEvent.leader_id == leader_id, AttributionEvent.previous_leader_id == leader_id),
            )
        )
    )
    if not involved:
        raise NotFound("没有找到与您有关的该用户", code="dispute_member_not_found")
    binding = await _lock_binding(session, member_id)
    if not is_active(binding, now):
        raise Conflict("该用户当前未绑定任何团长，无需申诉", code="member_not_bound")
    assert binding is not None
    if binding.leader_id == leader_id:
        raise Conflict("该用户已绑定您，无需申诉", code="dispute_own_member")
    dispute = Dispute(
        brand_id=brand_id, member_id=member_id, claimant_leader_id=leader_id, bound_leader_id=binding.leader_id,
        reason=reason, status="open", opened_at=now,
    )
    if not await insert_unique(session, dispute):  # the partial unique index: one open claim per member
        raise Conflict("您对该用户已有待处理的申诉", code="dispute_exists")
    return dispute


async def resolve_dispute(
    *,
    session: AsyncSession,
    brand_id: int,
    dispute_id: int,
    decision: str,
    reason: str,
    actor_user_id: int,
    now: datetime,
) -> Dispute:
    """Staff decide. Upheld rebinds the member to the claimant (fresh terms under today's policy,
    protection notwithstanding); rejected changes no binding. Either way the reason is kept."""
    if decision not in DISPUTE_DECISIONS:
        raise InvalidInput("处理结果只能是 upheld 或 rejected", code="dispute_decision_invalid")
    reason = _require_text(reason, "请填写处理理由")
    dispute = await session.get(Dispute, dispute_id, with_for_update=True, populate_existing=True)
    if dispute is None or dispute.brand_id != brand_id:
        raise NotFound("申诉不存在", code="dispute_not_found")
    if dispute.status != "open":
        raise Conflict("该申诉已处理", code="dispute_closed")
    if decision == "upheld":
        await _uphold(session, dispute, actor_user_id=actor_user_id, now=now)
    dispute.status = decision
    dispute.resolution_reason = reason
    dispute.resolved_by_user_id = actor_user_id
    dispute.resolved_at = now
    await session.flush()
    return dispute


async def _uphold(session: AsyncSession, dispute: Dispute, *, actor_user_id: int, now: datetime) -> None:
    claimant = await leaders.get_leader(
        session=session, brand_id=dispute.brand_id, leader_id=dispute.claimant_leader_id
    )
    if claimant.status != "active":
        raise Conflict("申诉团长已不在任，不能改判给该团长", code="claimant_inactive")
    policy = await get_policy(session=session, brand_id=dispute.brand_id)
    binding = await _lock_binding(session, dispute.member_id)
    assert binding is not None  # a dispute is only opened on a bound member and bindings are never deleted
    _expire_if_due(session, binding, now)
    if binding.status == "active" and binding.leader_id == claimant.id:
        return  # already theirs (e.g. they re-entered after an expiry): nothing to move
    previous = binding.leader_id
    _assign(
        binding, leader_id=claimant.id, source="dispute", invite_code=None, now=now,
        expires_at=policy.expires_at(now), protected_until=policy.protected_until(now),
    )
    _record(
        session, brand_id=dispute.brand_id, member_id=dispute.member_id, kind="transferred", reason="dispute_upheld",
        leader_id=claimant.id, previous_leader_id=previous, occurred_at=now, actor_user_id=actor_user_id,
        note=f"申诉 #{dispute.id}",
    )


async def list_disputes(
    *,
    session: AsyncSession,
    brand_id: int,
    status: str | None,
    params: PageParams,
    claimant_leader_id: int | None = None,
) -> tuple[list[Dispute], int]:
    if status is not None and status not in DISPUTE_STATUSES:
        raise InvalidInput("申诉状态只能是 open、upheld 或 rejected", code="dispute_status_filter_invalid")
    query = select(Dispute).where(Dispute.brand_id == brand_id).order_by(Dispute.id.desc())
    if status is not None:
        query = query.where(Dispute.status == status)
    if claimant_leader_id is not None:
        query = query.where(Dispute.claimant_leader_id == claimant_leader_id)
    return await fetch_page(session, query, params)
