"""/healthz: liveness for anyone, the worker's figures for brand staff only; /metrics behind its token."""

from __future__ import annotations

from datetime import UTC, datetime

from linli.scheduler.runner import Scheduler
from linli.worker import build_registry, run_once
from tests.ledger.helpers import buy, complete
from tests.orders.setup import bound_member, build_stage
from tests.scheduler.test_observability import seed_outbox

TEN_PAST_MIDNIGHT = datetime(2026, 11, 20, 16, 10, tzinfo=UTC)


async def _stage_with_a_settled_day(ctx, world, clock):
    stage = await build_stage(world)
    # A member bound before the worker's pass: its member.bound is delivered with the other due events.
    member = await bound_member(world, stage.leader)
    order_id = await buy(ctx, stage, await bound_member(world, stage.leader), quantity=2)
    await complete(ctx, order_id)
    clock.set(TEN_PAST_MIDNIGHT)
    await seed_outbox(ctx)
    await run_once(ctx, build_registry(ctx), scheduler=Scheduler(check_every=Scheduler.for_context(ctx).check_every, name="w1"))
    return stage, member


async def test_healthz_shows_figures_to_staff_only(ctx, world, clock, client):
    stage, member = await _stage_with_a_settled_day(ctx, world, clock)
    other_brand = await world.brand("别家优选", slug="other")
    other_owner = await world.staff(other_brand, login_name="other-owner")

    for headers in ({}, stage.leader.actor.headers, member.headers):
        answer = await client.get("/healthz", headers=headers)
        assert answer.status_code == 200 and answer.json() == {"status": "ok"}
    assert (await client.get("/healthz", headers={"Authorization": "Bearer forged"})).status_code == 401

    staff = (await client.get("/healthz", headers=stage.owner.headers)).json()
    assert staff["status"] == "ok"
    # the two due events were delivered by the pass; the failing one and the one waiting for its retry remain
    assert staff["outbox"] | {"oldest_pending_at": None} == {
        "pending": 2, "due": 0, "retrying": 2, "failing": 1, "oldest_pending_at": None,
        "oldest_pending_age_seconds": 1800.0,
        "failing_topics": {"refund.requested": 1},
    }
    assert [(w["name"], w["alive"], w["seen_seconds_ago"]) for w in staff["workers"]] == [("w1", True, 0)]
    jobs = {(j["job"], j["scope"]): j for j in staff["jobs"]}
    assert set(jobs) == {("settle", f"brand:{stage.brand_id}"), ("interest-groups", f"brand:{stage.brand_id}"),
                         ("care", f"brand:{stage.brand_id}"), ("expire-bindings", "all"), ("payouts-sync", "all"), ("kit-reminders", "all"),
                         ("prune-outbox", "all")}
    settle = jobs[("settle", f"brand:{stage.brand_id}")]
    assert (settle["period"], settle["status"], settle["counts"]["lines"]) == ("2026-11-21", "succeeded", 1)

    other = (await client.get("/healthz", headers=other_owner.headers)).json()  # another brand's staff
    assert {(j["job"], j["scope"]) for j in other["jobs"]} == {("expire-bindings", "all"), ("payouts-sync", "all"),
                                                             ("kit-reminders", "all"), ("prune-outbox", "all")}


async def test_metrics_are_off_without_a_token_and_need_it(ctx, world, clock, client):
    stage, _ = await _stage_with_a_settled_day(ctx, world, clock)
    off = await client.get("/metrics")
    assert off.status_code == 404 and off.json()["error"]["code"] == "metrics_disabled"

    ctx.settings = ctx.settings.with_overrides(metrics_token="s3cret-scrape-token")
    for headers in ({}, stage.owner.headers, stage.leader.actor.headers, {"Authorization": "Bearer wrong"}):
        refused = await client.get("/metrics", headers=headers)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "metrics_token_invalid"
    scraped = await client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
    lines = scraped.text.splitlines()
    assert "# TYPE linli_outbox_pending_events gauge" in lines
    assert "linli_outbox_pending_events 2" in lines
    assert 'linli_outbox_failing_events{topic="refund.requested"} 1' in lines
    assert f'linli_job_last_run_succeeded{{job="settle",scope="brand:{stage.brand_id}"}} 1' in lines
    assert 'linli_worker_last_seen_seconds{worker="w1"} 0' in lines
    due = f'linli_job_last_due_timestamp_seconds{{job="settle",scope="brand:{stage.brand_id}"}}'
    assert f"{due} {TEN_PAST_MIDNIGHT.timestamp():g}" in lines
