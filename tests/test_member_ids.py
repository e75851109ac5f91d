"""No raw member id reaches Redis: after members talk on every channel, every key and every
value is scanned for the ids they used (README: "Member ids are stored only as HMAC hashes").
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.library import Library
from bot.models import Group, GroupKind
from bot.settings import Settings
from bot.store.embedded import EmbeddedRedis
from bot.store.groups import GroupRegistry
from tests.support.all_channels import AES_KEY, APP, BOT, OA, ORGANISER, TOKEN, every_channel
from tests.support.fakes import OfficialAccountCaller, WeComCaller
from tests.support.wecom_bot import WeComBotCaller

PHONE = "13812345678"  # a simulator user who typed a phone number as a name
FOLLOWER = "oFuzzFollowerOpenid424242"
STAFF = "zhangsan_app_member_9"
RESIDENT = "lisi_smartbot_member_77"
PRESSER = "wangwu_card_presser_55"
CHAT = "wrkSFfCgAAidscanparents"
RAW_IDS = (PHONE, FOLLOWER, STAFF, RESIDENT, PRESSER, ORGANISER)


async def test_no_raw_member_id_in_any_key_or_value(
    aiohttp_client: Any,
    settings: Settings,
    library: Library,
    redis: Redis,
    redis_server: EmbeddedRedis,
) -> None:
    client: TestClient[Any, Any] = await aiohttp_client(every_channel(settings, library))
    await _simulator(client)
    await _official_account(client)
    await _wecom_app(client)
    await _smart_bot(client, redis)
    raw = Redis.from_url(redis_server.url)  # bytes: HyperLogLogs are not text
    try:
        stored = [item async for item in _everything(raw)]
    finally:
        await raw.aclose()
    assert len(stored) > 50  # the run really wrote: menus, metrics, dedupe, quiz, seen keys
    leaks = [(key, who) for key, blob in stored for who in RAW_IDS if who.encode() in blob]
    assert leaks == []


async def _simulator(client: TestClient[Any, Any]) -> None:
    for text in ("菜单", "1", "今天食堂中午吃什么菜"):
        answer = await client.post(
            "/api/sim/messages", json={"group": "private", "user": PHONE, "text": text}
        )
        assert answer.status == 200


async def _official_account(client: TestClient[Any, Any]) -> None:
    caller = OfficialAccountCaller(client, TOKEN, OA.app_id, AES_KEY)
    assert await caller.ask(FOLLOWER, "菜单")
    assert await caller.ask(FOLLOWER, "2")
    subscribe = caller.message_xml(FOLLOWER, "event", "<Event><![CDATA[subscribe]]></Event>")
    assert (await caller.post(subscribe, FOLLOWER)).status == 200


async def _wecom_app(client: TestClient[Any, Any]) -> None:
    caller = WeComCaller(client, TOKEN, AES_KEY, APP.corp_id, APP.agent_id)
    assert await caller.ask(STAFF, "菜单")
    assert await caller.ask(STAFF, "1")


async def _smart_bot(client: TestClient[Any, Any], redis: Redis) -> None:
    group = Group(f"wecom-bot:{CHAT}", "三年级2班家长群", GroupKind.PARENTS, "城关镇/实验小学")
    await GroupRegistry(redis).put(group)
    caller = WeComBotCaller(client, TOKEN, AES_KEY, BOT.bot_id)
    assert await caller.ask(caller.message(RESIDENT, "菜单"))  # one-to-one: a seen key, a menu
    assert await caller.ask(caller.message(RESIDENT, "1"))
    opened = await caller.ask(caller.message(ORGANISER, "@反诈助手 开始答题 1题 60秒", chat=CHAT))
    card = opened["template_card"]
    update = await caller.ask(caller.press(PRESSER, card["task_id"], "A", CHAT))
    assert update["userids"] == [PRESSER]  # WeCom is told whose card to update
    assert await caller.ask(caller.message(RESIDENT, "@反诈助手 A", chat=CHAT)) is not None
    assert await caller.ask(caller.message(ORGANISER, "@反诈助手 结束答题", chat=CHAT))


async def _everything(redis: Redis) -> Any:
    """Yield (key, every byte it holds, key name included) for each key in Redis."""
    async for key in redis.scan_iter(count=500):
        kind = (await redis.type(key)).decode()
        if kind == "string":
            parts = [await redis.get(key)]
        elif kind == "hash":
            parts = [b for pair in (await redis.hgetall(key)).items() for b in pair]
        elif kind == "list":
            parts = await redis.lrange(key, 0, -1)
        elif kind == "set":
            parts = list(await redis.smembers(key))
        elif kind == "zset":
            parts = [member for member, _ in await redis.zrange(key, 0, -1, withscores=True)]
        else:  # stream
            parts = [
                b for _, fields in await redis.xrange(key) for pair in fields.items() for b in pair
            ]
        yield key, b"\x00".join([key, *(part or b"" for part in parts)])
