"""Refusals on pages: a Chinese HTML page in the base layout with the right status (never JSON, never a stack
trace), and the redirect to sign-in for a protected page seen by a visitor who is not signed in."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from linli.web.templating import render
from linli.web.visitor import SignInRequired, signin_url

TITLES = {
    401: "请先登录",
    403: "无权访问",
    404: "页面不存在",
    405: "页面不存在",
    409: "操作未完成",
    410: "链接已失效",
    413: "内容过大",
    422: "链接或输入有误",
    429: "操作过于频繁",
}


def error_page(request: Request, *, status_code: int, message: str) -> Response:
    visitor = getattr(request.state, "visitor", None)
    title = TITLES.get(status_code, "出错了")
    return render(request, visitor, "error.html", status_code=status_code, title=title, message=message)


def install_error_pages(app: FastAPI) -> None:
    app.state.error_page = error_page

    @app.exception_handler(SignInRequired)
    async def _sign_in(_request: Request, exc: SignInRequired) -> RedirectResponse:
        return RedirectResponse(signin_url(exc.next_path), status_code=303)
