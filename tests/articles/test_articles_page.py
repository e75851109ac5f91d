"""The article page: views per group, kind and region, unique readers, and the 404 page."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.articles import links
from bot.articles.model import Article
from bot.articles.store import ArticleStore
from bot.library import Library
from bot.store import reach
from bot.store.reach import Measure, Unique
from tests.support.articles import ELDERLY, VILLAGE, register, today

Client = TestClient[Any, Any]
XSS = Article(
    "console/xss",
    '<script>alert("t")</script>标题',
    "<img src=x onerror=alert(1)>",
    "正文<script>alert(2)</script>\n[点](javascript:alert(3))",
    "console",
)


async def views(redis: Redis, dimension: str, value: str) -> tuple[int, int]:
    """Return (views, unique readers) today for one dimension value."""
    day = [today()]
    total = (await reach.totals(redis, day, dimension, value))[Measure.VIEWS]
    return total, await reach.unique_count(redis, day, Unique.READERS, dimension, value)


async def test_views_count_per_group_kind_and_region(client: Client, redis: Redis) -> None:
    await register(redis, VILLAGE, ELDERLY)
    village = await links.code_for(redis, VILLAGE.id)
    elderly = await links.code_for(redis, ELDERLY.id)
    for _ in range(3):
        page = await client.get(f"/a/scams/shuadan?g={village}")
        assert page.status == 200
    await client.get(f"/a/scams/shuadan?g={elderly}")
    assert (await client.head(f"/a/scams/shuadan?g={elderly}")).status == 200
    assert await views(redis, "group", VILLAGE.id) == (3, 1)
    assert await views(redis, "kind", "village") == (3, 1)
    assert await views(redis, "region", "城关镇/幸福村") == (3, 1)
    assert await views(redis, "group", ELDERLY.id) == (1, 1)
    # The town counts both groups; one browser is one reader.
    assert await views(redis, "region", "城关镇") == (4, 1)


async def test_each_browser_is_a_distinct_reader(client: Client, redis: Redis) -> None:
    await register(redis, VILLAGE)
    code = await links.code_for(redis, VILLAGE.id)
    await client.get(f"/a/scams/shuadan?g={code}")
    client.session.cookie_jar.clear()  # a second phone: no reader cookie yet
    await client.get(f"/a/scams/shuadan?g={code}")
    await client.get(f"/a/scams/shuadan?g={code}")
    assert await views(redis, "group", VILLAGE.id) == (3, 2)


async def test_reader_cookie_is_private_and_stored_only_hashed(
    client: Client, redis: Redis
) -> None:
    page = await client.get("/a/scams/shuadan")
    cookie = page.cookies["fz_reader"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    stored = [key async for key in redis.scan_iter("*")]
    assert not any(cookie.value in key for key in stored)


async def test_bad_code_shows_the_article_counted_without_a_group(
    client: Client, redis: Redis
) -> None:
    page = await client.get("/a/scams/shuadan?g=not-a-code")
    assert page.status == 200 and "刷单" in await page.text()
    assert await views(redis, "all", "all") == (1, 1)
    assert await views(redis, "kind", "private") == (1, 1)


async def test_unknown_items_get_a_chinese_404_page(client: Client) -> None:
    for path in (
        "/a/alerts/nosuch",
        "/a/scams/nosuch",
        "/a/console/nosuch",
        "/a/other/thing",
        "/p/",
    ):
        page = await client.get(path)
        assert page.status == 404
        assert "找不到这篇内容" in await page.text()


async def test_page_escapes_titles_and_bodies(
    client: Client, redis: Redis, library: Library
) -> None:
    await ArticleStore(library, redis).publish(XSS)
    page = await client.get("/a/console/xss")
    html = await page.text()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;t&#34;)" in html
    assert 'href="javascript' not in html
    assert "script-src" not in page.headers["Content-Security-Policy"]


async def test_page_uses_only_local_assets(client: Client) -> None:
    html = await (await client.get("/a/scams/shuadan")).text()
    assert "http://" not in html.split("<main")[0] and "https://" not in html.split("<main")[0]
    css = await client.get("/static/article.css")
    assert css.status == 200 and "@import" not in await css.text()
