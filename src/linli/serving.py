"""How a serving process sets up its Python runtime (`linli serve`, one process or each of `--workers N`)."""

from __future__ import annotations

import gc

# Young objects are collected after this many allocations (Python's default is 700). A room of thousands of
# viewers keeps thousands of connections alive, and each event sends to all of them: with the default, a
# collection often catches the sends in flight and promotes their objects, so full collections come every few
# seconds, and each one walks every connection (a pause of about a second at 5,000 viewers, measured with
# `linli bench live-room`). Rarer young collections promote far less; cycles are still collected.
YOUNG_THRESHOLD = 50_000


def tune_garbage_collector() -> None:
    """Everything imported and built so far (the app, its modules) is frozen out of collection, and the young
    generation is collected less often (see YOUNG_THRESHOLD)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
