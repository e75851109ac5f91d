"""Forwarders' tools, sends that ask first, drafts from bundled content, reviewers told."""

from __future__ import annotations

import io
import re
from typing import Any

from aiohttp.test_utils import TestClient
from openpyxl import load_workbook
from PIL import Image
from redis.asyncio import Redis

from bot.app import create_app
from bot.articles import links
from bot.articles.tracking import forwarder_totals
from bot.channels.wecom_app import WeComAppConfig, setup_wecom_app
from bot.console import qr
from bot.console.queue import Queue
from bot.library import Library
from bot.models import Group, GroupKind, PushTarget
from bot.push.outbox import Outbox
from bot.settings import Settings
from bot.store.groups import GroupRegistry
from bot.store.reach import Measure
from bot.web.articles import local_day
from tests.support.console import content_form, log_in, make_user
from tests.support.fakes import FakeWeComAPI

Client = TestClient[Any, Any]
OWN = Group("f1", "三年级2班家长群", GroupKind.PARENTS, "城关镇/实验小学", 46, "liu",
            PushTarget.FORWARD)  # fmt: skip
OTHERS = Group("f2", "幸福村村民群", GroupKind.VILLAGE, "城关镇/幸福村", 304, "zhao",
               PushTarget.SIMULATOR)  # fmt: skip
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
_HREF = re.compile(r'href="[^"]*(/quiz/[0-9a-f]+\?g=[^"]+)"')


async def _groups(redis: Redis) -> None:
    for group in (OWN, OTHERS):
        await GroupRegistry(redis).put(group)


async def test_a_teacher_opens_a_page_quiz_prints_its_code_and_exports_winners(
    client: Client, redis: Redis, settings: Settings
) -> None:
    await _groups(redis)
    await make_user(redis, "liu", "forwarder", "刘老师")
    token = await log_in(client, "liu")
    listing = await (await client.get("/console/share")).text()
    assert "三年级2班家长群" in listing and "幸福村村民群" not in listing
    assert (await client.get("/console/share/group?id=f2")).status == 404  # not hers

    bad = await client.post("/console/share/quiz?id=f1", data={"csrf_token": token,
                            "count": "99", "hours": "24"})  # fmt: skip
    assert bad.status == 400 and "题目数要在 1 到 20 之间" in await bad.text()
    opened = await client.post("/console/share/quiz?id=f1", data={"csrf_token": token,
                               "count": "3", "hours": "24"}, allow_redirects=False)  # fmt: skip
    assert opened.status == 302
    page = await (await client.get("/console/share/group?id=f1")).text()
    assert page.count("<svg") >= 2 and "防诈承诺书" in page and "网页答题" in page

    # The printed code is its own link code: same group, counted apart as offline reach.
    online, offline = await qr.codes(redis, "f1", "liu", forwarder=True)
    assert online != offline and f"g={offline}" in page and f"g={online}" in page
    target = await links.resolve(redis, offline)
    assert target is not None and target.group_id == "f1" and target.forwarder == "qr:liu"
    png = await client.get("/console/share/qr.png?id=f1&what=pledge")
    assert png.status == 200 and png.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(await png.read())).size[0] >= 300
    assert (await client.get("/console/share/qr.png?id=f1&what=nothing")).status == 404

    # A parent scans the code, answers, and sees the score with marks at once.
    quiz_path = _HREF.search(page.replace(online, offline))
    assert quiz_path is not None
    client.session.cookie_jar.clear()
    form = await (await client.get(quiz_path.group(1))).text()
    answer_token = re.search(r'name="token" value="([^"]+)"', form)
    assert answer_token is not None
    answers = {f"q{i}": "A" for i in range(3)}
    done = await client.post(quiz_path.group(1), data={"token": answer_token.group(1),
                             "name": "小明妈妈", **answers})  # fmt: skip
    result = await done.text()
    assert re.search(r'得分 <strong class="score">\d+</strong> 分，答对 \d / 3 题', result)
    assert result.count("✓") + result.count("✗") == 3

    # Back in the console, the teacher downloads the winners.
    token = await log_in(client, "liu")
    round_id = quiz_path.group(1).split("/")[2].split("?")[0]
    sheet = await client.get(f"/console/share/winners?id=f1&round={round_id}&format=xlsx")
    assert sheet.status == 200
    book = load_workbook(io.BytesIO(await sheet.read()))
    rows = list(book.active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows[1][1] == "小明妈妈" and rows[1][2] == "三年级2班家长群"
    assert (await client.get("/console/share/winners?id=f1&round=ffff&format=xlsx")).status == 404


async def test_offline_views_count_for_the_group_and_apart(
    client: Client, redis: Redis, settings: Settings
) -> None:
    await _groups(redis)
    _, offline = await qr.codes(redis, "f1", "liu", forwarder=True)
    page = await client.get(f"/a/alerts/jinji-kuaidi-lipei?g={offline}")
    assert page.status == 200
    totals = await forwarder_totals(redis, [local_day(settings)], "qr:liu")
    assert totals["f1"][Measure.VIEWS] == 1


async def test_sends_ask_first_with_the_audience_count(client: Client, redis: Redis) -> None:
    await _groups(redis)
    await GroupRegistry(redis).put(Group("f3", "新民村村民群", GroupKind.VILLAGE, "河口镇", 0,
                                         "", PushTarget.SIMULATOR))  # fmt: skip
    await make_user(redis, "zhang", "officer", "张警官", rights=("urgent",))
    token = await log_in(client, "zhang")
    depth = await Outbox(redis).depth()
    created = await client.post("/console/items", data=content_form(csrf_token=token,
                                urgent="on"), allow_redirects=False)  # fmt: skip
    item = str(created.headers["Location"]).rsplit("/", 1)[1]
    asked = await client.post(f"/console/items/{item}/urgent", data={"csrf_token": token})
    text = await asked.text()
    assert asked.status == 200 and "将发送给 2 个群，约 304 人（其中 1 个群没有填写人数）" in text
    stored = await Queue(redis).get(item)
    assert stored is not None and stored.state == "draft"
    assert await Outbox(redis).depth() == depth  # nothing queued before the confirmation
    sent = await client.post(f"/console/items/{item}/urgent",
                             data={"csrf_token": token, "confirmed": "1"})  # fmt: skip
    assert sent.status == 200
    stored = await Queue(redis).get(item)
    assert stored is not None and stored.state == "sent" and stored.sent_groups == 2


async def test_a_draft_starts_from_a_bundled_alert_or_an_old_item(
    client: Client, redis: Redis, library: Library
) -> None:
    await make_user(redis, "zhang", "officer", "张警官")
    await log_in(client, "zhang")
    sources = await (await client.get("/console/items/sources")).text()
    bundled = [a for a in library.articles.values() if a.kind in ("alert", "letter")]
    assert all(a.title in sources for a in bundled)
    form = await (await client.get("/console/items/new?from=alerts/jinji-kuaidi-lipei")).text()
    article = library.articles["alerts/jinji-kuaidi-lipei"]
    assert f'value="{article.title}"' in form and 'value="village" checked' in form
    assert (await client.get("/console/items/new?from=alerts/none")).status == 404
    assert (await client.get("/console/items/new?from=console/999")).status == 404


async def test_reviewers_get_a_wecom_app_message_and_a_badge(
    aiohttp_client: Any, aiohttp_server: Any, settings: Settings, library: Library, redis: Redis
) -> None:
    fake = FakeWeComAPI()
    fake.base = str((await aiohttp_server(fake.app)).make_url("")).rstrip("/")
    app = create_app(settings, library)
    config = WeComAppConfig(
        corp_id=fake.corp_id,
        token="fzTestToken2024",
        aes_key=AES_KEY,
        secret=fake.secret,
        agent_id=fake.agent_id,
        api_base=fake.base,
    )
    setup_wecom_app(app, config)
    client = await aiohttp_client(app)
    await _groups(redis)
    await make_user(redis, "zhang", "officer", "张警官")
    await make_user(redis, "wang", "reviewer", "王所长")
    token = await log_in(client, "zhang")
    created = await client.post("/console/items", data=content_form(csrf_token=token),
                                allow_redirects=False)  # fmt: skip
    item = str(created.headers["Location"]).rsplit("/", 1)[1]
    await client.post(f"/console/items/{item}/submit", data={"csrf_token": token})
    assert [m.users for m in fake.sent] == [("wang",)]
    assert "冒充客服退款诈骗预警" in str(fake.sent[0].body) and "张警官" in str(fake.sent[0].body)
    await log_in(client, "wang")
    home = await (await client.get("/console")).text()
    assert '<span class="badge" title="1 条内容等待审核">1</span>' in home
    shown = await (await client.get(f"/console/items/{item}")).text()
    assert "张警官（民警/宣传干事）" in shown and "请审核这条内容" in shown
