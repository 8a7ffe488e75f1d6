"""The one Jinja2 environment of the pages: templates under `web/templates/`, the money, time and staleness filters, and
`render`, which every page answers through (CSRF token, cookies, no caching, the content security policy)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from linli.dashboards.exports import rate_text
from linli.http import app_context
from linli.money import yuan
from linli.timefmt import DEFAULT_TIMEZONE, format_local
from linli.web import csrf
from linli.web.visitor import Visitor, apply_cookies

TEMPLATES = Path(__file__).parent / "templates"
# Every script, style, image, font and request of a page comes from linli itself (no CDN, no inline script).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'"
)


def money_filter(fen: int) -> str:
    """Fen for people: 1234 → "¥12.34", -1234 → "-¥12.34"."""
    text = yuan(fen)
    return f"-¥{text[1:]}" if text.startswith("-") else f"¥{text}"


def time_filter(moment: datetime | None, timezone: str = DEFAULT_TIMEZONE) -> str:
    """An instant in the brand's time zone, the one Chinese format: "2026年12月1日 16:47"."""
    return format_local(moment, timezone) if moment is not None else ""


def staleness_text(seconds: float) -> str:
    """How old figures read from the replica are (`replica.staleness_of`), for people: "数据延迟约 3 秒"."""
    if seconds < 1:
        return "数据延迟不到 1 秒"
    if seconds < 120:
        return f"数据延迟约 {round(seconds)} 秒"
    if seconds < 2 * 3600:
        return f"数据延迟约 {round(seconds / 60)} 分钟"
    return f"数据延迟约 {round(seconds / 3600)} 小时"


environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,  # a misspelt variable is an error in the tests, not an empty spot on a page
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters["yuan"] = money_filter
environment.filters["local_time"] = time_filter
environment.filters["staleness"] = staleness_text
environment.filters["rate"] = rate_text  # basis points: 8500 → "85.00%", None → ""


def render(
    request: Request, visitor: Visitor | None, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    settings = app_context(request).settings
    binding = visitor.csrf_binding if visitor is not None else None
    html = environment.get_template(template).render(
        visitor=visitor,
        csrf_token=csrf.token_for(settings.secret_key, binding) if binding else "",
        csrf_field=csrf.FIELD,
        static=request.scope.get("root_path", "").rstrip("/") + "/static",
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"  # personal content and a CSRF token
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"  # invite codes in paths stay on linli
    apply_cookies(response, settings, visitor)
    return response
