"""Forward packs: each owner's daily items, their own links, their reach, and the app card."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.app import create_app
from bot.articles import links, packs
from bot.articles.daily import DELIVERY_TIMES, deliver_job
from bot.channels.wecom_app import WeComAppConfig, setup_wecom_app
from bot.library import Library
from bot.push.scheduler import DAILY_JOBS
from bot.settings import Settings
from bot.store import reach
from bot.store.groups import GroupRegistry
from bot.store.reach import Measure
from tests.support.articles import ELDERLY, PARENTS, PARENTS_B, VILLAGE, register, today
from tests.support.fakes import FakeWeComAPI

Client = TestClient[Any, Any]
_LINK = re.compile(r"https?://[^\s<]+/a/scams/shuadan\?g=([A-Za-z0-9_-]+)")


async def fill(redis: Redis) -> None:
    """Teacher li forwards to two parents groups; zhao to an elderly group."""
    await register(redis, PARENTS, PARENTS_B, ELDERLY, VILLAGE)
    for group in (PARENTS, PARENTS_B, ELDERLY):
        assert await packs.add(redis, group, "scams/shuadan", today())
    assert not await packs.add(redis, PARENTS, "scams/shuadan", today())  # once a day
    await packs.add(redis, PARENTS, "scams/wanggou", today())


async def test_add_keeps_order_and_counts_forward_packs(redis: Redis) -> None:
    await fill(redis)
    lines = await packs.lines(redis, "li", today())
    assert [(line.item_id, line.group_id) for line in lines] == [
        ("scams/shuadan", PARENTS.id),
        ("scams/shuadan", PARENTS_B.id),
        ("scams/wanggou", PARENTS.id),
    ]
    counts = await reach.totals(redis, [today()], "group", PARENTS.id)
    assert counts[Measure.FORWARD_PACKS] == 2
    with pytest.raises(ValueError):
        await packs.add(redis, replace(VILLAGE, id="g-x", owner=""), "scams/a", today())


async def test_page_shows_only_the_owners_groups_with_their_links(
    client: Client, redis: Redis
) -> None:
    await fill(redis)
    page = await client.get(f"/p/{await packs.owner_code(redis, 'li')}")
    html = await page.text()
    assert page.status == 200
    assert PARENTS.name in html and PARENTS_B.name in html and ELDERLY.name not in html
    codes = set(_LINK.findall(html))
    assert codes == {
        await links.code_for(redis, PARENTS.id, forwarder="li"),
        await links.code_for(redis, PARENTS_B.id, forwarder="li"),
    }
    assert "复制" in html and "<script nonce=" in html
    # Another owner's code opens their own pack, never li's groups.
    other = await (await client.get(f"/p/{await packs.owner_code(redis, 'zhao')}")).text()
    assert ELDERLY.name in other and PARENTS.name not in other and PARENTS_B.name not in other
    nonce = re.search(r'<script nonce="([^"]+)"', html)
    assert nonce and f"'nonce-{nonce.group(1)}'" in page.headers["Content-Security-Policy"]


async def test_unknown_pack_codes_get_404(client: Client, redis: Redis) -> None:
    await fill(redis)
    for code in ("li", "AAAAAAAAAAA", "zzzzzzzzzzzzzzzz"):
        page = await client.get(f"/p/{code}")
        assert page.status == 404 and "找不到" in await page.text()
    # A group's link code is not a pack code either.
    group_code = await links.code_for(redis, PARENTS.id, forwarder="li")
    assert (await client.get(f"/p/{group_code}")).status == 404


async def test_a_group_moved_to_another_owner_leaves_the_pack(
    client: Client, redis: Redis
) -> None:
    await fill(redis)
    await GroupRegistry(redis).put(replace(PARENTS_B, owner="zhao"))
    html = await (await client.get(f"/p/{await packs.owner_code(redis, 'li')}")).text()
    assert PARENTS_B.name not in html and PARENTS.name in html


async def test_views_through_forwarder_links_count_for_group_and_forwarder(
    client: Client, redis: Redis
) -> None:
    await fill(redis)
    code = await links.code_for(redis, PARENTS.id, forwarder="li")
    await client.get(f"/a/scams/shuadan?g={code}")
    await client.get(f"/a/scams/shuadan?g={code}")
    counts = await reach.totals(redis, [today()], "group", PARENTS.id)
    assert counts[Measure.VIEWS] == 2
    html = await (await client.get(f"/p/{await packs.owner_code(redis, 'li')}")).text()
    row = re.search(rf"<td>{PARENTS.name}</td><td>(\d+)</td><td>(\d+)</td>", html)
    assert row and row.groups() == ("2", "0")


@pytest.fixture
async def wecom(aiohttp_server: Any) -> FakeWeComAPI:
    fake = FakeWeComAPI()
    server = await aiohttp_server(fake.app)
    fake.base = str(server.make_url("")).rstrip("/")
    return fake


async def test_deliver_daily_sends_each_owner_one_card(wecom: FakeWeComAPI, redis: Redis) -> None:
    await fill(redis)
    registry = GroupRegistry(redis)
    assert await packs.deliver_daily(redis, registry, None, today(), base_url="https://x") == 0
    async with aiohttp.ClientSession() as session:
        api = wecom.client(session, redis)
        base = "https://fz.example.cn"
        assert await packs.deliver_daily(redis, registry, api, today(), base_url=base) == 2
        # A second run (another instance, or a retry) sends nothing again.
        assert await packs.deliver_daily(redis, registry, api, today(), base_url=base) == 0
        # The evening run tells only the owner whose pack grew, about the new item only.
        await packs.add(redis, ELDERLY, "scams/wanggou", today())
        assert await packs.deliver_daily(redis, registry, api, today(), base_url=base) == 1
    cards = [(m.users, m.body["articles"][0]) for m in wecom.sent]
    assert [users for users, _ in cards] == [("li",), ("zhao",), ("zhao",)]
    assert cards[0][1]["url"] == f"{base}/p/{await packs.owner_code(redis, 'li')}"
    assert "3条" in cards[0][1]["title"] and "1条" in cards[2][1]["title"]


async def test_deliver_daily_retries_an_owner_whose_send_failed(
    wecom: FakeWeComAPI, redis: Redis
) -> None:
    await register(redis, PARENTS)
    await packs.add(redis, PARENTS, "scams/shuadan", today())
    registry = GroupRegistry(redis)
    async with aiohttp.ClientSession() as session:
        api = wecom.client(session, redis)
        wecom.fail_next(45009)
        assert await packs.deliver_daily(redis, registry, api, today(), base_url="https://x") == 0
        assert await packs.deliver_daily(redis, registry, api, today(), base_url="https://x") == 1
    assert len(wecom.sent) == 1


async def test_the_apps_daily_job_sends_through_the_configured_wecom_app(
    wecom: FakeWeComAPI, aiohttp_client: Any, settings: Settings, library: Library, redis: Redis
) -> None:
    app = create_app(settings, library)
    config = WeComAppConfig(
        corp_id=wecom.corp_id,
        token="fzPackToken",
        aes_key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        secret=wecom.secret,
        agent_id=wecom.agent_id,
        api_base=wecom.base,
    )
    setup_wecom_app(app, config)
    assert {name for name, _, _ in app[DAILY_JOBS]} >= {name for name, _ in DELIVERY_TIMES}
    client = await aiohttp_client(app)
    await fill(redis)
    await deliver_job(client.app, today())
    assert sorted(m.users for m in wecom.sent) == [("li",), ("zhao",)]
