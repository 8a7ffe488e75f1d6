"""Posting a comment in the live room, `POST /live/{id}/comments`: `live.comments.post_comment`, exactly what
`POST /api/v1/live-sessions/{id}/comments` runs (signed in, while live, 1–100 characters, at most one per 3
seconds and 10 a minute). A refusal is the room again with the service's message beside the field, the text
kept, and the refusal's status; a comment posted goes back to the room, where every viewer (this one too)
receives it from the SSE stream as `live.comment`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from linli.brands.schemas import IdPath
from linli.errors import DomainError
from linli.http import Ctx
from linli.live import comments
from linli.web.live_room import render_room
from linli.web.signin import FormState
from linli.web.visitor import CheckedVisitor, SignInRequired

router = APIRouter()
# Generous: the length rule is the service's, whose message is shown beside the field.
CommentText = Annotated[str, Form(max_length=2000)]


@router.post("/live/{session_id}/comments")
async def post_comment(
    request: Request, ctx: Ctx, visitor: CheckedVisitor, session_id: IdPath, body: CommentText = ""
) -> Response:
    if visitor.user is None:
        raise SignInRequired(f"/live/{session_id}")
    try:
        async with ctx.db.transaction() as session:
            await comments.post_comment(
                session=session, session_id=session_id, user_id=visitor.user.id, body=body, now=ctx.clock.now()
            )
    except DomainError as exc:
        if exc.status_code == 404:
            raise  # no such room: the 404 page
        form = FormState(values={"body": body})
        form.refuse(exc, "body")
        return await render_room(request, ctx, visitor, session_id, comment_form=form, status_code=exc.status_code)
    return RedirectResponse(f"/live/{session_id}#comments", status_code=303)
