"""Structured log lines for `linli serve` and `linli worker`, configured in one place.

Each line is one event with its fields: `key=value` text by default, one JSON object per line when
`LINLI_LOG_FORMAT=json`. Code logs an event with `log_event(logger, "worker.batch", events=12, …)`; any
other record (uvicorn's, a library's) is rendered the same way with its message as `msg`.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

FORMATS = ("text", "json")
_FIELDS = "linli_fields"
_EVENT = "linli_event"


def log_event(
    logger: logging.Logger, event: str, *, level: int = logging.INFO, exc_info: BaseException | None = None, **fields: Any
) -> None:
    """Logs `event` with its fields (counts, durations, ids), whatever the output format; `exc_info` adds an
    exception's traceback (`exc_type`, `exc`)."""
    logger.log(level, event, exc_info=exc_info, extra={_EVENT: event, _FIELDS: fields})


def _base(record: logging.LogRecord) -> dict[str, Any]:
    at = datetime.fromtimestamp(record.created, UTC)
    base: dict[str, Any] = {
        "ts": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
        "level": record.levelname.lower(),
        "logger": record.name,
    }
    event = getattr(record, _EVENT, None)
    if event is not None:
        base["event"] = event
    else:
        base["msg"] = record.getMessage()
    base.update(getattr(record, _FIELDS, None) or {})
    if record.exc_info and record.exc_info[0] is not None:
        base["exc_type"] = record.exc_info[0].__name__
        base["exc"] = logging.Formatter().formatException(record.exc_info)
    return base


def _text_value(value: Any) -> str:
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    elif isinstance(value, bool):
        value = "true" if value else "false"
    elif value is None:
        value = "null"
    text = str(value)
    if text == "" or any(c in text for c in ' "=\n\t\\'):
        return json.dumps(text, ensure_ascii=False)  # quoted, with \n and \" escaped: still one line
    return text


class TextFormatter(logging.Formatter):
    """`ts=… level=info logger=linli.worker event=worker.batch events=12 duration_ms=8`, one line per record."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{key}={_text_value(value)}" for key, value in _base(record).items())


class JsonFormatter(logging.Formatter):
    """One JSON object per line, the same keys as the text format."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_base(record), ensure_ascii=False, default=str)


def formatter_for(log_format: str) -> logging.Formatter:
    if log_format not in FORMATS:
        raise ValueError(f"LINLI_LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}")
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure_logging(log_format: str, *, stream: TextIO | None = None, level: int = logging.INFO) -> None:
    """Sends every record (linli's, uvicorn's, libraries') to one handler on stderr in the chosen format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter_for(log_format))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()  # propagate to the root handler instead
        logging.getLogger(name).propagate = True
