"""Read the reach counters for one period and region: totals, days, questions, quiz, unmatched.

Everything here only reads Redis. The region "" stands for every group (dimension all).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar, cast

from redis.asyncio import Redis

from bot.answers.matcher import KnowledgeBase
from bot.models import Group, GroupKind
from bot.quiz.stats import quiz_stats
from bot.store import keys, metrics, reach
from bot.store.groups import REGION_SEPARATOR, in_region, split_region
from bot.store.reach import Measure, Unique

UNMATCHED_PAGE = 500
# Reads in flight at once: each holds a pooled Redis connection (the pool allows 100).
CONCURRENCY = 8
_T = TypeVar("_T")
# Quiz questions about no scam in particular (quiz_stats files them under "").
GENERAL_QUESTIONS = "防骗常识"
# Pushes that come from no schedules/ campaign, by their Delivery.campaign.
QUIZ_PUSHES = "quiz"
PUSH_SOURCES = {"console": "控制台发布的内容", "alert": "紧急预警", QUIZ_PUSHES: "答题定时消息"}
# Pushes counted without a campaign (recorded before every push carried one).
OTHER_PUSHES = ""
OTHER_PUSHES_TITLE = "其他推送"


@dataclass(frozen=True, slots=True)
class Reach:
    """What one region (or group set) reached over a period."""

    measures: Mapping[Measure, int]
    readers: int
    quiz_players: int
    pledgers: int
    members: int
    groups: int

    @property
    def coverage(self) -> float | None:
        """Return unique readers / registered members, at most 1; None without members."""
        return min(1.0, self.readers / self.members) if self.members > 0 else None

    @property
    def receipts_per_member(self) -> float | None:
        """Return receipts per registered member; None without members."""
        return self.measures[Measure.RECEIPTS] / self.members if self.members > 0 else None

    @property
    def quiz_accuracy(self) -> float | None:
        """Return correct answers / answers; None when nobody answered."""
        answers = self.measures[Measure.QUIZ_ANSWERS]
        return self.measures[Measure.QUIZ_CORRECT] / answers if answers else None


@dataclass(frozen=True, slots=True)
class DayReach:
    """One day's counters and unique readers."""

    day: date
    measures: Mapping[Measure, int]
    readers: int


@dataclass(frozen=True, slots=True)
class TopicCount:
    """Questions about one scam."""

    id: str
    name: str
    count: int


@dataclass(frozen=True, slots=True)
class QuizTopic:
    """Quiz answers about one scam."""

    id: str
    name: str
    answers: int
    correct: int

    @property
    def accuracy(self) -> float:
        """Return the share of correct answers (answers is never 0 here)."""
        return self.correct / self.answers


@dataclass(frozen=True, slots=True)
class CampaignPushes:
    """Pushes one campaign (or the console, or urgent alerts) made in a region."""

    id: str
    title: str
    sent: int
    failed: int


@dataclass(frozen=True, slots=True)
class UnmatchedQuestion:
    """A question the bot could not answer (no member id: that stays in Redis)."""

    day: str
    text: str
    where: str


async def gather_bounded(
    awaitables: Iterable[Awaitable[_T]], limit: int = CONCURRENCY
) -> list[_T]:
    """Await `awaitables` with at most `limit` running at once; results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(awaitable: Awaitable[_T]) -> _T:
        async with gate:
            return await awaitable

    return list(await asyncio.gather(*(one(a) for a in awaitables)))


def dimension(region: str) -> tuple[str, str]:
    """Return the reach dimension of a region path ("" = everything)."""
    return reach.ALL if not region else ("region", region)


def region_paths(groups: Sequence[Group]) -> list[str]:
    """Return every region path (and each of its prefixes) the registered groups lie in."""
    paths = {
        REGION_SEPARATOR.join(parts[:depth])
        for parts in (split_region(group.region) for group in groups)
        for depth in range(1, len(parts) + 1)
    }
    return sorted(paths)


def groups_in(groups: Sequence[Group], region: str) -> list[Group]:
    """Return the groups inside `region` ("" = all)."""
    return [group for group in groups if not region or in_region(group, region)]


async def region_reach(
    redis: Redis, days: Sequence[date], region: str, groups: Sequence[Group]
) -> Reach:
    """Return the totals, unique people and registered members of `region` over `days`."""
    dim, value = dimension(region)
    measures, readers, players, pledgers = await asyncio.gather(
        reach.totals(redis, days, dim, value),
        reach.unique_count(redis, days, Unique.READERS, dim, value),
        reach.unique_count(redis, days, Unique.QUIZ_PLAYERS, dim, value),
        reach.unique_count(redis, days, Unique.PLEDGERS, dim, value),
    )
    inside = groups_in(groups, region)
    return Reach(measures, readers, players, pledgers, sum(g.members for g in inside), len(inside))


async def by_day(redis: Redis, days: Sequence[date], region: str) -> list[DayReach]:
    """Return each day's counters and unique readers in `region`."""
    dim, value = dimension(region)

    async def one(day: date) -> DayReach:
        measures, readers = await asyncio.gather(
            reach.totals(redis, [day], dim, value),
            reach.unique_count(redis, [day], Unique.READERS, dim, value),
        )
        return DayReach(day, measures, readers)

    return await gather_bounded(one(day) for day in days)


async def by_kind(
    redis: Redis, days: Sequence[date], region: str, groups: Sequence[Group]
) -> dict[GroupKind, dict[Measure, int]]:
    """Return the counters of the groups in `region` summed per group kind."""
    if not region:
        # Everywhere: the kind dimension already holds the sums (one read per kind).
        kinds = sorted({group.kind for group in groups})
        counted = await gather_bounded(reach.totals(redis, days, "kind", k.value) for k in kinds)
        return dict(zip(kinds, (dict(c) for c in counted), strict=True))
    groups = groups_in(groups, region)
    per_group = await gather_bounded(reach.totals(redis, days, "group", g.id) for g in groups)
    result: dict[GroupKind, dict[Measure, int]] = {}
    for group, measures in zip(groups, per_group, strict=True):
        kind = result.setdefault(group.kind, dict.fromkeys(Measure, 0))
        for measure, count in measures.items():
            kind[measure] += count
    return result


async def by_campaign(
    redis: Redis,
    days: Sequence[date],
    region: str,
    titles: Mapping[str, str],
    total: Mapping[Measure, int],
) -> list[CampaignPushes]:
    """Return pushes sent and failed per campaign in `region`, most sent first.

    Pushes counted under no campaign make one "其他推送" row, so the rows add up to `total`."""
    dim, value = dimension(region)
    counted = await reach.campaign_totals(redis, days, dim, value)
    names = {**PUSH_SOURCES, **titles}
    rows = [
        CampaignPushes(
            campaign,
            names.get(campaign, campaign),
            m[Measure.PUSHES_SENT],
            m[Measure.PUSHES_FAILED],
        )  # fmt: skip
        for campaign, m in counted.items()
    ]
    sent = total[Measure.PUSHES_SENT] - sum(row.sent for row in rows)
    failed = total[Measure.PUSHES_FAILED] - sum(row.failed for row in rows)
    if sent > 0 or failed > 0:
        rows.append(CampaignPushes(OTHER_PUSHES, OTHER_PUSHES_TITLE, max(sent, 0), max(failed, 0)))
    return sorted(rows, key=lambda row: (-row.sent, -row.failed, row.id))


async def asked_scams(
    redis: Redis, days: Sequence[date], region: str, kb: KnowledgeBase
) -> list[TopicCount]:
    """Return questions per scam type in `region`, most asked first."""
    counts = await metrics.questions(redis, days, *dimension(region))
    scams = {entry.id: entry for entry in kb.scams}
    return [
        TopicCount(topic, scams[topic].name, count)
        for topic, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        if topic in scams and count > 0
    ]


async def quiz_topics(
    redis: Redis, days: Sequence[date], region: str, kb: KnowledgeBase
) -> list[QuizTopic]:
    """Return quiz answers per scam in `region`, weakest (lowest accuracy) first."""
    dim, value = dimension(region)
    stats = await quiz_stats(redis, list(days), dim, value)
    topics = [
        QuizTopic(scam, _entry_name(kb, scam), answers, correct)
        for scam, (answers, correct) in stats.items()
        if answers > 0
    ]
    return sorted(topics, key=lambda t: (t.accuracy, -t.answers, t.id))


async def unmatched(
    redis: Redis, days: Sequence[date], region: str, limit: int = 20
) -> list[UnmatchedQuestion]:
    """Return the latest unanswered questions asked in `region` during `days`, newest first."""
    wanted = {keys.day_tag(day) for day in days}
    oldest = min(wanted) if wanted else ""
    found: list[UnmatchedQuestion] = []
    top = "+"
    while len(found) < limit:
        page = cast(
            list[tuple[str, dict[str, str]]],
            await redis.xrevrange(keys.UNMATCHED_LOG, max=top, count=UNMATCHED_PAGE),
        )
        for _, fields in page:
            day, where = fields.get("day", ""), fields.get("region", "")
            if day in wanted and (not region or _within(where, region)):
                found.append(UnmatchedQuestion(day, fields.get("text", ""), where or "一对一"))
        if len(page) < UNMATCHED_PAGE or page[-1][1].get("day", "") < oldest:
            break
        top = f"({page[-1][0]}"
    return found[:limit]


def _entry_name(kb: KnowledgeBase, scam: str) -> str:
    if not scam:
        return GENERAL_QUESTIONS
    entry = kb.by_id.get(scam)
    return entry.name if entry else scam


def _within(path: str, region: str) -> bool:
    wanted = split_region(region)
    return split_region(path)[: len(wanted)] == wanted
