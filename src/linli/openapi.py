"""The OpenAPI document and the /docs page: who may call each operation, what it answers when it refuses, and
Swagger UI from assets linli serves itself (the page must work without the internet).

Most of what an operation can refuse is read off the route: one that needs the caller's token answers 401 and
403, one that takes an optional token 401, one with path parameters 404, one with any input 422. A router (or a
route) declares the rest with `responses=errors(...)`: 404 for ids in a body, 409 conflicts, 410 a dead invite
code, 413 an upload too large, 429 rate limits, 502 a provider down.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from copy import deepcopy
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.routing import BaseRoute

from linli.http import current_user, optional_user

STATIC_DIR = Path(__file__).parent / "static"
SWAGGER_UI = "/static/vendor/swagger-ui"
ERROR_REF = "#/components/schemas/ErrorResponse"
BEARER = "bearer"

ERROR_DESCRIPTIONS = {
    400: "请求无效",
    401: "未登录，或登录凭证无效、已过期、已注销（code 说明原因）",
    403: "无权执行此操作（不是该品牌员工、不是本人或本自提点团长等）",
    404: "资源不存在（或无权知道它是否存在）",
    409: "与当前状态冲突（已售罄、状态不对、重复提交等）",
    410: "邀请码已失效",
    413: "上传内容过大",
    422: "请求参数无效（details 指出字段）",
    429: "操作过于频繁，请稍后再试",
    502: "外部服务（微信支付、微信登录等）暂时不可用，请稍后重试",
    503: "服务器缺少所需的组件（如生成图片用的中文字体），请联系管理员",
}
REPLAY_DESCRIPTION = "同一 Idempotency-Key、同样内容的重放：返回第一次的结果"


class ErrorBody(BaseModel):
    code: str = Field(description="稳定的错误代码，如 offer_sold_out", examples=["offer_sold_out"])
    message: str = Field(description="给人看的中文说明", examples=["专享名额已抢完"])
    details: Any = Field(default=None, description="补充信息，如参数错误的字段列表")


class ErrorResponse(BaseModel):
    error: ErrorBody


class WeChatNotifyReply(BaseModel):
    """What a WeChat Pay notify endpoint answers: SUCCESS, or FAIL and WeChat Pay retries."""

    code: str = Field(examples=["SUCCESS"])
    message: str = Field(examples=["成功"])


def wechat_notify_responses() -> dict[int | str, dict[str, Any]]:
    """`responses=` of a WeChat Pay notify route: its answers are WeChat's shape, not linli's error body."""
    fail = {
        401: "验签失败", 404: "微信支付未启用", 409: "与当前状态冲突", 422: "通知内容无效",
        500: "处理失败，微信支付会重试", 502: "查询微信支付失败，微信支付会重试",
    }
    return {
        200: {"model": WeChatNotifyReply, "description": "已处理（含重复通知）"},
        **{status: {"model": WeChatNotifyReply, "description": text} for status, text in fail.items()},
    }


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a router or a route: the refusals it can answer beyond those read off each route."""
    return {status: {"description": ERROR_DESCRIPTIONS[status]} for status in statuses}


def _calls(dependant: Dependant) -> set[Any]:
    found = set()
    for sub in dependant.dependencies:
        found.add(sub.call)
        found |= _calls(sub)
    return found


def _is_validation_error(response: dict) -> bool:
    return "HTTPValidationError" in json.dumps(response.get("content", {}))


def _describe_operation(operation: dict, route: RouteContext) -> None:
    calls = _calls(route.dependant)
    auth = "required" if current_user in calls else "optional" if optional_user in calls else None
    if auth == "optional":
        operation["security"] = [{}, {BEARER: []}]  # anonymous, or a bearer token that must then be valid
    parameters = operation.get("parameters", [])
    derived = set()
    if auth:
        derived.add(401)
    if auth == "required":
        derived.add(403)  # every signed-in route checks whose resource it is (brand staff, the leader, the member)
    if any(p["in"] == "path" for p in parameters):
        derived.add(404)
    if parameters or "requestBody" in operation:
        derived.add(422)
    responses = operation["responses"]
    for status in derived:
        responses.setdefault(str(status), {"description": ERROR_DESCRIPTIONS[status]})
    for status, response in responses.items():
        if int(status) < 400:
            continue
        if _is_validation_error(response):
            response["description"] = ERROR_DESCRIPTIONS[422]
        elif "content" in response:
            continue  # a body of its own (WeChat Pay's reply shape)
        response["content"] = {"application/json": {"schema": {"$ref": ERROR_REF}}}
    headers = {p["name"].lower() for p in parameters if p["in"] == "header"}
    if route.status_code == 201 and "idempotency-key" in headers:
        responses["200"] = {"description": REPLAY_DESCRIPTION, "content": deepcopy(responses["201"]["content"])}
    operation["responses"] = dict(sorted(responses.items()))


def describe(schema: dict, routes: Sequence[BaseRoute]) -> None:
    """Completes FastAPI's document in place: optional security, every refusal with the error body, replays."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(error_schema.pop("$defs"))
    components["ErrorResponse"] = error_schema
    # Routes as FastAPI itself walks them for the document: included routers carry their prefix and dependencies.
    for route in iter_route_contexts(routes):
        if isinstance(route.original_route, APIRoute) and route.include_in_schema:
            for method in route.methods:
                _describe_operation(schema["paths"][route.path_format][method.lower()], route)
    # FastAPI's own validation body is never what linli answers, and no 422 above points at it any more.
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)


def install_api_docs(app: FastAPI) -> None:
    """/openapi.json completed by `describe`, the vendored assets under /static and Swagger UI at /docs."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            describe(generate(), app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")  # behind a proxy that serves linli under a prefix
        assets = root + SWAGGER_UI
        return get_swagger_ui_html(
            openapi_url=root + (app.openapi_url or "/openapi.json"),
            title=f"{app.title} · API",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon-32x32.png",
            # No online validator badge (it calls validator.swagger.io); keep the token across reloads.
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )
