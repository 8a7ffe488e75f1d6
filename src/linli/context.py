"""The application context: everything a request or a command needs, built once and injected."""

from __future__ import annotations

from dataclasses import dataclass

from linli.accounts.sms import InboxSmsSender, SmsSender
from linli.accounts.wechat import WeChatClient, wechat_client_for
from linli.clock import Clock, SystemClock
from linli.config import Settings
from linli.db import Database


@dataclass
class AppContext:
    settings: Settings
    db: Database
    clock: Clock
    sms_sender: SmsSender
    wechat: WeChatClient

    @classmethod
    def build(cls, settings: Settings, *, clock: Clock | None = None) -> AppContext:
        return cls(
            settings=settings,
            db=Database(settings.database_url),
            clock=clock or SystemClock(),
            sms_sender=InboxSmsSender(),
            wechat=wechat_client_for(settings),
        )
