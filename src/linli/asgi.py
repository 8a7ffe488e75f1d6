"""ASGI entry point for multi-process serving (`linli serve --workers N`, or any ASGI server)."""

from linli.app import create_app
from linli.config import Settings
from linli.context import AppContext
from linli.logs import configure_logging
from linli.serving import tune_garbage_collector

settings = Settings.from_env()
configure_logging(settings.log_format)  # each `--workers N` process logs like `linli serve` does
app = create_app(AppContext.build(settings))
tune_garbage_collector()  # each serving process, once its app is built
