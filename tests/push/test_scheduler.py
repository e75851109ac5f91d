"""The scheduler on a real Redis: claims, catch-up, missed fires, edits, rotation, caps."""

from __future__ import annotations

import asyncio
import json
import sys
from asyncio.subprocess import PIPE
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.answers.content import ContentError
from bot.app import create_app
from bot.cli.main import main
from bot.library import Library
from bot.models import Delivery, Group, GroupKind, PushTarget
from bot.push.campaigns import Campaign, parse_campaign
from bot.push.catalog import Catalog
from bot.push.outbox import Outbox
from bot.push.scheduler import SCHEDULER, Scheduler, add_daily_job, missed_fires
from bot.settings import PROJECT_ROOT, Settings
from bot.store import keys
from bot.store.groups import GroupRegistry
from tests.support.outbox import queued

TIMEZONE = "Asia/Shanghai"
TZ = ZoneInfo(TIMEZONE)
HOURLY = """\
id: {id}
title: 每小时测试
what:
  items: [scams/laoshi, scams/shuren, alerts/shuadan-xuesheng]
to:
  kinds: [parents]
  exclude: [p-excluded]
when:
  cron: "{minute} * * * *"
  daily_cap: {cap}
  grace_minutes: 60
"""


class CountingOutbox(Outbox):
    """The real outbox, also remembering each enqueue call's deliveries."""

    def __init__(self, redis: Redis) -> None:
        super().__init__(redis)
        self.calls: list[list[Delivery]] = []

    async def enqueue(self, deliveries: Iterable[Delivery]) -> int:
        batch = list(deliveries)
        self.calls.append(batch)
        return await super().enqueue(batch)


@pytest.fixture(scope="module")
def catalog(library: Library) -> Catalog:
    return Catalog.from_library(library)


@pytest.fixture
def hourly(tmp_path: Path, catalog: Catalog) -> Campaign:
    return campaign(tmp_path, catalog, "hourly", minute=0)


def campaign(
    folder: Path, catalog: Catalog, name: str, minute: int = 0, cap: int = 20
) -> Campaign:
    path = folder / f"{name}.yaml"
    path.write_text(HOURLY.format(id=name, minute=minute, cap=cap), encoding="utf-8")
    parsed, problems = parse_campaign(path, catalog)
    assert parsed and not problems, problems
    return parsed


@pytest.fixture
async def groups(redis: Redis) -> GroupRegistry:
    registry = GroupRegistry(redis)
    for group in (
        Group(
            "p1", "一班家长群", GroupKind.PARENTS, "城关镇/一小", 40, target=PushTarget.SIMULATOR
        ),
        Group("p2", "二班家长群", GroupKind.PARENTS, "城关镇/一小", 41, target=PushTarget.ROBOT),
        Group("p-excluded", "排除", GroupKind.PARENTS, "城关镇", 9, target=PushTarget.SIMULATOR),
        Group("p-silent", "只提问", GroupKind.PARENTS, "城关镇", 9),
        Group(
            "v1",
            "幸福村村民群",
            GroupKind.VILLAGE,
            "城关镇/幸福村",
            300,
            target=PushTarget.SIMULATOR,
        ),
        Group("e1", "员工群", GroupKind.ENTERPRISE, "城关镇", 80, target=PushTarget.SIMULATOR),
    ):
        await registry.put(group)
    return registry


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=TZ)


def make(redis: Redis, catalog: Catalog, *campaigns: Campaign) -> tuple[Scheduler, CountingOutbox]:
    outbox = CountingOutbox(redis)
    return Scheduler(redis, outbox, campaigns, catalog, TIMEZONE), outbox


async def test_two_instances_turn_each_fire_into_deliveries_once(
    redis: Redis, groups: GroupRegistry, catalog: Catalog, hourly: Campaign
) -> None:
    first, first_box = make(redis, catalog, hourly)
    second, second_box = make(redis, catalog, hourly)
    await first.run_due(at(1, 9, 30))  # first sight: the campaign starts now
    await asyncio.gather(first.run_due(at(1, 10, 5)), second.run_due(at(1, 10, 5)))
    await asyncio.gather(second.run_due(at(1, 10, 6)), first.run_due(at(1, 10, 6)))
    assert len(first_box.calls) + len(second_box.calls) == 1
    fire = at(1, 10).isoformat()
    assert sorted(d.key for d in await queued(redis)) == [f"hourly|p1|{fire}", f"hourly|p2|{fire}"]


async def test_parents_push_never_reaches_other_groups(
    redis: Redis, groups: GroupRegistry, catalog: Catalog, hourly: Campaign
) -> None:
    scheduler, _ = make(redis, catalog, hourly)
    await scheduler.run_due(at(1, 9, 30))
    # Targeting happens at fire time: a group bound after the campaign loaded is included.
    await groups.put(
        Group("p3", "三班", GroupKind.PARENTS, "城关镇", 3, target=PushTarget.FORWARD)
    )
    await scheduler.run_due(at(1, 12, 30))
    reached = {d.group_id for d in await queued(redis)}
    assert reached == {"p1", "p2", "p3"}


async def test_rotation_exhausts_the_pool_before_repeating(
    redis: Redis, groups: GroupRegistry, catalog: Catalog, hourly: Campaign
) -> None:
    scheduler, _ = make(redis, catalog, hourly)
    await scheduler.run_due(at(1, 9, 30))
    for hour in range(10, 16):
        await scheduler.run_due(at(1, hour, 1))
    sent = [d.item_id for d in await queued(redis) if d.group_id == "p1"]
    assert sent == list(hourly.items) * 2
    assert len(set(sent[:3])) == 3


async def test_catch_up_within_grace_happens_once(
    redis: Redis, groups: GroupRegistry, catalog: Catalog, hourly: Campaign
) -> None:
    before, _ = make(redis, catalog, hourly)
    await before.run_due(at(1, 9, 30))
    # Down from 09:30 to 10:40; two instances come back and both catch up.
    restarted, box = make(redis, catalog, hourly)
    other, other_box = make(redis, catalog, hourly)
    await restarted.run_due(at(1, 10, 40))
    await other.run_due(at(1, 10, 41))
    await restarted.run_due(at(1, 10, 50))
    assert len(box.calls) + len(other_box.calls) == 1
    assert {d.key.rsplit("|", 1)[1] for d in await queued(redis)} == {at(1, 10).isoformat()}
    assert await missed_fires(redis) == []


async def test_fires_beyond_grace_are_recorded_missed_not_sent(
    redis: Redis, groups: GroupRegistry, catalog: Catalog, hourly: Campaign
) -> None:
    scheduler, box = make(redis, catalog, hourly)
    await scheduler.run_due(at(1, 9, 30))
    await scheduler.run_due(at(1, 12, 30))  # 10:00 is 2.5 h late, 11:00 1.5 h; 12:00 is on time
    await scheduler.run_due(at(1, 12, 40))
    assert {d.key.rsplit("|", 1)[1] for d in await queued(redis)} == {at(1, 12).isoformat()}
    missed = await missed_fires(redis)
    assert [(m.fire, m.late_minutes) for m in missed] == [(at(1, 11), 90), (at(1, 10), 150)]
    assert missed[0].plan == "campaign:hourly" and missed[0].title == "每小时测试"
    assert len(box.calls) == 1


async def test_editing_a_campaign_never_resends_past_fires(
    redis: Redis, groups: GroupRegistry, catalog: Catalog, tmp_path: Path
) -> None:
    original = campaign(tmp_path, catalog, "edited", minute=0)
    scheduler, _ = make(redis, catalog, original)
    await scheduler.run_due(at(1, 9, 30))
    await scheduler.run_due(at(1, 10, 20))
    # Republished with fires moved to :15 — 10:15 lies before the last processed fire's run.
    edited = campaign(tmp_path, catalog, "edited", minute=15)
    again, box = make(redis, catalog, edited)
    await again.run_due(at(1, 10, 20))
    republished, _ = make(redis, catalog, original)
    await republished.run_due(at(1, 10, 25))
    assert box.calls == []
    assert len(await queued(redis)) == 2
    await again.run_due(at(1, 11, 20))  # the edited time applies from the next fire on
    assert {d.key.rsplit("|", 1)[1] for d in await queued(redis)} == {
        at(1, 10).isoformat(),
        at(1, 11, 15).isoformat(),
    }


async def test_daily_cap_holds_across_campaigns(
    redis: Redis, groups: GroupRegistry, catalog: Catalog, tmp_path: Path
) -> None:
    early = campaign(tmp_path, catalog, "early", minute=0, cap=2)
    late = campaign(tmp_path, catalog, "late", minute=30, cap=2)
    scheduler, _ = make(redis, catalog, early, late)
    await scheduler.run_due(at(1, 9, 1))
    for hour in range(10, 14):
        await scheduler.run_due(at(1, hour, 45))
    fires = [d.key for d in await queued(redis) if d.group_id == "p1"]
    assert fires == [f"early|p1|{at(1, 10).isoformat()}", f"late|p1|{at(1, 10, 30).isoformat()}"]


async def test_daily_job_runs_once_across_instances(redis: Redis, catalog: Catalog) -> None:
    ran: list[date] = []

    async def job(day: date) -> None:
        ran.append(day)

    instances = [make(redis, catalog)[0] for _ in range(2)]
    for scheduler in instances:
        scheduler.add_daily("forward-packs", "07:30", job)
    await asyncio.gather(*(s.run_due(at(1, 7)) for s in instances))
    for day in (1, 2):
        await asyncio.gather(*(s.run_due(at(day, 7, 40)) for s in instances))
    assert ran == [date(2026, 12, 1), date(2026, 12, 2)]


async def test_a_failed_fire_is_retried_not_lost(redis: Redis, catalog: Catalog) -> None:
    attempts: list[date] = []

    async def flaky(day: date) -> None:
        attempts.append(day)
        if len(attempts) == 1:
            raise ConnectionError("redis went away")

    scheduler = make(redis, catalog)[0]
    scheduler.add_daily("pack", "07:30", flaky)
    await scheduler.run_due(at(1, 7))
    await scheduler.run_due(at(1, 7, 31))  # fails; logged; the claim is released
    await scheduler.run_due(at(1, 7, 35))
    await scheduler.run_due(at(1, 7, 36))
    assert attempts == [date(2026, 12, 1)] * 2


async def test_start_schedules_every_plan_and_stop_ends_it(
    redis: Redis, catalog: Catalog, hourly: Campaign
) -> None:
    scheduler, _ = make(redis, catalog, hourly)
    await scheduler.start()
    try:
        assert await redis.hget(keys.PLAN_LAST_FIRE, "campaign:hourly") is not None
        aps = scheduler._aps
        assert aps is not None
        job = aps.get_job("campaign:hourly")
        now = datetime.now(TZ)
        assert job.next_run_time > now and job.next_run_time - now <= timedelta(hours=1)
        assert job.next_run_time.minute == 0
    finally:
        await scheduler.stop()


async def test_the_app_runs_campaigns_and_daily_jobs(
    aiohttp_client: Any, settings: Settings, library: Library, redis: Redis
) -> None:
    days: list[date] = []

    async def pack(app: web.Application, day: date) -> None:
        days.append(day)

    app = create_app(settings, library)
    add_daily_job(app, "forward-packs", "07:30", pack)
    client: TestClient[Any, Any] = await aiohttp_client(app)
    scheduler = client.app[SCHEDULER]
    assert {"campaign:parents-monthly", "campaign:village-peak"} <= set(scheduler.plans)
    assert await redis.hget(keys.PLAN_LAST_FIRE, "campaign:village-peak") is not None
    # The job is wired to the app: run its plan for a fire as the scheduler would.
    await scheduler.plans["daily:forward-packs"].run(at(1, 7, 30))
    assert days == [date(2026, 12, 1)]


def test_a_bad_campaign_file_stops_start_up(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("id: broken\ntitle: 坏\n", encoding="utf-8")
    with pytest.raises(ContentError, match="broken.yaml:1: what"):
        create_app(replace(settings, schedules_dir=tmp_path))


INSTANCE = """
import asyncio, json, sys
from datetime import datetime
from pathlib import Path
from redis.asyncio import Redis
from bot.push.campaigns import parse_campaign
from bot.push.catalog import Catalog
from bot.push.outbox import Outbox
from bot.push.scheduler import Scheduler

class Counting(Outbox):
    calls = 0
    async def enqueue(self, deliveries):
        Counting.calls += 1
        return await super().enqueue(deliveries)

async def main(url, path, now):
    redis = Redis.from_url(url, decode_responses=True)
    campaign, problems = parse_campaign(Path(path), Catalog.from_content())
    scheduler = Scheduler(redis, Counting(redis), [campaign], Catalog.from_content(), "{tz}")
    await redis.blpop("test:go")  # both processes start together
    await scheduler.run_due(datetime.fromisoformat(now))
    await redis.aclose()
    print(json.dumps(Counting.calls))

asyncio.run(main(*sys.argv[1:]))
"""


async def test_two_processes_share_fires_and_misses_exactly_once(
    redis: Redis, groups: GroupRegistry, catalog: Catalog, tmp_path: Path, redis_server: Any
) -> None:
    path = tmp_path / "bi-hourly.yaml"
    text = HOURLY.format(id="bi-hourly", minute=0, cap=20).replace('"0 * * * *"', '"0 */2 * * *"')
    path.write_text(text.replace("grace_minutes: 60", "grace_minutes: 1440"), encoding="utf-8")
    start, now = at(1, 0, 30), at(4, 0, 30)
    await redis.hset(keys.PLAN_LAST_FIRE, "campaign:bi-hourly", int(start.timestamp()))
    script = INSTANCE.replace("{tz}", TIMEZONE)
    argv = [sys.executable, "-c", script, redis_server.url, str(path), now.isoformat()]
    processes = [
        await asyncio.create_subprocess_exec(*argv, cwd=PROJECT_ROOT, stdout=PIPE, stderr=PIPE)
        for _ in range(2)
    ]
    await redis.rpush("test:go", "1", "1")
    outputs = [await asyncio.wait_for(p.communicate(), 120) for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    calls = sum(json.loads(out) for out, _ in outputs)
    sent = [d.key for d in await queued(redis)]
    missed = await missed_fires(redis, limit=100)
    assert calls == 12  # 36 fires in three days; the last day's 12 are inside the grace
    assert len(sent) == len(set(sent)) == 12 * 2  # two parents groups per fire
    assert len(missed) == len({m.fire for m in missed}) == 24


def test_missed_command_lists_late_fires(
    redis_server: Any,
    catalog: Catalog,
    hourly: Campaign,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def miss_one() -> None:
        client = Redis.from_url(redis_server.url, decode_responses=True)
        await client.flushall()
        scheduler, _ = make(client, catalog, hourly)
        await scheduler.run_due(at(1, 9, 30))
        await scheduler.run_due(at(1, 11, 5))
        await client.aclose()

    asyncio.run(miss_one())
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setenv("FANZHA_DATA_DIR", str(tmp_path))
    assert main(["schedules", "missed"]) == 0
    out = capsys.readouterr().out
    assert out == "2026-12-01 10:00  每小时测试（campaign:hourly）  晚了 65 分钟，未发送\n"
