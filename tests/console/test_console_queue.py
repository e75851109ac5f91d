"""The content queue over HTTP: the state machine, history, audit, sending, previews, XSS."""

from __future__ import annotations

import time
from typing import Any

from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.articles.store import ArticleStore
from bot.channels.simulator import PRIVATE
from bot.console import audit, sending
from bot.console.queue import Queue
from bot.library import Library
from bot.models import Group, GroupKind, PushTarget
from bot.push.outbox import Outbox
from bot.store.groups import GroupRegistry
from tests.support.console import content_form, log_in, make_user

Client = TestClient[Any, Any]
VILLAGE = Group(
    "v1", "幸福村村民群", GroupKind.VILLAGE, "城关镇/幸福村", 300, "", PushTarget.SIMULATOR
)
OTHER_VILLAGE = Group(
    "v2", "新民村村民群", GroupKind.VILLAGE, "河口镇/新民村", 200, "", PushTarget.SIMULATOR
)
PARENTS = Group(
    "p1", "三年级家长群", GroupKind.PARENTS, "城关镇/实验小学", 50, "", PushTarget.SIMULATOR
)
SCRIPT = "<script>alert('x')</script>"


async def _setup(redis: Redis) -> None:
    for group in (VILLAGE, OTHER_VILLAGE, PARENTS):
        await GroupRegistry(redis).put(group)
    await make_user(redis, "zhang", "officer", "张警官")
    await make_user(redis, "wang", "reviewer", "王审核")
    await make_user(redis, "admin", "admin", "管理员")


async def _draft(client: Client, token: str, **fields: Any) -> str:
    response = await client.post(
        "/console/items", data=content_form(csrf_token=token, **fields), allow_redirects=False
    )
    assert response.status == 302, await response.text()
    return str(response.headers["Location"]).rsplit("/", 1)[1]


async def _act(client: Client, token: str, item: str, action: str, comment: str = "") -> Any:
    return await client.post(
        f"/console/items/{item}/{action}",
        # Sends are confirmed here; the question before a send is tested in test_console_share.
        data={"csrf_token": token, "comment": comment, "confirmed": "1"},
        allow_redirects=False,
    )


async def _approved(client: Client, redis: Redis, **fields: Any) -> tuple[str, str]:
    """Draft an item as the officer and approve it as the reviewer; return its id and the
    reviewer's CSRF token."""
    await _setup(redis)
    token = await log_in(client, "zhang")
    item = await _draft(client, token, **fields)
    await _act(client, token, item, "submit")
    token = await log_in(client, "wang")
    await _act(client, token, item, "approve")
    return item, token


async def test_draft_review_approve_send(client: Client, redis: Redis, library: Library) -> None:
    await _setup(redis)
    token = await log_in(client, "zhang")
    item = await _draft(client, token, region="城关镇")
    assert (await _act(client, token, item, "submit")).status == 302
    token = await log_in(client, "wang")
    assert (await _act(client, token, item, "approve", "内容准确")).status == 302
    assert (await _act(client, token, item, "send")).status == 302
    stored = await Queue(redis).get(item)
    assert stored and stored.state == "sent" and stored.sent_groups == 1
    assert stored.comment == "内容准确"
    outbox = Outbox(redis)
    assert await outbox.state("v1", f"console/{item}|v1") in ("queued", "sent")
    assert await outbox.state("v2", f"console/{item}|v2") is None  # another town
    assert await outbox.state("p1", f"console/{item}|p1") is None  # not a village group
    article = await ArticleStore(library, redis).get(f"console/{item}")
    assert article and article.title == "冒充客服退款诈骗预警" and article.receipt == "simple"
    page = await (await client.get(f"/console/items/{item}")).text()
    assert "已发送" in page and f"/a/console/{item}?g=" in page
    states = [version.state for version in await Queue(redis).history(item)]
    assert states == ["draft", "review", "approved", "sent", "sent"]
    actions = [(e.user, e.action) for e in await audit.recent(redis, subject=f"console/{item}")]
    assert actions[::-1] == [
        ("zhang", "create"),
        ("zhang", "submit"),
        ("wang", "approve"),
        ("wang", "send"),
        ("wang", "delivered"),
    ]


async def test_illegal_transitions_are_refused_and_change_nothing(
    client: Client, redis: Redis
) -> None:
    await _setup(redis)
    token = await log_in(client, "zhang")
    item = await _draft(client, token)
    token = await log_in(client, "wang")
    response = await _act(client, token, item, "approve")
    assert response.status == 409
    assert "“草稿”的内容不能审核通过。" in await response.text()
    response = await _act(client, token, item, "send")
    assert response.status == 409
    assert "不能立即发送" in await response.text()
    stored = await Queue(redis).get(item)
    assert stored and stored.state == "draft" and stored.version == 1
    assert (await _act(client, token, item, "fly")).status == 404
    assert (await _act(client, token, "999", "approve")).status == 404


async def test_reject_needs_a_comment_and_sends_the_item_back(
    client: Client, redis: Redis
) -> None:
    await _setup(redis)
    token = await log_in(client, "zhang")
    item = await _draft(client, token)
    await _act(client, token, item, "submit")
    token = await log_in(client, "wang")
    response = await _act(client, token, item, "reject")
    assert response.status == 409 and "退回时请写明修改意见" in await response.text()
    assert (await _act(client, token, item, "reject", "请补充举报电话")).status == 302
    officer_token = await log_in(client, "zhang")
    response = await client.post(
        f"/console/items/{item}",
        data=content_form(csrf_token=officer_token, title="冒充客服退款诈骗预警（修订）"),
        allow_redirects=False,
    )
    assert response.status == 302
    stored = await Queue(redis).get(item)
    assert stored and stored.state == "draft" and stored.title.endswith("（修订）")
    assert stored.comment == "请补充举报电话"
    titles = [v.title for v in await Queue(redis).history(item)]
    assert titles[0] == "冒充客服退款诈骗预警" and titles[-1].endswith("（修订）")


async def test_sent_items_cannot_be_edited(client: Client, redis: Redis) -> None:
    await _setup(redis)
    token = await log_in(client, "admin")
    item = await _draft(client, token, urgent="on")
    assert (await _act(client, token, item, "urgent")).status == 302
    response = await client.post(
        f"/console/items/{item}", data=content_form(csrf_token=token, title="改")
    )
    assert response.status == 400 and "不能再改" in await response.text()
    stored = await Queue(redis).get(item)
    assert stored and stored.title == "冒充客服退款诈骗预警"


async def test_urgent_send_needs_the_right_and_is_logged(client: Client, redis: Redis) -> None:
    await _setup(redis)
    await make_user(redis, "chen", "officer", "陈警官", rights=("urgent",))
    token = await log_in(client, "zhang")
    item = await _draft(client, token, urgent="on")
    response = await _act(client, token, item, "urgent")
    assert response.status == 403
    assert "不能对这条内容做这个操作" in await response.text()
    token = await log_in(client, "chen")
    assert (await _act(client, token, item, "urgent")).status == 302
    stored = await Queue(redis).get(item)
    assert stored and stored.state == "sent" and stored.sent_groups == 2  # both villages
    entries = await audit.recent(redis, subject=f"console/{item}")
    assert ("chen", "urgent") in [(e.user, e.action) for e in entries]


async def test_an_item_without_an_audience_cannot_go_to_review(
    client: Client, redis: Redis
) -> None:
    await _setup(redis)
    token = await log_in(client, "zhang")
    item = await _draft(client, token, kinds="")
    response = await _act(client, token, item, "submit")
    assert response.status == 409 and "还没有选择发送对象" in await response.text()


async def test_nothing_is_sent_when_no_group_matches(client: Client, redis: Redis) -> None:
    await _setup(redis)
    token = await log_in(client, "admin")
    item = await _draft(client, token, kinds="elderly", urgent="on")
    response = await _act(client, token, item, "urgent")
    assert response.status == 409 and "现在没有符合发送对象的群" in await response.text()
    stored = await Queue(redis).get(item)
    assert stored and stored.state == "draft"


async def test_bad_form_input_gets_a_chinese_error(client: Client, redis: Redis) -> None:
    await _setup(redis)
    token = await log_in(client, "zhang")
    for fields, message in (
        ({"title": ""}, "标题不能为空"),
        ({"title": "长" * 65}, "太长"),
        ({"kinds": "martians"}, "群类型选择不对"),
        ({"send_at": "tomorrow"}, "发送时间格式不对"),
        ({"style": "video"}, "消息样式"),
    ):
        response = await client.post(
            "/console/items", data=content_form(csrf_token=token, **fields)
        )
        assert response.status == 400, fields
        assert message in await response.text()
    assert await Queue(redis).all() == []


async def test_approval_with_a_time_schedules_and_the_due_loop_sends(
    client: Client, redis: Redis, library: Library
) -> None:
    item, _ = await _approved(client, redis, send_at="2030-01-02T10:30")
    stored = await Queue(redis).get(item)
    assert stored and stored.state == "scheduled"
    assert stored.send_at == "2030-01-02T10:30:00+08:00"
    calendar = await (await client.get("/console/calendar")).text()
    assert "未来两周推送日历" in calendar
    assert await sending.send_due(redis, library, "Asia/Shanghai", time.time()) == 0
    due = 1893551400.0  # 2030-01-02 10:30 +08:00
    assert await sending.send_due(redis, library, "Asia/Shanghai", due) == 1
    assert await sending.send_due(redis, library, "Asia/Shanghai", due + 60) == 0
    sent = await Queue(redis).get(item)
    assert sent and sent.state == "sent" and sent.sent_groups == 2
    assert await Outbox(redis).state("v1", f"console/{item}|v1") in ("queued", "sent")


async def test_a_send_cut_short_by_a_crash_is_finished_by_the_due_loop(
    client: Client, redis: Redis, library: Library
) -> None:
    item, _ = await _approved(client, redis)
    queue = Queue(redis)
    approved = await queue.get(item)
    assert approved and approved.state == "approved"
    await queue.move(approved, "send", "wang")  # the click's first step; the process dies here
    assert await Outbox(redis).state("v1", f"console/{item}|v1") is None
    assert await sending.send_due(redis, library, "Asia/Shanghai", time.time()) == 1
    assert await Outbox(redis).state("v1", f"console/{item}|v1") in ("queued", "sent")
    sent = await queue.get(item)
    assert sent and sent.sent_groups == 2
    assert await sending.send_due(redis, library, "Asia/Shanghai", time.time()) == 0


async def test_unscheduling_takes_the_item_off_the_due_list(
    client: Client, redis: Redis, library: Library
) -> None:
    item, token = await _approved(client, redis, send_at="2030-01-02T10:30")
    assert (await _act(client, token, item, "unschedule")).status == 302
    assert await sending.send_due(redis, library, "Asia/Shanghai", 1893551400.0 + 60) == 0
    stored = await Queue(redis).get(item)
    assert stored and stored.state == "approved"


async def test_previews_show_every_channel_and_titles_are_escaped(
    client: Client, redis: Redis
) -> None:
    await _setup(redis)
    token = await log_in(client, "zhang")
    item = await _draft(client, token, title=SCRIPT, summary=SCRIPT, body=f"# {SCRIPT}")
    for path in ("/console", f"/console/items/{item}", f"/console/items/{item}/edit"):
        page = await (await client.get(path)).text()
        assert SCRIPT not in page, path
        assert "&lt;script&gt;" in page, path
    page = await (await client.get(f"/console/items/{item}")).text()
    assert "群机器人 Markdown" in page and "聊天纯文字" in page and "文章页" in page
    assert "点此阅读全文" in page


async def test_audit_log_is_for_admins_only(client: Client, redis: Redis) -> None:
    await _setup(redis)
    token = await log_in(client, "zhang")
    item = await _draft(client, token)
    page = await (await client.get(f"/console/items/{item}")).text()
    assert "操作日志" not in page and "修改记录" in page
    await log_in(client, "admin")
    page = await (await client.get(f"/console/items/{item}")).text()
    entry = '<td data-label="操作人">张警官（民警/宣传干事）</td><td data-label="操作">{}</td>'
    assert "操作日志" in page and entry.format("新建") in page
    page = await (await client.get("/console/users")).text()
    assert entry.format("登录") in page


async def test_residents_questions_show_escaped_on_the_dashboard(
    client: Client, redis: Redis
) -> None:
    await _setup(redis)
    question = "<script>alert('x')</script> 这种骗局怎么防"
    response = await client.post(
        "/api/sim/messages", json={"group": PRIVATE, "user": "村民", "text": question}
    )
    assert response.status == 200
    await log_in(client, "zhang")
    page = await (await client.get("/console/dashboard")).text()
    assert "&lt;script&gt;alert(" in page
    assert "<script>alert(" not in page
