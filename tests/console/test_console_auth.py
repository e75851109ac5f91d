"""Console accounts, sessions, CSRF and throttling over the real app and Redis."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.console.auth import LOCKED_MESSAGE
from bot.console.lockout import MAX_ACCOUNTS, MAX_FAILURES
from bot.console.queue import Queue
from bot.console.users import UserError, UserStore
from tests.support.console import PASSWORD, content_form, log_in, make_user, post_login

Client = TestClient[Any, Any]


async def test_pages_redirect_to_login_and_apis_answer_401(client: Client) -> None:
    for path in ("/console", "/console/groups", "/console/users", "/console/items/1"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 302
        assert response.headers["Location"].startswith("/console/login?next=")
    response = await client.get("/console", headers={"Accept": "application/json"})
    assert response.status == 401
    assert (await response.json())["error"] == "请先登录。"


async def test_login_sets_a_strict_http_only_session_cookie(client: Client, redis: Redis) -> None:
    await make_user(redis, "zhang", "officer", "张警官")
    response = await post_login(client, name="zhang", password=PASSWORD)
    assert response.status == 302
    cookie = response.cookies["fz_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert not cookie["secure"]  # base_url is plain http in tests
    page = await (await client.get("/console")).text()
    assert "张警官（民警/宣传干事）" in page
    assert "内容队列" in page


async def test_wrong_password_is_refused_and_throttled(client: Client, redis: Redis) -> None:
    await make_user(redis, "zhang", "officer")
    for _ in range(MAX_FAILURES):
        response = await post_login(client, name="zhang", password="x")
        assert response.status == 401
        assert "用户名或密码不对" in await response.text()
    response = await post_login(client, name="zhang", password=PASSWORD)
    assert response.status == 429
    assert LOCKED_MESSAGE in await response.text()
    assert "fz_session" not in response.cookies


async def test_a_login_post_without_the_forms_token_is_refused_and_not_counted(
    client: Client, redis: Redis
) -> None:
    await make_user(redis, "zhang", "officer")
    await client.get("/console/login")  # the browser holds a login cookie, the attacker not
    for _ in range(MAX_FAILURES + 1):
        response = await client.post(
            "/console/login",
            data={"name": "zhang", "password": PASSWORD, "csrf_token": "forged-" + "x" * 25},
            allow_redirects=False,
        )
        assert response.status == 403
        assert "登录页面已过期" in await response.text()
        assert "fz_session" not in response.cookies
    response = await post_login(client, name="zhang", password=PASSWORD)
    assert response.status == 302  # refusals are not password failures: no lock-out


async def test_one_address_trying_many_names_is_throttled(client: Client, redis: Redis) -> None:
    await make_user(redis, "wang", "reviewer")
    for n in range(MAX_ACCOUNTS):
        await post_login(client, name=f"guess{n}", password="x")
    response = await post_login(client, name="wang", password=PASSWORD)
    assert response.status == 429


async def test_disabled_accounts_cannot_log_in_and_lose_their_session(
    client: Client, redis: Redis
) -> None:
    await make_user(redis, "li", "officer")
    await log_in(client, "li")
    await UserStore(redis).set_disabled("li", True)
    response = await client.get("/console", allow_redirects=False)
    assert response.status == 302
    response = await post_login(client, name="li", password=PASSWORD)
    assert response.status == 401


async def test_a_password_change_ends_older_sessions(client: Client, redis: Redis) -> None:
    await make_user(redis, "li", "officer")
    await log_in(client, "li")
    assert (await client.get("/console", allow_redirects=False)).status == 200
    await UserStore(redis).set_password("li", "a-new-password")
    assert (await client.get("/console", allow_redirects=False)).status == 302
    await log_in(client, "li", "a-new-password")
    assert (await client.get("/console", allow_redirects=False)).status == 200


async def test_post_without_or_with_a_wrong_csrf_token_changes_nothing(
    client: Client, redis: Redis
) -> None:
    await make_user(redis, "zhang", "officer")
    token = await log_in(client, "zhang")
    for extra in ({}, {"csrf_token": "forged"}, {"csrf_token": token[:-1]}):
        response = await client.post("/console/items", data=content_form(**extra))
        assert response.status == 403
        assert await Queue(redis).all() == []
    response = await client.post("/console/logout", allow_redirects=False)
    assert response.status == 403
    response = await client.post(
        "/console/items", data=content_form(csrf_token=token), allow_redirects=False
    )
    assert response.status == 302
    assert len(await Queue(redis).all()) == 1


async def test_csrf_header_is_accepted_too(client: Client, redis: Redis) -> None:
    await make_user(redis, "zhang", "officer")
    token = await log_in(client, "zhang")
    response = await client.post(
        "/console/items",
        data=content_form(),
        headers={"X-CSRF-Token": token},
        allow_redirects=False,
    )
    assert response.status == 302


async def test_logout_ends_the_session(client: Client, redis: Redis) -> None:
    await make_user(redis, "zhang", "officer")
    token = await log_in(client, "zhang")
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/"))["fz_session"].value
    response = await client.post(
        "/console/logout", data={"csrf_token": token}, allow_redirects=False
    )
    assert response.status == 302
    client.session.cookie_jar.update_cookies({"fz_session": cookie})
    response = await client.get("/console", allow_redirects=False)
    assert response.status == 302


async def test_roles_are_enforced(client: Client, redis: Redis) -> None:
    await make_user(redis, "wang", "reviewer")
    await make_user(redis, "teacher", "forwarder")
    token = await log_in(client, "wang")
    assert (await client.get("/console/items/new")).status == 403
    response = await client.post("/console/items", data=content_form(csrf_token=token))
    assert response.status == 403
    assert (await client.get("/console/users")).status == 403
    await log_in(client, "teacher")
    response = await client.get("/console", allow_redirects=False)
    assert response.headers["Location"] == "/console/groups"
    assert (await client.get("/console/calendar")).status == 403


async def test_login_never_redirects_off_site(client: Client, redis: Redis) -> None:
    await make_user(redis, "zhang", "officer")
    for target in ("https://evil.example/", "//evil.example/console", "/console\\@evil"):
        client.session.cookie_jar.clear()  # a fresh browser each time, not yet logged in
        response = await post_login(client, name="zhang", password=PASSWORD, next=target)
        assert response.headers["Location"] == "/console"


async def test_user_store_refuses_bad_accounts(redis: Redis) -> None:
    store = UserStore(redis)
    await store.add("zhang", "officer", "张警官", PASSWORD)
    for args in (
        ("zhang", "officer", "又一个", PASSWORD),
        ("Bad Name", "officer", "x", PASSWORD),
        ("chen", "boss", "x", PASSWORD),
        ("chen", "officer", "x", "short"),
    ):
        try:
            await store.add(*args)
        except UserError as exc:
            assert str(exc)
        else:
            raise AssertionError(f"accepted {args}")
    assert [u.name for u in await store.all()] == ["zhang"]
    user = await store.get("zhang")
    assert user and PASSWORD not in user.password_hash and user.password_hash.startswith("$argon2")


async def test_refusals_explain_themselves(client: Client, redis: Redis) -> None:
    await make_user(redis, "teacher", "forwarder")
    await log_in(client, "teacher")
    response = await client.get("/console/items/new")
    assert response.status == 403 and "你的账号没有这个权限" in await response.text()
    response = await client.post("/console/logout")
    assert response.status == 403 and "表单已过期或来源不明" in await response.text()
    response = await client.post("/console/logout", headers={"Accept": "application/json"})
    assert (await response.json())["error"] == "表单已过期或来源不明，请刷新页面后重试。"
