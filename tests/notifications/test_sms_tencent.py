"""An SMS push through Tencent Cloud SMS (the real SDK against the accounts tests' local stand-in): sent with the
approved notice template and the push's text as its variable; a refusal about the number fails the push with the
reason, an outage is retried; without a notice template the push is never silently dropped."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest

from linli.accounts.sms import sms_sender_for
from linli.notifications import pushes
from linli.notifications.delivery import Dispatcher
from linli.notifications.models import Push
from tests.accounts.test_tencent_sms import TENCENT, TencentStandIn, recorded


@pytest.fixture
def tencent() -> Iterator[TencentStandIn]:
    stand_in = TencentStandIn()
    yield stand_in
    stand_in.close()


def with_tencent(ctx, tencent: TencentStandIn, **overrides):  # noqa: ANN001, ANN003, ANN201
    settings = ctx.settings.with_overrides(**TENCENT, sms_tencent_endpoint=tencent.endpoint, **overrides)
    return dataclasses.replace(ctx, settings=settings, sms_sender=sms_sender_for(settings))


async def sms_push(ctx, scene) -> int:  # noqa: ANN001
    async with ctx.db.transaction() as s:
        done = await pushes.enqueue(
            session=s, brand_id=scene.brand_id, title="草莓到货", body="明早 9 点自提", tag="value", kind="announcement",
            dedupe_key="sms-1", now=ctx.clock.now(), base_url=ctx.settings.public_base_url, channel="sms",
            recipients=[scene.members[0].user_id],
        )
    return done.pushes[0].id


async def state_of(ctx, push_id: int) -> Push:  # noqa: ANN001
    async with ctx.db.read() as s:
        return await s.get(Push, push_id)


async def test_a_notice_goes_out_with_the_notice_template(ctx, scene, tencent):
    changed = with_tencent(ctx, tencent, sms_tencent_notice_template_id="1234567")
    push_id = await sms_push(changed, scene)
    assert (await Dispatcher.for_context(changed).deliver_due(now=ctx.clock.now())).sent == 1
    body = json.loads(tencent.requests[0]["body"])
    assert body["TemplateId"] == "1234567" and body["TemplateParamSet"] == ["草莓到货：明早 9 点自提"]
    assert body["PhoneNumberSet"] == ["+86" + scene.members[0].phone]
    assert (await state_of(ctx, push_id)).state == "sent"


@pytest.mark.parametrize(("answer", "state"), [("phone_in_blacklist", "failed"), ("insufficient_balance", "pending")])
async def test_a_refused_number_fails_at_once_and_an_outage_is_retried(ctx, scene, tencent, answer, state):
    changed = with_tencent(ctx, tencent, sms_tencent_notice_template_id="1234567")
    tencent.answer = (200, recorded(answer))
    push_id = await sms_push(changed, scene)
    await Dispatcher.for_context(changed).deliver_due(now=ctx.clock.now())
    push = await state_of(ctx, push_id)
    assert (push.state, push.attempts) == (state, 1)
    assert ("sms_phone_blocked" if state == "failed" else "sms_unavailable") in (push.reason or push.last_error)


async def test_without_a_notice_template_the_push_is_retried_and_says_why(ctx, scene, tencent):
    changed = with_tencent(ctx, tencent)
    push_id = await sms_push(changed, scene)
    await Dispatcher.for_context(changed).deliver_due(now=ctx.clock.now())
    push = await state_of(ctx, push_id)
    assert push.state == "pending" and "LINLI_SMS_TENCENT_NOTICE_TEMPLATE_ID" in push.last_error
    assert tencent.requests == []
