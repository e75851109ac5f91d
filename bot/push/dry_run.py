"""Preview what campaigns would push, group by group, without queueing anything."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.models import Group
from bot.push.campaigns import Campaign
from bot.push.catalog import Catalog
from bot.push.fire_times import upcoming
from bot.push.targeting import group_pool


@dataclass(frozen=True, slots=True)
class PlannedPush:
    """One push a campaign would make to one group."""

    at: datetime
    campaign: Campaign
    group: Group
    item: str


def plan_pushes(
    campaigns: Iterable[Campaign],
    groups: Iterable[Group],
    catalog: Catalog,
    start: datetime,
    end: datetime,
    sent: Mapping[tuple[str, str], Iterable[str]] | None = None,
) -> list[PlannedPush]:
    """Return every push in (start, end], applying targeting, daily caps and rotations.

    `sent` holds each (campaign id, group id) rotation's items already sent, as in Redis; the
    scheduler's Lua pick follows the same rule: the first pool item not yet sent, else start over.
    """
    groups = list(groups)
    rotations = {key: list(items) for key, items in (sent or {}).items()}
    per_day: Counter[tuple[str, str]] = Counter()
    pushes = []
    for fire in upcoming(campaigns, start, end):
        campaign = fire.campaign
        for group in groups:
            pool = group_pool(campaign, catalog, group)
            day = (group.id, fire.at.date().isoformat())
            if not pool or per_day[day] >= campaign.timing.daily_cap:
                continue
            per_day[day] += 1
            history = rotations.setdefault((campaign.id, group.id), [])
            item = next((i for i in pool if i not in history), None)
            if item is None:
                history.clear()
                item = pool[0]
            history.append(item)
            pushes.append(PlannedPush(fire.at, campaign, group, item))
    return pushes
