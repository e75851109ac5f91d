"""Urgent alerts: selectors, refusals in Chinese, urgent and once per minute."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis

from bot.library import Library
from bot.models import Group, GroupKind, PushTarget
from bot.push.catalog import Catalog
from bot.push.outbox import Outbox
from bot.push.targeting import TargetingError, parse_selector, send_alert
from bot.settings import PROJECT_ROOT
from bot.store.groups import GroupRegistry
from tests.support.outbox import queued

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
VILLAGE_ALERT = "alerts/shuadan-dianzan"  # written for village, community, elderly


@pytest.fixture(scope="module")
def catalog(library: Library) -> Catalog:
    return Catalog.from_library(library)


@pytest.fixture
async def registry(redis: Redis) -> GroupRegistry:
    registry = GroupRegistry(redis)
    for gid, kind, region, target in (
        ("v-happy", GroupKind.VILLAGE, "城关镇/幸福村", PushTarget.ROBOT),
        ("v-east", GroupKind.VILLAGE, "城关镇/东村", PushTarget.SIMULATOR),
        ("v-other-town", GroupKind.VILLAGE, "河口镇/西村", PushTarget.SIMULATOR),
        ("v-silent", GroupKind.VILLAGE, "城关镇/南村", PushTarget.NONE),
        ("parents", GroupKind.PARENTS, "城关镇/一小", PushTarget.SIMULATOR),
        ("elderly", GroupKind.ELDERLY, "城关镇/敬老院", PushTarget.SIMULATOR),
    ):
        await registry.put(Group(gid, gid, kind, region, 10, target=target))
    return registry


async def urgent(redis: Redis) -> list[str]:
    return sorted(d.group_id for d in await queued(redis, urgent=True))


async def test_alert_goes_urgent_to_selected_groups(
    redis: Redis, registry: GroupRegistry, catalog: Catalog
) -> None:
    outbox = Outbox(redis)
    selector = "kind=village,region=城关镇,exclude=v-east"
    count = await send_alert(
        redis, registry, outbox, VILLAGE_ALERT, selector, catalog=catalog, now=NOW
    )
    assert count == 1
    assert await urgent(redis) == ["v-happy"]
    assert await queued(redis, urgent=False) == []
    # Pressed twice within the minute: queued once.
    await send_alert(
        redis, registry, outbox, f"{VILLAGE_ALERT}.md", selector, catalog=catalog, now=NOW
    )
    assert await urgent(redis) == ["v-happy"]


async def test_region_alert_skips_groups_the_item_is_not_written_for(
    redis: Redis, registry: GroupRegistry, catalog: Catalog
) -> None:
    count = await send_alert(
        redis, registry, Outbox(redis), VILLAGE_ALERT, "region=城关镇", catalog=catalog, now=NOW
    )
    assert await urgent(redis) == ["elderly", "v-east", "v-happy"]  # not parents, not silent
    assert count == 3


@pytest.mark.parametrize(
    ("item", "selector", "reason"),
    [
        (VILLAGE_ALERT, "", "没有指定发给谁"),
        (VILLAGE_ALERT, "exclude=v-east", "没有指定发给谁"),
        (VILLAGE_ALERT, "kind=猫", "不认识“猫”"),
        (VILLAGE_ALERT, "town=城关镇", "看不懂“town=城关镇”"),
        ("alerts/no-such-thing", "kind=village", "找不到内容“alerts/no-such-thing”"),
        (VILLAGE_ALERT, "kind=parents", "不是写给所选群类型的"),
    ],
)
async def test_refusals_are_clear_and_queue_nothing(
    redis: Redis, registry: GroupRegistry, catalog: Catalog, item: str, selector: str, reason: str
) -> None:
    with pytest.raises(TargetingError, match=reason):
        await send_alert(redis, registry, Outbox(redis), item, selector, catalog=catalog)
    assert await queued(redis, urgent=True) == []


def test_selector_accepts_chinese_kinds_and_commas() -> None:
    audience = parse_selector(
        "kind=家长群，kind=village, region=城关镇/一小/, exclude_region=东村"
    )
    assert audience.kinds == {GroupKind.PARENTS, GroupKind.VILLAGE}
    assert audience.regions == ("城关镇/一小",) and audience.exclude_regions == ("东村",)


def test_alert_command_prints_how_many_groups(tmp_path: Path) -> None:
    env = {**os.environ, "FANZHA_DATA_DIR": str(tmp_path / "data")}
    env.pop("REDIS_URL", None)

    def fanzha(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT, env=env,
        )  # fmt: skip

    groups = tmp_path / "groups.csv"
    groups.write_text(
        "id,kind,region,target\nv1,村民群,城关镇/幸福村,sim\nv2,村民群,城关镇/东村,\n",
        encoding="utf-8",
    )
    assert fanzha("groups", "import", str(groups)).returncode == 0
    sent = fanzha("alert", "--to", "kind=village,region=城关镇", "--content", VILLAGE_ALERT)
    assert sent.returncode == 0 and "优先发送给 1 个群" in sent.stdout  # v2 has no push target
    nobody = fanzha("alert", "--to", "kind=village,region=河口镇", "--content", VILLAGE_ALERT)
    assert nobody.returncode == 1 and "没有符合条件的群" in nobody.stdout
    refused = fanzha("alert", "--to", "", "--content", VILLAGE_ALERT)
    assert refused.returncode == 1 and "没有指定发给谁" in refused.stderr
