"""Scheduling a live session and moving it through its run-of-show: create, change while scheduled,
start, advance the phase, end (closing every open offer) and cancel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.brands import service as brands
from linli.catalog import service as catalog
from linli.errors import Conflict, InvalidInput
from linli.live import service
from linli.live.models import CommunityOffer, LiveSession


# The article's three-part run-of-show (every brand may change it per session).
DEFAULT_PHASES: list[dict[str, Any]] = [
    {"code": "brand_story", "title": "品牌故事：源头直击，建立信任", "minutes": 20},
    {"code": "group_buy", "title": "社区专享团购", "minutes": 25},
    {"code": "add_leader", "title": "添加你的社区主理人", "minutes": 5},
]
PHASE_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_PHASES = 10
MAX_PHASE_MINUTES = 600
SCHEDULE_PAST = timedelta(days=1)
SCHEDULE_AHEAD = timedelta(days=366)


@dataclass(frozen=True)
class PhaseInput:
    code: str
    title: str
    minutes: int


@dataclass(frozen=True)
class SessionInput:
    title: str
    scheduled_start_at: datetime
    stream_url: str = ""
    cover_url: str = ""
    phases: list[PhaseInput] | None = None  # None: the default run-of-show


@dataclass(frozen=True)
class SessionPatch:
    """The fields to change; None leaves a field as it is."""

    title: str | None = None
    scheduled_start_at: datetime | None = None
    stream_url: str | None = None
    cover_url: str | None = None
    phases: list[PhaseInput] | None = None


def default_phases() -> list[dict[str, Any]]:
    return [dict(p) for p in DEFAULT_PHASES]


def _clean_phases(phases: list[PhaseInput]) -> list[dict[str, Any]]:
    if not 1 <= len(phases) <= MAX_PHASES:
        raise InvalidInput(f"直播环节须为 1 到 {MAX_PHASES} 个", code="phases_invalid")
    cleaned = []
    for phase in phases:
        code, title = phase.code.strip(), phase.title.strip()
        if not PHASE_CODE.match(code):
            raise InvalidInput("环节代码只能是小写字母开头的字母、数字和下划线", code="phases_invalid")
        if not 1 <= len(title) <= 32:
            raise InvalidInput("环节标题须为 1 到 32 个字", code="phases_invalid")
        if not 1 <= phase.minutes <= MAX_PHASE_MINUTES:
            raise InvalidInput(f"环节时长须为 1 到 {MAX_PHASE_MINUTES} 分钟", code="phases_invalid")
        cleaned.append({"code": code, "title": title, "minutes": phase.minutes})
    if len({p["code"] for p in cleaned}) != len(cleaned):
        raise InvalidInput("环节代码不能重复", code="phases_invalid")
    return cleaned


def _clean_title(title: str) -> str:
    title = title.strip()
    if not 1 <= len(title) <= 100:
        raise InvalidInput("直播标题须为 1 到 100 个字", code="session_title_invalid")
    return title


def _clean_start(at: datetime, now: datetime) -> datetime:
    if at.tzinfo is None:
        raise InvalidInput("开播时间须带时区", code="scheduled_start_invalid")
    if not now - SCHEDULE_PAST <= at <= now + SCHEDULE_AHEAD:
        raise InvalidInput("开播时间须在一天前到一年后之间", code="scheduled_start_invalid")
    return at


def _optional_url(value: str, *, label: str) -> str:
    value = value.strip()
    return catalog.clean_url(value, label=label) if value else ""


async def create_session(*, session: AsyncSession, brand_id: int, data: SessionInput, now: datetime) -> LiveSession:
    title = _clean_title(data.title)
    start = _clean_start(data.scheduled_start_at, now)
    stream_url = _optional_url(data.stream_url, label="直播流地址")
    cover_url = _optional_url(data.cover_url, label="封面图地址")
    phases = _clean_phases(data.phases) if data.phases is not None else default_phases()
    await brands.get_brand(session=session, brand_id=brand_id)
    live = LiveSession(
        brand_id=brand_id, title=title, stream_url=stream_url, cover_url=cover_url, scheduled_start_at=start,
        status="scheduled", phases=phases, current_phase=None, created_at=now,
    )
    session.add(live)
    await session.flush()
    service.emit_room(session, session_id=live.id, topic="live.session_scheduled", payload=service.session_card(live), now=now)
    return live


async def update_session(
    *, session: AsyncSession, brand_id: int, session_id: int, patch: SessionPatch, now: datetime
) -> LiveSession:
    """Only a scheduled session can be changed; a live one only moves through its transitions."""
    title = _clean_title(patch.title) if patch.title is not None else None
    start = _clean_start(patch.scheduled_start_at, now) if patch.scheduled_start_at is not None else None
    stream_url = _optional_url(patch.stream_url, label="直播流地址") if patch.stream_url is not None else None
    cover_url = _optional_url(patch.cover_url, label="封面图地址") if patch.cover_url is not None else None
    phases = _clean_phases(patch.phases) if patch.phases is not None else None
    live = await service.get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    if live.status != "scheduled":
        raise service.status_conflict(live, "修改")
    if title is not None:
        live.title = title
    if start is not None:
        live.scheduled_start_at = start
    if stream_url is not None:
        live.stream_url = stream_url
    if cover_url is not None:
        live.cover_url = cover_url
    if phases is not None:
        live.phases = phases
    await session.flush()
    service.emit_room(session, session_id=live.id, topic="live.session_updated", payload=service.session_card(live), now=now)
    return live


async def start_session(*, session: AsyncSession, brand_id: int, session_id: int, now: datetime) -> LiveSession:
    live = await service.get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    if live.status != "scheduled":
        raise service.status_conflict(live, "开播")
    live.status = "live"
    live.started_at = now
    live.current_phase = 0
    live.phase_started_at = now
    await session.flush()
    service.emit_room(session, session_id=live.id, topic="live.session_started", payload=service.session_card(live), now=now)
    return live


async def advance_phase(
    *, session: AsyncSession, brand_id: int, session_id: int, now: datetime, expected_phase: int | None = None
) -> LiveSession:
    """The next phase of the run-of-show. The last phase stays until the host ends the session.

    `expected_phase`: the phase index the host saw when they pressed the button. When given and the session
    has moved on meanwhile (a double submit, a second host), nothing changes: two presses advance once.
    """
    live = await service.get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    if live.status != "live":
        raise service.status_conflict(live, "切换环节")
    current = live.current_phase or 0
    if expected_phase is not None and expected_phase != current:
        phase = service.current_phase_card(live)
        raise Conflict(
            f"环节已切换到「{phase['title'] if phase else current + 1}」，未再次切换；请确认后再操作",
            code="phase_moved_on", details={"current_phase": current, "expected_phase": expected_phase},
        )
    if current + 1 >= len(live.phases):
        raise Conflict("已是最后一个环节，请结束直播", code="phase_last", details={"current_phase": current})
    live.current_phase = current + 1
    live.phase_started_at = now
    await session.flush()
    service.emit_room(
        session, session_id=live.id, topic="live.phase_changed",
        payload={"session_id": live.id, "previous_phase": current, "current_phase": service.current_phase_card(live)}, now=now,
    )
    return live


async def end_session(*, session: AsyncSession, brand_id: int, session_id: int, now: datetime) -> LiveSession:
    """live → ended; every open offer closes with it. Orders already placed stay as they are."""
    live = await service.get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    if live.status != "live":
        raise service.status_conflict(live, "结束")
    offers = await service.lock_open_offers(session, select(CommunityOffer).where(CommunityOffer.session_id == live.id))
    await service.close_offers(session, offers, reason="session_ended", now=now)
    live.status = "ended"
    live.ended_at = now
    await session.flush()
    service.emit_room(session, session_id=live.id, topic="live.session_ended", payload=service.session_card(live), now=now)
    return live


async def cancel_session(*, session: AsyncSession, brand_id: int, session_id: int, now: datetime) -> LiveSession:
    live = await service.get_brand_session(session=session, brand_id=brand_id, session_id=session_id, for_update=True)
    if live.status != "scheduled":
        raise service.status_conflict(live, "取消")
    live.status = "cancelled"
    live.ended_at = now
    await session.flush()
    service.emit_room(session, session_id=live.id, topic="live.session_cancelled", payload=service.session_card(live), now=now)
    return live

