"""Campaigns and daily jobs -> fire times -> one claim per fire in Redis -> deliveries.

Every instance runs a scheduler. A fire is claimed with SET NX and a lease; the winner turns it
into deliveries (or runs the daily job) and marks it done, so each fire happens once whichever
instance wins. After downtime, fires still inside their grace window are caught up once; later
ones are recorded as missed. A plan's last processed fire is kept in Redis, so editing a
campaign's times never reaches back before it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from redis.asyncio import Redis

from bot.appkeys import LIBRARY, REDIS, SETTINGS
from bot.push.campaigns import DEFAULT_GRACE, Campaign, load_campaigns
from bot.push.catalog import Catalog
from bot.push.fire_times import fire_times, walk
from bot.push.outbox import Outbox
from bot.push.targeting import DeliverySink, fire_deliveries
from bot.store import keys
from bot.store.groups import GroupRegistry
from bot.store.owned import delete_if_equal

log = logging.getLogger(__name__)

LEASE_SECONDS = 300
FIRE_RECORD_SECONDS = 40 * 24 * 3600
MISSED_LOG_LENGTH = 2000
SWEEP_SECONDS = 60
DONE, MISSED = "done", "missed"
# Move a plan's last processed fire forward only. KEYS: the hash. ARGV: plan, epoch.
_ADVANCE = """
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > current then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
"""


@dataclass(frozen=True, slots=True)
class Plan:
    """Something that fires: a campaign or a daily job; `times` lists fires in (start, end]."""

    name: str
    title: str
    grace: timedelta
    times: Callable[[datetime, datetime], list[datetime]]
    run: Callable[[datetime], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class MissedFire:
    """A fire found after its grace window: not sent, shown to officers."""

    plan: str
    title: str
    fire: datetime
    late_minutes: int


class Scheduler:
    """Fire campaigns and daily jobs on time, once across all instances."""

    def __init__(
        self,
        redis: Redis,
        outbox: DeliverySink,
        campaigns: Iterable[Campaign],
        catalog: Catalog,
        timezone: str,
    ) -> None:
        self._redis = redis
        self._outbox = outbox
        self.catalog = catalog
        self._registry = GroupRegistry(redis)
        self.tz = ZoneInfo(timezone)
        self.campaigns = tuple(campaigns)
        self.plans: dict[str, Plan] = {}
        self._aps: AsyncIOScheduler | None = None
        for campaign in self.campaigns:
            self._add(self._campaign_plan(campaign))

    def add_daily(
        self,
        name: str,
        at: str,
        job: Callable[[date], Awaitable[None]],
        grace: timedelta = DEFAULT_GRACE,
    ) -> None:
        """Run `job(day)` once a day at local time `at` ("07:30") on exactly one instance."""
        hour, minute = (int(part) for part in at.split(":"))
        trigger = CronTrigger(hour=hour, minute=minute, timezone=self.tz)

        async def run(fire: datetime) -> None:
            await job(fire.date())

        def times(start: datetime, end: datetime) -> list[datetime]:
            return list(walk(trigger, start, end))

        self._add(Plan(f"daily:{name}", name, grace, times, run))

    async def run_due(self, now: datetime | None = None) -> None:
        """Process every plan's fires up to `now` (default: the current time)."""
        now = now or datetime.now(self.tz)
        for plan in list(self.plans.values()):
            await self._run_safely(plan, now)

    async def start(self) -> None:
        """Catch up, then fire each plan at its times and sweep every minute for stragglers."""
        await self.run_due()
        self._aps = AsyncIOScheduler(timezone=self.tz)
        self._aps.add_job(self.run_due, "interval", seconds=SWEEP_SECONDS, id="sweep")
        for plan in self.plans.values():
            self._schedule(plan)
        self._aps.start()

    async def stop(self) -> None:
        """Stop firing; a fire in progress keeps its lease until it expires."""
        if self._aps:
            self._aps.shutdown(wait=False)
            self._aps = None

    def _add(self, plan: Plan) -> None:
        self.plans[plan.name] = plan
        if self._aps:
            self._schedule(plan)

    def _schedule(self, plan: Plan) -> None:
        assert self._aps is not None
        self._aps.add_job(
            self._run_plan_now, _PlanTrigger(plan), args=[plan.name], id=plan.name,
            replace_existing=True, coalesce=True, misfire_grace_time=None,
        )  # fmt: skip

    async def _run_plan_now(self, name: str) -> None:
        await self._run_safely(self.plans[name], datetime.now(self.tz))

    async def _run_safely(self, plan: Plan, now: datetime) -> None:
        try:
            await self._run_plan(plan, now)
        except Exception:
            log.exception("scheduler: plan %s failed; it is retried on the next sweep", plan.name)

    async def _run_plan(self, plan: Plan, now: datetime) -> None:
        last = await self._redis.hget(keys.PLAN_LAST_FIRE, plan.name)
        if last is None:
            # First sight of a plan: it starts now; nothing before its publication is sent.
            await self._redis.hsetnx(keys.PLAN_LAST_FIRE, plan.name, int(now.timestamp()))
            return
        # The mark moves to `now` once every fire up to now is finished, so a campaign edited
        # to earlier times never reaches back; a fire held by another instance stops it there.
        mark = now
        for fire in plan.times(datetime.fromtimestamp(int(last), self.tz), now):
            if not await self._claim_and_run(plan, fire, now):
                mark = fire - timedelta(seconds=1)
                break
        epoch = int(mark.timestamp())
        await self._redis.eval(_ADVANCE, 1, keys.PLAN_LAST_FIRE, plan.name, epoch)

    async def _claim_and_run(self, plan: Plan, fire: datetime, now: datetime) -> bool:
        """Process one fire unless it is held elsewhere; return True when it is finished."""
        key = keys.fire_claim(plan.name, int(fire.timestamp()))
        lease = f"lease:{uuid.uuid4().hex}"
        if not await self._redis.set(key, lease, nx=True, ex=LEASE_SECONDS):
            return await self._redis.get(key) in (DONE, MISSED)
        if now - fire > plan.grace:
            await self._record_missed(plan, fire, now)
            await self._redis.set(key, MISSED, ex=FIRE_RECORD_SECONDS)
            return True
        try:
            await plan.run(fire)
        except BaseException:
            await delete_if_equal(self._redis, key, lease)
            raise
        await self._redis.set(key, DONE, ex=FIRE_RECORD_SECONDS)
        return True

    async def _record_missed(self, plan: Plan, fire: datetime, now: datetime) -> None:
        late = int((now - fire).total_seconds() // 60)
        log.warning("scheduler: %s fire %s is %d minutes late; not sent", plan.name, fire, late)
        fields: dict[Any, Any] = {
            "plan": plan.name, "title": plan.title, "fire": fire.isoformat(), "late": late
        }  # fmt: skip
        await self._redis.xadd(keys.MISSED_FIRES, fields, maxlen=MISSED_LOG_LENGTH)

    def _campaign_plan(self, campaign: Campaign) -> Plan:
        async def run(fire: datetime) -> None:
            deliveries = await fire_deliveries(
                self._redis, self._registry, self.catalog, campaign, fire
            )
            queued = await self._outbox.enqueue(deliveries)
            log.info("campaign %s fire %s: %d deliveries queued", campaign.id, fire, queued)

        def times(start: datetime, end: datetime) -> list[datetime]:
            return fire_times(campaign, start, end)

        name = f"campaign:{campaign.id}"
        return Plan(name, campaign.title, campaign.timing.grace, times, run)


async def missed_fires(redis: Redis, limit: int = 50) -> list[MissedFire]:
    """Return the most recent fires that came too late to send, newest first."""
    entries = await redis.xrevrange(keys.MISSED_FIRES, count=limit) or []
    return [
        MissedFire(
            plan=str(fields["plan"]),
            title=str(fields["title"]),
            fire=datetime.fromisoformat(str(fields["fire"])),
            late_minutes=int(fields["late"]),
        )
        for _, fields in entries
        if fields
    ]


class _PlanTrigger(BaseTrigger):  # type: ignore[misc]
    """An APScheduler trigger over a plan's own fire times."""

    LOOKAHEAD = timedelta(days=31)

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    def get_next_fire_time(self, previous: datetime | None, now: datetime) -> datetime | None:
        start = max(previous, now) if previous else now - timedelta(microseconds=1)
        for month in range(13):
            found = self.plan.times(
                start + self.LOOKAHEAD * month, start + self.LOOKAHEAD * (month + 1)
            )
            if found:
                return found[0]
        return None

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("plan triggers live in memory only")


SCHEDULER = web.AppKey("scheduler", Scheduler)
DailyJob = Callable[[web.Application, date], Awaitable[None]]
DAILY_JOBS = web.AppKey("daily_jobs", list[tuple[str, str, DailyJob]])


def add_daily_job(app: web.Application, name: str, at: str, job: DailyJob) -> None:
    """Have the app's scheduler run `job(app, day)` daily at local time `at`, on one instance.

    Call it while building the app, before or after setup_scheduler.
    """
    jobs = app.get(DAILY_JOBS)
    if jobs is None:
        jobs = app[DAILY_JOBS] = []
    jobs.append((name, at, job))


def setup_scheduler(app: web.Application) -> None:
    """Load schedules/ now (a bad file stops start-up) and run the scheduler with the app."""
    settings = app[SETTINGS]
    catalog = Catalog.from_library(app[LIBRARY])
    campaigns = load_campaigns(settings.schedules_dir, catalog)

    async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
        redis = app[REDIS]
        scheduler = Scheduler(redis, Outbox(redis), campaigns, catalog, settings.timezone)
        for name, at, job in app.get(DAILY_JOBS, []):
            scheduler.add_daily(name, at, partial(job, app))
        app[SCHEDULER] = scheduler
        await scheduler.start()
        yield
        await scheduler.stop()

    app.cleanup_ctx.append(scheduler_ctx)
