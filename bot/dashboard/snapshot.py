"""Everything the dashboard page and the monthly report show, read once for a period and region."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.answers.matcher import KnowledgeBase
from bot.articles.store import ArticleStore
from bot.dashboard import data
from bot.dashboard.letters import LetterReceipts, letters
from bot.dashboard.period import BadRequest, Period
from bot.dashboard.ranking import RankRow, rank
from bot.models import GroupKind
from bot.store.groups import GroupRegistry
from bot.store.reach import Measure

ALL_REGIONS = "全部地区"
# A topic is compared only with this many answers: 1 of 1 wrong is no weakness.
MIN_TOPIC_ANSWERS = 10


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A period x region view of the reach counters."""

    period: Period
    region: str
    regions: list[str]
    reach: data.Reach
    days: list[data.DayReach]
    ranking: list[RankRow]
    campaigns: list[data.CampaignPushes]
    asked: list[data.TopicCount]
    quiz: list[data.QuizTopic]
    unmatched: list[data.UnmatchedQuestion]
    kinds: dict[GroupKind, dict[Measure, int]]
    # What the region counted outside every sub-region: 1:1 chats, pages opened through an
    # unknown or expired link, groups registered at the region itself. Rows + this = total.
    unassigned: dict[Measure, int]
    letters: list[LetterReceipts]

    @property
    def region_label(self) -> str:
        """Return the region as officers read it."""
        return self.region or ALL_REGIONS

    @property
    def bottom(self) -> list[RankRow]:
        """Return the sub-regions marked as the bottom three, lowest last."""
        return [row for row in self.ranking if row.bottom]

    @property
    def weak_quiz(self) -> list[data.QuizTopic]:
        """Return topics with enough answers and below the overall accuracy, weakest first."""
        average = self.reach.quiz_accuracy
        if average is None:
            return []
        return [t for t in self.quiz if t.answers >= MIN_TOPIC_ANSWERS and t.accuracy < average]

    @property
    def quiz_pushes(self) -> int:
        """Return the quiz's timed messages among the pushes sent."""
        return sum(row.sent for row in self.campaigns if row.id == data.QUIZ_PUSHES)


def check_region(region: str, regions: list[str]) -> str:
    """Return the region path trimmed of slashes, or raise BadRequest when none is registered."""
    path = region.strip().strip("/")
    if path and path not in regions:
        raise BadRequest(f"没有登记过“{path}”这个地区，请从已登记的地区里选。")
    return path


async def collect(
    redis: Redis,
    kb: KnowledgeBase,
    period: Period,
    region: str,
    *,
    campaign_titles: Mapping[str, str] | None = None,
    unmatched_limit: int = 20,
    articles: ArticleStore | None = None,
) -> Snapshot:
    """Read everything for `period` and `region` ("" = all); raise BadRequest on a bad region.

    `campaign_titles` names the schedules/ campaigns (id -> title) in the pushes table;
    `articles` names the letters whose receipts are counted per class."""
    groups = await GroupRegistry(redis).all()
    regions = data.region_paths(groups)
    region = check_region(region, regions)
    days = period.days
    # One part after another: each part already reads in parallel, within data.CONCURRENCY.
    reached = await data.region_reach(redis, days, region, groups)
    ranking = await rank(redis, days, region, groups)
    titles = campaign_titles or {}
    return Snapshot(
        period,
        region,
        regions,
        reach=reached,
        days=await data.by_day(redis, days, region),
        ranking=ranking,
        campaigns=await data.by_campaign(redis, days, region, titles, reached.measures),
        asked=await data.asked_scams(redis, days, region, kb),
        quiz=await data.quiz_topics(redis, days, region, kb),
        unmatched=await data.unmatched(redis, days, region, unmatched_limit),
        kinds=await data.by_kind(redis, days, region, groups),
        unassigned=unassigned(reached, ranking),
        letters=await letters(redis, days, data.dimension(region), articles),
    )


def unassigned(reached: data.Reach, ranking: list[RankRow]) -> dict[Measure, int]:
    """Return the region's counters that no sub-region holds (never below 0)."""
    return {
        m: max(reached.measures[m] - sum(row.reach.measures[m] for row in ranking), 0)
        for m in Measure
    }
