"""Trackable link codes: stable per group and forwarder, random, and resolvable only if issued."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bot.articles import links
from bot.articles.links import LinkTarget


async def test_code_is_stable_and_resolves_back(redis: Redis) -> None:
    first = await links.code_for(redis, "g-xingfu")
    assert await links.code_for(redis, "g-xingfu") == first
    assert await links.resolve(redis, first) == LinkTarget("g-xingfu", "")


async def test_codes_differ_per_group_and_forwarder(redis: Redis) -> None:
    codes = {
        await links.code_for(redis, "g-a"),
        await links.code_for(redis, "g-b"),
        await links.code_for(redis, "g-a", forwarder="li"),
        await links.code_for(redis, "g-a", forwarder="wang"),
    }
    assert len(codes) == 4
    forwarded = await links.code_for(redis, "g-a", forwarder="li")
    assert await links.resolve(redis, forwarded) == LinkTarget("g-a", "li")


async def test_codes_are_random_not_derived_from_the_group(redis: Redis) -> None:
    code = await links.code_for(redis, "g-xingfu")
    assert "xingfu" not in code and len(code) >= 11
    await redis.flushall()
    # Issued afresh, the same group gets a different code: nothing about it is computable.
    assert await links.code_for(redis, "g-xingfu") != code


async def test_concurrent_first_calls_agree_on_one_code(redis: Redis) -> None:
    codes = await asyncio.gather(*(links.code_for(redis, "g-race") for _ in range(20)))
    assert len(set(codes)) == 1
    assert await redis.hlen("fz:{links}:targets") == 1


async def test_unknown_or_malformed_codes_resolve_to_nothing(redis: Redis) -> None:
    await links.code_for(redis, "g-xingfu")
    assert await links.resolve(redis, "AAAAAAAAAAA") is None
    assert await links.resolve(redis, "") is None
    assert await links.resolve(redis, "x" * 500) is None


def test_article_url_carries_the_item_and_code() -> None:
    url = links.article_url("https://fz.example.cn/", "alerts/shuadan-dianzan", "Ab_9-x")
    assert url == "https://fz.example.cn/a/alerts/shuadan-dianzan?g=Ab_9-x"
