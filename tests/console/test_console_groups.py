"""Groups pages: forwarders see only their own groups, robot keys stay write-only."""

from __future__ import annotations

from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.models import Group, GroupKind, PushTarget
from bot.push.outbox.health import broken
from bot.store import keys
from bot.store.groups import GroupRegistry
from tests.support.console import log_in, make_user

Client = TestClient[Any, Any]
ROBOT_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
MINE = Group("g-mine", "三年级2班家长群", GroupKind.PARENTS, "城关镇/实验小学", 48, "teacher")
THEIRS = Group("g-theirs", "四年级1班家长群", GroupKind.PARENTS, "城关镇/实验小学", 51, "other")
ROBOT = Group(
    "g-robot", "<b>幸福村</b>村民群", GroupKind.VILLAGE, "城关镇/幸福村", 300, "", PushTarget.ROBOT
)


async def _setup(redis: Redis) -> None:
    registry = GroupRegistry(redis)
    for group in (MINE, THEIRS, ROBOT):
        await registry.put(group)
    await make_user(redis, "teacher", "forwarder", "李老师")
    await make_user(redis, "zhang", "officer", "张警官")


async def test_forwarders_see_only_their_own_groups(client: Client, redis: Redis) -> None:
    await _setup(redis)
    await log_in(client, "teacher")
    page = await (await client.get("/console/groups")).text()
    assert "三年级2班家长群" in page and "四年级1班家长群" not in page and "幸福村" not in page
    assert "/p/" in page  # the link to their forward pack
    page = await (await client.get("/console/groups?owner=other")).text()
    assert "四年级1班家长群" not in page
    assert (await client.get("/console/groups/view?id=g-mine")).status == 200
    for guess in ("g-theirs", "g-robot", "no-such-group", ""):
        response = await client.get(f"/console/groups/view?id={guess}")
        assert response.status == 404, guess
    assert (await client.get("/console/groups/export")).status == 403


async def test_forwarders_cannot_edit_groups(client: Client, redis: Redis) -> None:
    await _setup(redis)
    token = await log_in(client, "teacher")
    response = await client.post(
        "/console/groups/save?id=g-mine",
        data={
            "csrf_token": token,
            "name": "改名",
            "kind": "parents",
            "target": "",
            "members": "1",
        },
    )
    assert response.status == 403
    assert await GroupRegistry(redis).get("g-mine") == MINE


async def test_robot_keys_are_write_only(client: Client, redis: Redis) -> None:
    await _setup(redis)
    token = await log_in(client, "zhang")
    form = {
        "csrf_token": token,
        "name": "幸福村村民群",
        "kind": "village",
        "region": "城关镇/幸福村",
        "members": "320",
        "owner": "",
        "target": "robot",
        "robot_key": ROBOT_KEY,
    }
    health = keys.group_health(keys.outbox_shard("g-robot"))
    await redis.hset(health, "g-robot", broken("机器人密钥无效"))
    page = await (await client.get("/console/groups?health=broken")).text()
    assert "推送故障" in page and "三年级2班" not in page
    response = await client.post("/console/groups/save?id=g-robot", data=form)
    assert response.status == 200
    registry = GroupRegistry(redis)
    assert await registry.robot_key("g-robot") == ROBOT_KEY
    saved = await registry.get("g-robot")
    assert saved and saved.members == 320 and saved.name == "幸福村村民群"
    assert await redis.hget(health, "g-robot") is None
    for path in ("/console/groups/view?id=g-robot", "/console/groups", "/console/groups/export"):
        assert ROBOT_KEY not in await (await client.get(path)).text()
    page = await (await client.get("/console/groups/view?id=g-robot")).text()
    assert "已设置，留空则不变" in page and 'type="password"' in page


async def test_bad_group_edits_change_nothing(client: Client, redis: Redis) -> None:
    await _setup(redis)
    token = await log_in(client, "zhang")
    base = {"csrf_token": token, "name": "x", "kind": "village", "target": "robot", "members": "1"}
    for changes in (
        {"kind": "martian"},
        {"members": "-3"},
        {"region": "城关镇//幸福村"},
        {"robot_key": "has space"},
    ):
        response = await client.post("/console/groups/save?id=g-robot", data={**base, **changes})
        assert response.status == 400, changes
        assert await GroupRegistry(redis).get("g-robot") == ROBOT
    assert await GroupRegistry(redis).robot_key("g-robot") is None


async def test_group_names_are_escaped(client: Client, redis: Redis) -> None:
    await _setup(redis)
    await log_in(client, "zhang")
    for path in ("/console/groups", "/console/groups/view?id=g-robot"):
        page = await (await client.get(path)).text()
        assert "<b>幸福村</b>" not in page and "&lt;b&gt;幸福村&lt;/b&gt;" in page


async def test_import_is_all_or_nothing_and_export_has_no_keys(
    client: Client, redis: Redis
) -> None:
    await _setup(redis)
    token = await log_in(client, "zhang")
    bad = (
        "id,name,kind,region,members,owner,target,robot_key\n"
        "n1,新群,village,城关镇/新村,10,,robot,k1\n"
        "n2,坏群,martian,,1,,,\n"
    )
    form = FormData({"csrf_token": token})
    form.add_field("file", bad.encode(), filename="groups.csv", content_type="text/csv")
    response = await client.post("/console/groups/import", data=form)
    assert response.status == 400 and "没有导入任何群" in await response.text()
    assert await GroupRegistry(redis).get("n1") is None
    good = bad.splitlines()[0] + "\n" + bad.splitlines()[1] + "\n"
    form = FormData({"csrf_token": token})
    form.add_field("file", good.encode(), filename="groups.csv", content_type="text/csv")
    response = await client.post("/console/groups/import", data=form, allow_redirects=False)
    assert response.status == 302
    assert await GroupRegistry(redis).robot_key("n1") == "k1"
    exported = await (await client.get("/console/groups/export")).text()
    assert "n1,新群,village" in exported and "k1" not in exported
