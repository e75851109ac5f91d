"""The group registry on the real Redis: storage, validation and targeting."""

from __future__ import annotations

from dataclasses import replace

import pytest
from redis.asyncio import Redis

from bot.models import Group, GroupKind, PushTarget
from bot.store.groups import GroupRegistry, InvalidGroup, in_region, parse_kind
from bot.store.keys import GROUP_REGISTRY

PARENTS = Group(
    "wecom-bot:wrA1", "三年级2班家长群", GroupKind.PARENTS, "城关镇/实验小学/三年级2班", 48
)
VILLAGE = Group("wecom-bot:wrB2", "幸福村村民群", GroupKind.VILLAGE, "城关镇/幸福村", 320)
OTHER_TOWN = Group("wecom-bot:wrC3", "河西村村民群", GroupKind.VILLAGE, "河西镇/河西村", 150)


async def test_put_then_get_round_trips(redis: Redis) -> None:
    registry = GroupRegistry(redis)
    assert await registry.get(PARENTS.id) is None
    await registry.put(PARENTS)
    assert await registry.get(PARENTS.id) == PARENTS
    assert await redis.hexists(GROUP_REGISTRY, PARENTS.id)


async def test_put_replaces_and_all_lists_every_group(redis: Redis) -> None:
    registry = GroupRegistry(redis)
    for group in (VILLAGE, PARENTS, OTHER_TOWN):
        await registry.put(group)
    moved = replace(VILLAGE, members=330)
    await registry.put(moved)
    assert await registry.all() == [PARENTS, moved, OTHER_TOWN]


async def test_every_instance_sees_the_same_registry(redis: Redis) -> None:
    await GroupRegistry(redis).put(PARENTS)
    assert await GroupRegistry(redis).get(PARENTS.id) == PARENTS


async def test_remove_returns_what_was_bound(redis: Redis) -> None:
    registry = GroupRegistry(redis)
    await registry.put(PARENTS)
    assert await registry.remove(PARENTS.id) == PARENTS
    assert await registry.remove(PARENTS.id) is None
    assert await registry.all() == []


async def test_find_filters_by_kind_and_region_prefix(redis: Redis) -> None:
    registry = GroupRegistry(redis)
    for group in (VILLAGE, PARENTS, OTHER_TOWN):
        await registry.put(group)
    assert await registry.find(kind=GroupKind.PARENTS) == [PARENTS]
    assert await registry.find(region_prefix="城关镇") == [PARENTS, VILLAGE]
    assert await registry.find(kind=GroupKind.VILLAGE, region_prefix="河西镇") == [OTHER_TOWN]
    assert await registry.find(region_prefix="城关镇/实验小学/") == [PARENTS]
    assert await registry.find(kind=GroupKind.ELDERLY) == []
    assert await registry.find() == await registry.all()


def test_region_prefix_matches_whole_segments_only() -> None:
    assert in_region(VILLAGE, "城关镇/幸福村")
    assert in_region(VILLAGE, "")
    assert not in_region(VILLAGE, "城关")
    assert not in_region(VILLAGE, "城关镇/幸福村/一组")


@pytest.mark.parametrize(
    ("group", "field"),
    [
        (replace(PARENTS, id=""), "id"),
        (replace(PARENTS, id="wecom-bot:has space"), "id"),
        (replace(PARENTS, id="wecom-bot:群"), "id"),
        (replace(PARENTS, kind=GroupKind.UNBOUND), "kind"),
        (replace(PARENTS, region="城关镇//三年级2班"), "region"),
        (replace(PARENTS, region="/城关镇"), "region"),
        (replace(PARENTS, region="城关镇/ "), "region"),
        (replace(PARENTS, name="群" * 101), "name"),
        (replace(PARENTS, members=-1), "members"),
    ],
)
async def test_invalid_groups_are_refused_and_not_stored(
    redis: Redis, group: Group, field: str
) -> None:
    registry = GroupRegistry(redis)
    with pytest.raises(InvalidGroup) as refused:
        await registry.put(group)
    assert refused.value.field == field
    assert field in str(refused.value)
    assert await registry.all() == []


async def test_group_without_region_or_members_is_valid(redis: Redis) -> None:
    registry = GroupRegistry(redis)
    bare = Group("wecom-bot:wrD4", "", GroupKind.ENTERPRISE)
    await registry.put(bare)
    assert await registry.get(bare.id) == bare


async def test_unreadable_entry_is_skipped(redis: Redis) -> None:
    registry = GroupRegistry(redis)
    await registry.put(VILLAGE)
    await redis.hset(GROUP_REGISTRY, "broken", "{not json")
    assert await registry.all() == [VILLAGE]


@pytest.mark.parametrize(
    ("word", "kind"),
    [
        ("家长群", GroupKind.PARENTS),
        ("家长", GroupKind.PARENTS),
        ("Village", GroupKind.VILLAGE),
        ("社区群", GroupKind.COMMUNITY),
        ("社区居民群", GroupKind.COMMUNITY),
        ("老年人群", GroupKind.ELDERLY),
        ("unbound", None),
        ("未登记的群", None),
        ("银行卡", None),
    ],
)
def test_parse_kind_reads_codes_and_chinese_labels(word: str, kind: GroupKind | None) -> None:
    assert parse_kind(word) is kind


async def test_owner_and_target_survive_storage(redis: Redis) -> None:
    registry = GroupRegistry(redis)
    group = replace(PARENTS, owner="teacher-li", target=PushTarget.FORWARD)
    await registry.put(group)
    assert await registry.get(group.id) == group
    assert await registry.find(owner="teacher-li") == [group]
    assert await registry.find(owner="someone-else") == []


async def test_robot_keys_are_kept_apart_from_the_registry(redis: Redis) -> None:
    registry = GroupRegistry(redis)
    await registry.put(replace(PARENTS, target=PushTarget.ROBOT))
    await registry.set_robot_key(PARENTS.id, "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa")
    assert await registry.robot_key(PARENTS.id) == "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
    assert "693a91f6" not in str(await redis.hgetall(GROUP_REGISTRY))
    with pytest.raises(InvalidGroup):
        await registry.set_robot_key(PARENTS.id, "has spaces in it")
    await registry.remove(PARENTS.id)
    assert await registry.robot_key(PARENTS.id) is None
