"""Console pages beyond the queue: calendar, accounts, cookie security behind https."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.app import create_app
from bot.console.users import UserStore
from bot.library import Library
from bot.settings import Settings
from tests.support.console import PASSWORD, log_in, make_user

Client = TestClient[Any, Any]


async def test_calendar_shows_standing_campaigns_read_only(client: Client, redis: Redis) -> None:
    await make_user(redis, "zhang", "officer")
    await log_in(client, "zhang")
    page = await (await client.get("/console/calendar")).text()
    # Weekly campaigns from schedules/ fire at least once in any two weeks.
    assert "企业与财务人员每周防骗提醒" in page and "常规推送" in page
    assert "<form" not in page.split("<main>")[1]  # nothing to change there


async def test_admin_adds_and_disables_accounts(client: Client, redis: Redis) -> None:
    await make_user(redis, "admin", "admin", "管理员")
    token = await log_in(client, "admin")
    form = {
        "csrf_token": token,
        "name": "liu",
        "display": "刘老师",
        "role": "forwarder",
        "password": "short",
    }
    response = await client.post("/console/users", data=form)
    assert response.status == 400 and "密码至少 8 位" in await response.text()
    assert await UserStore(redis).get("liu") is None
    response = await client.post("/console/users", data={**form, "password": PASSWORD})
    assert response.status == 200 and "刘老师" in await response.text()
    response = await client.post(
        "/console/users/toggle", data={"csrf_token": token, "name": "liu", "disable": "1"}
    )
    liu = await UserStore(redis).get("liu")
    assert liu and liu.disabled
    response = await client.post(
        "/console/users/toggle", data={"csrf_token": token, "name": "admin", "disable": "1"}
    )
    assert response.status == 400 and "不能停用自己的账号" in await response.text()
    page = await (await client.get("/console/users")).text()
    # The audit log names people by display name and role, never by login.
    row = (
        '<td data-label="操作人">管理员（管理员）</td><td data-label="操作">停用账号</td>'
        '<td data-label="对象">刘老师（转发员）</td>'
    )
    assert row in page
    form_part = page.split("新建账号")[1]
    assert '<option value="forwarder" selected>' in form_part  # the least privilege by default
    assert form_part.index("forwarder") < form_part.index('value="admin"')
    assert PASSWORD not in page


async def test_session_cookie_is_secure_behind_https(
    aiohttp_client: Any, settings: Settings, library: Library, redis: Redis
) -> None:
    app = create_app(replace(settings, public_url="https://fanzha.example.gov.cn"), library)
    https_client = await aiohttp_client(app)
    await make_user(redis, "zhang", "officer")
    form = await https_client.get("/console/login")
    assert form.cookies["fz_login"]["secure"]
    token = form.cookies["fz_login"].value  # a browser on https sends the Secure cookie back
    response = await https_client.post(
        "/console/login",
        data={"name": "zhang", "password": PASSWORD, "csrf_token": token},
        cookies={"fz_login": token},
        allow_redirects=False,
    )
    assert response.status == 302
    assert response.cookies["fz_session"]["secure"]


async def test_junk_input_never_causes_a_server_error(client: Client, redis: Redis) -> None:
    await make_user(redis, "admin", "admin")
    token = await log_in(client, "admin")
    junk: list[dict[str, Any]] = [
        {},
        {"title": "\x00" * 10, "kinds": ["village", "village"], "send_at": "2026-13-45T99:99"},
        {"members": "9" * 9, "kind": "", "target": "nonsense", "name": " x "},
        {"name": "a" * 500, "role": "admin", "display": "", "password": "x" * 300},
        {"comment": "长" * 600, "disable": "maybe"},
    ]
    posts = [
        "/console/items",
        "/console/items/1",
        "/console/items/1/approve",
        "/console/groups/save?id=nope",
        "/console/groups/import",
        "/console/users",
        "/console/users/toggle",
        "/console/login",
    ]
    for path in posts:
        for fields in junk:
            response = await client.post(path, data={"csrf_token": token, **fields})
            assert response.status < 500, (path, fields, await response.text())
        response = await client.post(path, data=b"\xff\xfe", headers={"X-CSRF-Token": token})
        assert response.status < 500, path
    for path in ("/console/groups/view?id=" + "x" * 300, "/console/items/999999999999"):
        assert (await client.get(path)).status == 404
