"""A viewer opens the live room: the visit is recorded as `POST /api/v1/live-sessions/{id}/visits` records it
(`live.visits.record_visit`: one view each time the room is opened; through `?code=` the view counts for the
code's leader and a signed-in viewer is entered through the code, so opening the link binds first touch; the
funnel counts entries once per viewer). What the entry did is told as the API's answer tells it."""

from __future__ import annotations

from linli.context import AppContext
from linli.errors import DomainError
from linli.live import visits
from linli.web.visitor import Visitor


async def record_visit(ctx: AppContext, visitor: Visitor, session_id: int, code: str | None) -> tuple[str, bool]:
    """Records the visit; returns what to tell the viewer and whether it is a refusal. A bad code (unknown,
    revoked, another brand's) counts nothing, as the API refuses it, and the room is still shown."""
    try:
        async with ctx.db.transaction() as session:
            outcome = await visits.record_visit(
                session=session, session_id=session_id, user_id=visitor.user.id if visitor.user else None,
                invite_code=code, now=ctx.clock.now(),
            )
    except DomainError as exc:
        # Without a code only an unknown session fails here: the room itself then answers the 404 page.
        return (exc.message, True) if code else ("", False)
    return visits.entry_message(outcome), outcome.entry is not None and outcome.entry.result == "refused"
