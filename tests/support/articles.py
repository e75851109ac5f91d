"""Groups and page helpers shared by the article, receipt and forward-pack tests."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot.articles.model import Article
from bot.models import Group, GroupKind, PushTarget
from bot.store.groups import GroupRegistry

VILLAGE = Group(
    "g-xingfu", "幸福村村民群", GroupKind.VILLAGE, "城关镇/幸福村", 120, "wang", PushTarget.ROBOT
)
PARENTS = Group(
    "g-class32",
    "三年级2班家长群",
    GroupKind.PARENTS,
    "城关镇/实验小学",
    45,
    "li",
    PushTarget.FORWARD,
)
PARENTS_B = Group(
    "g-class41",
    "四年级1班家长群",
    GroupKind.PARENTS,
    "城关镇/实验小学",
    40,
    "li",
    PushTarget.FORWARD,
)
ELDERLY = Group(
    "g-laonian",
    "东关社区老年群",
    GroupKind.ELDERLY,
    "城关镇/东关社区",
    60,
    "zhao",
    PushTarget.FORWARD,
)

# The letter to parents, with a receipt that names the child's class.
LETTER = Article(
    "console/parents-letter",
    "致家长的一封信",
    "请和孩子一起读一读。",
    "## 给家长\n收到陌生收款码先问老师。",
    "console",
    ("parents",),
    receipt="class",
)

_TOKEN = re.compile(r'name="token" value="([^"]+)"')


async def register(redis: Redis, *groups: Group) -> None:
    """Put `groups` in the registry."""
    registry = GroupRegistry(redis)
    for group in groups:
        await registry.put(group)


def token_in(html: str) -> str:
    """Return the receipt form token of an article page."""
    found = _TOKEN.search(html)
    assert found, "the page has no receipt form"
    return found.group(1)


def today() -> date:
    """Return today in the service's time zone."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()
