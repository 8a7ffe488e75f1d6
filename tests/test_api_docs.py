"""The API description: docs/api.md lists every route, and /openapi.json tells a client the truth about who may
call each operation, what it answers when it refuses, and /docs works without the internet."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import httpx

from linli.app import create_app

ROOT = Path(__file__).parents[1]
ERROR_REF = "#/components/schemas/ErrorResponse"
# WeChat Pay expects its own reply shape ({"code": "FAIL", "message": ...}) from a notify endpoint.
WECHAT_NOTIFY = {"/api/v1/payments/wechatpay/notify", "/api/v1/payouts/wechatpay/notify"}


def _schema(ctx) -> dict:
    return create_app(ctx, dispose_on_shutdown=False).openapi()


def _operations(schema: dict):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def _concrete(path: str, operation: dict, integer: str = "1") -> str:
    """The path with every parameter filled: `integer` for an integer id, a code no one holds for a string."""
    kinds = {p["name"]: p["schema"].get("type") for p in operation.get("parameters", []) if p["in"] == "path"}
    return re.sub(r"\{(\w+)\}", lambda m: integer if kinds[m.group(1)] == "integer" else "NOSUCHCODE", path)


def _streams(operation: dict) -> bool:
    return any("text/event-stream" in r.get("content", {}) for r in operation["responses"].values())


def test_every_route_is_documented(ctx):
    documented = ROOT.joinpath("docs", "api.md").read_text()
    missing = [
        f"{method.upper()} {path}"
        for path, method, _operation in _operations(_schema(ctx))
        if f"| {method.upper()} | `{path}` |" not in documented
    ]
    assert missing == [], f"add these to docs/api.md: {missing}"


def _bearer_scheme_names(schema: dict) -> set[str]:
    schemes = schema.get("components", {}).get("securitySchemes", {})
    return {name for name, s in schemes.items() if s.get("type") == "http" and s.get("scheme") == "bearer"}


def _refused_for(answer: httpx.Response, code: str) -> bool:
    """A 401 about the bearer token (a callback's bad signature or a wrong password is another 401)."""
    return answer.status_code == 401 and answer.json()["error"]["code"] == code


async def test_security_and_refusals_match_what_each_operation_really_does(client, ctx, world):
    """Every operation is called without a token, with a forged one and with a stranger's real one: an
    operation that answers 401 without a token declares the bearer scheme (required), one that only refuses a
    forged token declares it optional, the others declare none; every 4xx answered is a declared response."""
    schema = _schema(ctx)
    bearer = _bearer_scheme_names(schema)
    assert bearer, "no HTTP bearer security scheme in components.securitySchemes"
    stranger = await world.user()
    wrong, undeclared = [], set()
    for path, method, operation in _operations(schema):
        if _streams(operation):
            continue
        url = _concrete(path, operation)
        anonymous = await client.request(method, url)
        forged = await client.request(method, url, headers={"Authorization": "Bearer forged-token"})
        answers = [anonymous, forged]
        if "/auth/logout" not in path:  # a stranger logging out would end the token the loop goes on with
            answers.append(await client.request(method, url, headers=stranger.headers))
        security = operation.get("security")
        if _refused_for(anonymous, "unauthorized"):
            expected = [{name: []} for name in sorted(bearer)]
        elif _refused_for(forged, "token_invalid"):
            expected = [{}] + [{name: []} for name in sorted(bearer)]
        else:
            expected = None
        if security != expected:
            wrong.append((method.upper(), path, security, expected))
        for answer in answers:
            status = answer.status_code
            if 400 <= status < 500 and str(status) not in operation["responses"]:
                undeclared.add((method.upper(), path, status, answer.text[:80]))
    assert wrong == [], wrong
    assert undeclared == set(), sorted(undeclared)


def test_each_operation_lists_its_error_responses(ctx):
    schema = _schema(ctx)
    components = schema["components"]["schemas"]
    assert components["ErrorResponse"]["required"] == ["error"]
    error_ref = components["ErrorResponse"]["properties"]["error"]["$ref"].rsplit("/", 1)[-1]
    assert set(components[error_ref]["required"]) == {"code", "message"}
    problems = []
    for path, method, operation in _operations(schema):
        name = f"{method.upper()} {path}"
        responses = operation["responses"]
        errors = {int(code) for code in responses if code.startswith("4")}
        if path != "/healthz" and not errors:
            problems.append((name, "no error response"))
        if operation.get("security") and 401 not in errors:
            problems.append((name, "protected but no 401"))
        if any(p["in"] == "path" for p in operation.get("parameters", [])) and 404 not in errors:
            problems.append((name, "path parameters but no 404"))
        if (operation.get("parameters") or operation.get("requestBody")) and 422 not in errors:
            problems.append((name, "inputs but no 422"))
        if path in WECHAT_NOTIFY:
            continue
        for code in errors:
            body = responses[str(code)].get("content", {}).get("application/json", {}).get("schema", {})
            if body.get("$ref") != ERROR_REF:
                problems.append((name, code, body))
    assert problems == [], problems
    operations = {(m.upper(), p): o for p, m, o in _operations(schema)}
    for key, statuses in {
        ("POST", "/api/v1/orders"): {401, 403, 404, 409, 422},
        ("POST", "/api/v1/auth/sms-codes"): {422, 429},
        ("GET", "/api/v1/invite-codes/{code}"): {404, 410, 422},
        ("POST", "/api/v1/orders/{order_id}/claims"): {401, 403, 404, 409, 413, 422},
        ("POST", "/api/v1/brands/{brand_id}/leader/withdrawals"): {401, 403, 404, 409, 422},
    }.items():
        declared = {int(code) for code in operations[key]["responses"] if code.startswith("4")}
        assert statuses <= declared, (key, statuses - declared)


def test_idempotent_replays_declare_their_200(ctx):
    """An operation that answers 201 the first time and 200 for a replay of the same request says both."""
    schema = _schema(ctx)
    replaying = {
        ("POST", "/api/v1/orders"),
        ("POST", "/api/v1/orders/{order_id}/claims"),
        ("POST", "/api/v1/orders/{order_id}/payments"),
        ("POST", "/api/v1/brands/{brand_id}/leader/withdrawals"),
        ("POST", "/api/v1/brands/{brand_id}/orders/{order_id}/refund"),
        ("POST", "/api/v1/brands/{brand_id}/coupon-templates/{template_id}/issue"),
        ("POST", "/api/v1/brands/{brand_id}/coupon-campaigns"),
        ("POST", "/api/v1/brands/{brand_id}/interest-groups/{group_id}/pushes"),
    }
    keyed = set()
    for path, method, operation in _operations(schema):
        headers = {p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"}
        if "idempotency-key" in headers and "201" in operation["responses"]:
            keyed.add((method.upper(), path))
    assert keyed <= replaying, keyed - replaying
    for path, method, operation in _operations(schema):
        if (method.upper(), path) not in replaying:
            continue
        responses = operation["responses"]
        assert {"200", "201"} <= set(responses), (path, sorted(responses))
        assert responses["200"]["content"] == responses["201"]["content"], path


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


async def test_docs_page_loads_only_assets_served_by_linli(client):
    page = await client.get("/docs")
    assert page.status_code == 200
    links = _Links()
    links.feed(page.text)
    urls = links.urls + re.findall(r"""url: ['"]([^'"]+)['"]""", page.text)
    assert len(urls) >= 4, urls  # stylesheet, icon, script and the OpenAPI document
    assert re.findall(r"https?://", page.text) == [], "the page names another host"
    expected_types = {".js": "javascript", ".css": "text/css", ".png": "image/png", ".json": "application/json"}
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = await client.get(url)
        assert asset.status_code == 200, url
        kind = expected_types[Path(httpx.URL(url).path).suffix]
        assert kind in asset.headers["content-type"], (url, asset.headers["content-type"])
    assert (await client.get("/redoc")).status_code == 404  # redoc would need a CDN: it is off
    served = (await client.get("/openapi.json")).json()  # the document the page loads is the completed one
    assert _bearer_scheme_names(served) and "ErrorResponse" in served["components"]["schemas"]


def test_vendored_assets_are_package_data_with_their_licence():
    vendor = ROOT / "src" / "linli" / "static" / "vendor"
    files = [p.relative_to(ROOT / "src" / "linli").as_posix() for p in vendor.rglob("*") if p.is_file()]
    assert "static/vendor/swagger-ui/swagger-ui-bundle.js" in files
    assert "static/vendor/swagger-ui/LICENSE" in files
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["linli"]
    unpackaged = [f for f in files if not any(fnmatch.fnmatch(f, pattern) for pattern in patterns)]
    assert unpackaged == []
    readme = (vendor / "README.md").read_text()
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-dist@5.35.0", "Apache-2.0"):
        assert name in readme
