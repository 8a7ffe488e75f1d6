"""Create forms that do their thing once: the page makes a key when it renders the form (`forms.new_key`), and
the route checks it before creating and seals it in the same transaction (`web.models.FormReceipt`).

    async with ctx.db.transaction() as session:
        await receipts.check(session, user_id=…, form_key=key)      # raises AlreadySubmitted
        created = await catalog.create_product(…)
        await receipts.seal(session, user_id=…, form_key=key, result_path=…, now=…)

The route catches `AlreadySubmitted` outside the transaction (so whatever it wrote is rolled back) and
redirects to where the first submit led. A post without a key (not from a page) is not deduplicated, as the
API's create endpoints are not.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linli.db import insert_unique
from linli.errors import Conflict
from linli.web.models import FormReceipt

MAX_KEY_LENGTH = 64


class AlreadySubmitted(Exception):
    """This form was carried out before; `result_path` is where it led."""

    def __init__(self, result_path: str) -> None:
        super().__init__(result_path)
        self.result_path = result_path


def usable(form_key: str) -> bool:
    return 0 < len(form_key) <= MAX_KEY_LENGTH


async def check(session: AsyncSession, *, user_id: int, form_key: str) -> None:
    if not usable(form_key):
        return
    done = await session.scalar(
        select(FormReceipt.result_path).where(FormReceipt.user_id == user_id, FormReceipt.form_key == form_key)
    )
    if done is not None:
        raise AlreadySubmitted(done)


async def seal(session: AsyncSession, *, user_id: int, form_key: str, result_path: str, now: datetime) -> None:
    """Records the form as carried out; when a concurrent submit of it sealed first, this one is undone."""
    if not usable(form_key):
        return
    receipt = FormReceipt(user_id=user_id, form_key=form_key, result_path=result_path, created_at=now)
    if not await insert_unique(session, receipt):
        await check(session, user_id=user_id, form_key=form_key)  # the other submit's row: go where it led
        raise Conflict("这份表单已提交过，请勿重复操作", code="form_submitted_twice")
