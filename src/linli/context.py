"""The application context: everything a request or a command needs, built once and injected."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from linli.accounts.sms import SmsSender, sms_sender_for
from linli.accounts.wechat import WeChatClient, wechat_client_for
from linli.clock import Clock, SystemClock
from linli.config import Settings
from linli.db import Database
from linli.payments.providers import PaymentProvider, build_providers
from linli.payouts.providers import PayoutProvider, build_payout_providers
from linli.storage import FileStorage, build_storage

if TYPE_CHECKING:
    from linli.live.hub import RoomHub


@dataclass
class AppContext:
    settings: Settings
    db: Database
    clock: Clock
    sms_sender: SmsSender
    wechat: WeChatClient
    payments: dict[str, PaymentProvider] = field(default_factory=dict)  # by name; see linli.payments.providers
    payouts: dict[str, PayoutProvider] = field(default_factory=dict)  # by name; see linli.payouts.providers
    storage: FileStorage | None = None  # uploaded files; None: the local folder of settings.media_path
    # The live room's fan-out in this process, made on first use by linli.live.hub.hub_for.
    room_hub: RoomHub | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.storage is None:
            self.storage = build_storage(self.settings)

    async def stop_background(self) -> None:
        """Stops what this context runs in the background (the room hub's tails and LISTEN connection).

        The database is left open: whoever made it disposes of it, after this.
        """
        hub, self.room_hub = self.room_hub, None
        if hub is not None:
            await hub.close()

    @classmethod
    def build(cls, settings: Settings, *, clock: Clock | None = None, providers: bool = True) -> AppContext:
        """providers=False: for a command that never pays nor pays out, so no payment provider need be configured."""
        return cls(
            settings=settings,
            db=Database(
                settings.database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow,
                replica_url=settings.read_database_url,
            ),
            clock=clock or SystemClock(),
            sms_sender=sms_sender_for(settings),
            wechat=wechat_client_for(settings),
            payments=build_providers(settings) if providers else {},
            payouts=build_payout_providers(settings) if providers else {},
        )
