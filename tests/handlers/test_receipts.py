"""回执: one per reader per item from the page, with the child's class, or by replying 收到."""

from __future__ import annotations

import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.articles import links, receipts
from bot.articles.model import Article
from bot.articles.store import ArticleStore
from bot.library import Library
from bot.store import reach
from bot.store.reach import Measure
from tests.conftest import Transcript
from tests.support.articles import LETTER, PARENTS, VILLAGE, register, today, token_in

Client = TestClient[Any, Any]


async def counted(redis: Redis, dimension: str = "all", value: str = "all") -> int:
    """Return today's receipts for one dimension value."""
    return (await reach.totals(redis, [today()], dimension, value))[Measure.RECEIPTS]


async def open_page(client: Client, path: str) -> str:
    page = await client.get(path)
    assert page.status == 200
    return await page.text()


async def test_page_receipt_counts_once_per_reader(client: Client, redis: Redis) -> None:
    await register(redis, VILLAGE)
    code = await links.code_for(redis, VILLAGE.id)
    path = f"/a/scams/shuadan?g={code}"
    token = token_in(await open_page(client, path))
    done = await client.post(f"/a/scams/shuadan/receipt?g={code}", data={"token": token})
    assert done.status == 200 and "已收到您的回执" in await done.text()
    again = await open_page(client, path)
    assert "已收到您的回执" in again and 'name="token"' not in again
    # Sending the form again (a double tap, a reload) changes nothing.
    replay = await client.post(f"/a/scams/shuadan/receipt?g={code}", data={"token": token})
    assert replay.status == 200 and "已收到您的回执" in await replay.text()
    assert await counted(redis, "group", VILLAGE.id) == 1
    assert await counted(redis, "kind", "village") == 1
    assert await counted(redis, "region", "城关镇") == 1


async def test_forged_or_cross_site_posts_are_refused(client: Client, redis: Redis) -> None:
    token = token_in(await open_page(client, "/a/scams/shuadan"))
    for form in ({}, {"token": "guessed-token-value-000000"}, {"token": token * 2}):
        refused = await client.post("/a/scams/shuadan/receipt", data=form)
        assert refused.status == 403 and "没有提交成功" in await refused.text()
    # A token issued for one article does not acknowledge another.
    assert (await client.post("/a/scams/wanggou/receipt", data={"token": token})).status == 403
    # Another site's form posts without our SameSite cookie: a new reader, not the token's.
    client.session.cookie_jar.clear()
    assert (await client.post("/a/scams/shuadan/receipt", data={"token": token})).status == 403
    assert await counted(redis) == 0
    assert not [key async for key in redis.scan_iter("fz:{rcpt:*")]


async def test_class_receipt_stores_only_the_class(
    client: Client, redis: Redis, library: Library
) -> None:
    await ArticleStore(library, redis).publish(LETTER)
    await register(redis, PARENTS)
    code = await links.code_for(redis, PARENTS.id, forwarder="li")
    path = f"/a/{LETTER.id}?g={code}"
    html = await open_page(client, path)
    assert 'name="school_class"' in html
    done = await client.post(
        f"/a/{LETTER.id}/receipt?g={code}",
        data={"token": token_in(html), "school_class": " 三年级２班 "},
    )
    assert done.status == 200 and "已收到您的回执" in await done.text()
    assert await receipts.class_counts(redis, LETTER.id) == {"三年级2班": 1}
    assert await receipts.group_counts(redis, LETTER.id) == {PARENTS.id: 1}
    assert await counted(redis, "group", PARENTS.id) == 1


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("三年级2班", "三年级2班"), ("初二（3）班", "初二(3)班"), ("2023级 1班", "2023级1班")],
)
def test_class_names_are_normalised(typed: str, stored: str) -> None:
    assert receipts.clean_class(typed) == stored


@pytest.mark.parametrize(
    "bad", ["", "三年级", "<script>班", "一" * 30 + "班", "13800138000", "13800138000班"]
)
async def test_bad_class_is_explained_and_nothing_counted(
    client: Client, redis: Redis, library: Library, bad: str
) -> None:
    await ArticleStore(library, redis).publish(LETTER)
    html = await open_page(client, f"/a/{LETTER.id}")
    answer = await client.post(
        f"/a/{LETTER.id}/receipt", data={"token": token_in(html), "school_class": bad}
    )
    assert answer.status == 400 and "班级" in await answer.text()
    assert "<script>班" not in await answer.text()
    assert await counted(redis) == 0 and await receipts.class_counts(redis, LETTER.id) == {}


async def test_articles_without_receipt_take_none(
    client: Client, redis: Redis, library: Library
) -> None:
    quiet = Article("console/quiet", "提醒", "摘要", "正文", "console")
    await ArticleStore(library, redis).publish(quiet)
    assert 'name="token"' not in await open_page(client, "/a/console/quiet")
    assert (await client.post("/a/console/quiet/receipt", data={"token": "x"})).status == 404


async def test_shoudao_in_a_pushed_group_counts_once(sim: Transcript, redis: Redis) -> None:
    group = sim.simulator.groups["sim-village"]
    await receipts.note_push(redis, group.id, "alerts/older", now=time.time() - 60)
    await receipts.note_push(redis, group.id, "scams/shuadan")
    assert await sim.say("收到", group=group.id, user="李四") is None  # quiet in the group
    assert await sim.say("收到！", group=group.id, user="李四") is None
    assert await counted(redis, "group", group.id) == 1
    assert await receipts.has_receipt(
        redis, "scams/shuadan", sim.service.hasher("simulator", "李四")
    )
    answer = await sim.say("@反诈助手 已读", group=group.id, user="王五")
    assert answer is not None and "回执" in answer
    assert await counted(redis, "group", group.id) == 2


async def test_shoudao_without_a_recent_push_is_not_a_receipt(
    sim: Transcript, redis: Redis
) -> None:
    group = sim.simulator.groups["sim-village"]
    await receipts.note_push(redis, group.id, "scams/shuadan", now=time.time() - 4 * 24 * 3600)
    await sim.say("收到", group=group.id)
    await receipts.note_push(redis, "another-group", "scams/shuadan")
    await sim.say("收到", group=group.id)
    assert await counted(redis) == 0


async def test_the_letter_to_parents_asks_for_the_class(client: Client) -> None:
    html = await open_page(client, "/a/letters/parents")
    assert "致家长的一封信" in html and 'name="school_class"' in html and "我已阅读" in html
