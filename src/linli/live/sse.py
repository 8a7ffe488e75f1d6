"""Server-Sent Events framing for the live room: one event (or comment) per text chunk."""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import to_jsonable_python

HEARTBEAT = ": heartbeat\n\n"


def format_event(*, event: str, data: Any, event_id: int | None = None) -> str:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    body = json.dumps(to_jsonable_python(data), ensure_ascii=False, separators=(",", ":"))
    lines.append(f"data: {body}")  # json.dumps never emits a raw newline
    return "\n".join(lines) + "\n\n"


def session_ended(*, session_id: int, status: str | None) -> str:
    return format_event(event="session_ended", data={"session_id": session_id, "status": status})
