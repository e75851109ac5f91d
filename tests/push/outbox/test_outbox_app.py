"""The outbox inside the running app: a push shows up in the simulator group's feed."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.channels.simulator import Simulator
from bot.models import Delivery
from bot.push.outbox import Outbox
from bot.store.groups import GroupRegistry


async def _feed(client: TestClient[Any, Any], group: str, after: int = 0) -> list[Any]:
    response = await client.get("/api/sim/feed", params={"group": group, "after": str(after)})
    assert response.status == 200
    body = await response.json()
    assert body["group"] == group
    pushes: list[Any] = body["pushes"]
    return pushes


async def test_a_queued_push_appears_in_the_simulator_group(
    client: TestClient[Any, Any], redis: Redis
) -> None:
    village = Simulator().groups["sim-village"]
    await GroupRegistry(redis).put(village)
    item = "alerts/gongjianfa-anquanzhanghu"
    queued = await Outbox(redis).enqueue(
        [Delivery("e2e:1", village.id, item_id=item, campaign="e2e")]
    )
    assert queued == 1
    async with asyncio.timeout(20):
        while not (pushes := await _feed(client, village.id)):
            await asyncio.sleep(0.05)
    [push] = pushes
    assert push["id"] == 1 and push["format"] == "markdown" and push["campaign"] == "e2e"
    assert f"/a/{item}?g=" in push["text"]
    assert await _feed(client, village.id, after=1) == []
    link = urlsplit(push["url"])
    page = await client.get(f"{link.path}?{link.query}")
    assert page.status == 200  # the trackable article page the push links to


async def test_the_feed_refuses_bad_parameters_in_chinese(client: TestClient[Any, Any]) -> None:
    for params, status in (
        ({"group": "sim-village", "after": "abc"}, 400),
        ({"group": "sim-village", "after": "-1"}, 400),
        ({"group": "no-such-group", "after": "0"}, 404),
        ({"after": "0"}, 404),
    ):
        response = await client.get("/api/sim/feed", params=params)
        assert response.status == status
        assert "\u4e00" <= (await response.json())["error"][0] <= "\u9fff"
