"""Pictures on console items: checked, resized, served with safe headers, pushed as covers."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from PIL import Image
from redis.asyncio import Redis

from bot.articles import images
from bot.articles.store import ArticleStore
from bot.channels.wecom_robot import RobotClient, RobotConfig
from bot.console import sending
from bot.console.queue import Queue
from bot.library import Library
from bot.models import Delivery
from bot.push.senders import Senders
from bot.settings import Settings
from bot.store.groups import GroupRegistry
from bot.store.ratelimit import RateLimiter
from tests.support.console import content_form, log_in, make_user
from tests.support.outbox import robot_group
from tests.support.wecom_robot import FakeWeComRobot

Client = TestClient[Any, Any]
KEY = "5d6f0a1c-2b3e-4c5d-8e9f-a0b1c2d3e4f5"


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (200, 30, 30, 128)).save(out, "PNG")
    return out.getvalue()


async def _draft(client: Client, redis: Redis) -> tuple[str, str]:
    await make_user(redis, "zhang", "officer", "张警官")
    token = await log_in(client, "zhang")
    created = await client.post("/console/items", data=content_form(csrf_token=token),
                                allow_redirects=False)  # fmt: skip
    return str(created.headers["Location"]).rsplit("/", 1)[1], token


async def _upload(client: Client, item: str, token: str, body: bytes) -> Any:
    headers = {"X-CSRF-Token": token, "Content-Type": "image/png", "Accept": "application/json"}
    return await client.post(f"/console/items/{item}/images", data=body, headers=headers)


async def test_a_poster_is_resized_and_served_with_safe_headers(
    client: Client, redis: Redis
) -> None:
    item, token = await _draft(client, redis)
    answer = await _upload(client, item, token, _png(3000, 2000))
    assert answer.status == 200, await answer.text()
    image_id = (await answer.json())["image"]
    stored = await Queue(redis).get(item)
    assert stored is not None and stored.images == (image_id,)
    served = await client.get(f"/img/{image_id}.jpg")
    assert served.status == 200 and served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "immutable" in served.headers["Cache-Control"]
    picture = Image.open(io.BytesIO(await served.read()))
    assert picture.format == "JPEG" and picture.size == (1280, 853)
    page = await (await client.get(f"/console/items/{item}")).text()
    assert f'src="/img/{image_id}.jpg"' in page
    # Removing it takes it off the item; the picture stays for items already sent with it.
    await client.post(f"/console/items/{item}/images/remove",
                      data={"csrf_token": token, "image": image_id})  # fmt: skip
    stored = await Queue(redis).get(item)
    assert stored is not None and stored.images == ()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<svg onload=alert(1)>", "这张图片不能用"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "这张图片不能用"),
        (b"", "这张图片不能用"),
    ],
)
async def test_bad_uploads_are_refused_and_change_nothing(
    client: Client, redis: Redis, body: bytes, reason: str
) -> None:
    item, token = await _draft(client, redis)
    before = await Queue(redis).get(item)
    answer = await _upload(client, item, token, body)
    assert answer.status == 400 and reason in (await answer.json())["error"]
    assert await Queue(redis).get(item) == before


async def test_an_upload_without_the_csrf_token_is_refused(client: Client, redis: Redis) -> None:
    item, _ = await _draft(client, redis)
    answer = await _upload(client, item, "forged", _png(10, 10))
    assert answer.status == 403
    stored = await Queue(redis).get(item)
    assert stored is not None and stored.images == ()
    assert (await client.get(f"/img/{'0' * images.ID_CHARS}.jpg")).status == 404


@pytest.fixture
async def robot() -> AsyncIterator[FakeWeComRobot]:
    fake = FakeWeComRobot()
    await fake.start()
    yield fake
    await fake.close()


async def test_the_first_picture_is_the_news_cover(
    redis: Redis, library: Library, settings: Settings, robot: FakeWeComRobot
) -> None:
    picture = await images.save(redis, images.prepare(_png(800, 600)))
    group = robot_group()
    registry = GroupRegistry(redis)
    await registry.put(group)
    await registry.set_robot_key(group.id, KEY)
    await Queue(redis).create(sending.Item("", "海报", "摘要", "正文", images=(picture,)), "zhang")
    item = (await Queue(redis).all())[0]
    await ArticleStore(library, redis).publish(sending.article(item, settings.timezone))
    config = RobotConfig(api_base=robot.base, attempts=1)
    async with aiohttp.ClientSession() as session:
        senders = Senders(redis, registry, ArticleStore(library, redis),
                          RobotClient(session, RateLimiter(redis), config),
                          settings.base_url, settings.timezone)  # fmt: skip
        delivery = Delivery("k1", group.id, item.article_id, style="news")
        await senders.post_robot(await senders.prepare(delivery, group, KEY), 0, 0)
    card = robot.received[KEY][0]["news"]["articles"][0]
    assert card["picurl"] == images.url(settings.base_url, picture)
