"""Rank the sub-regions one level below a region, and mark the bottom three.

Order: coverage (unique readers / registered members) first, then receipts per member, both
higher is better. A sub-region whose groups record no members has no coverage: it ranks last
(members must be filled in before it can be compared), never divides by zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from redis.asyncio import Redis

from bot.dashboard.data import Reach, gather_bounded, groups_in, region_reach
from bot.models import Group
from bot.store.groups import REGION_SEPARATOR, split_region

BOTTOM = 3


@dataclass(frozen=True, slots=True)
class RankRow:
    """One sub-region's place in the ranking."""

    region: str
    name: str
    reach: Reach
    rank: int
    bottom: bool


def sub_regions(groups: Sequence[Group], region: str) -> list[str]:
    """Return the region paths one level below `region` that hold registered groups."""
    depth = len(split_region(region)) + 1
    return sorted(
        {
            REGION_SEPARATOR.join(split_region(group.region)[:depth])
            for group in groups_in(groups, region)
            if len(split_region(group.region)) >= depth
        }
    )


def _sort_key(item: tuple[str, Reach]) -> tuple[float, float, str]:
    path, reached = item
    coverage = reached.coverage
    per_member = reached.receipts_per_member
    return (
        -(coverage if coverage is not None else -1.0),
        -(per_member if per_member is not None else -1.0),
        path,
    )


def order(reached: Sequence[tuple[str, Reach]]) -> list[RankRow]:
    """Return the ranking of (path, reach) pairs with the bottom three marked.

    With fewer than four sub-regions fewer are marked (never all of them): two regions mark one.
    """
    ranked = sorted(reached, key=_sort_key)
    marked = min(BOTTOM, max(len(ranked) - 1, 0))
    return [
        RankRow(path, split_region(path)[-1], row, place, place > len(ranked) - marked)
        for place, (path, row) in enumerate(ranked, start=1)
    ]


async def rank(
    redis: Redis, days: Sequence[date], region: str, groups: Sequence[Group]
) -> list[RankRow]:
    """Return the ranking of the sub-regions of `region` over `days`."""
    paths = sub_regions(groups, region)
    reached = await gather_bounded(region_reach(redis, days, path, groups) for path in paths)
    return order(list(zip(paths, reached, strict=True)))
