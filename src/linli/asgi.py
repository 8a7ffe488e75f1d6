"""ASGI entry point for multi-process serving (`linli serve --workers N`, or any ASGI server)."""

from linli.app import create_app
from linli.config import Settings
from linli.context import AppContext

app = create_app(AppContext.build(Settings.from_env()))
