"""A viewer opens the live room: the visit is recorded as `POST /api/v1/live-sessions/{id}/visits` records it
(`live.visits.record_visit`: one view each time the room is opened; through `?code=` the view counts for the
code's leader and a signed-in viewer is entered through the code, so opening the link binds first touch; the
funnel counts entries once per viewer). What the entry did is told as the API's answer tells it."""

from __future__ import annotations

from linli.attribution import service as attribution
from linli.context import AppContext
from linli.errors import DomainError
from linli.live import visits
from linli.live.api import ENTRY_MESSAGES
from linli.web.visitor import Visitor


def entry_message(outcome: visits.VisitOutcome) -> str:
    """The API's `entry.message` (`live.api._entry_out`): own code, bound, already yours, or why not."""
    if outcome.own_code:
        return ENTRY_MESSAGES["own_code"]
    entry = outcome.entry
    if entry is None:
        return ""
    if entry.result == "refused":
        return f"{attribution.REASON_TEXT[entry.reason]}。您可以正常观看和购买，归属不变"
    return ENTRY_MESSAGES[entry.result]


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
    return entry_message(outcome), outcome.entry is not None and outcome.entry.result == "refused"
