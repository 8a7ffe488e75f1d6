"""docs/api.md lists every route the application serves."""

from pathlib import Path

from linli.app import create_app


def test_every_route_is_documented(ctx):
    documented = Path(__file__).parents[1].joinpath("docs", "api.md").read_text()
    schema = create_app(ctx, dispose_on_shutdown=False).openapi()
    missing = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method in operations
        if f"| {method.upper()} | `{path}` |" not in documented
    ]
    assert missing == [], f"add these to docs/api.md: {missing}"
