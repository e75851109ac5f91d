"""What every content page shows besides its own data: people's names, the review badge, hints.

Logins and ids are for machines: officers read display names with their role
(「张警官（民警/宣传干事）」), item titles instead of 「console/1」, group names instead of ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiohttp import web
from redis.asyncio import Redis

from bot.appkeys import REDIS
from bot.console.auth import CURRENT_USER, render
from bot.console.queue import Item, Queue
from bot.console.users import User, UserStore
from bot.models import Group
from bot.store.groups import GroupRegistry

SYSTEM_NAMES = {"system": "系统（定时发送）", "cli": "命令行"}
REVIEWER_ROLES = ("admin", "reviewer")


async def people(redis: Redis) -> dict[str, str]:
    """Return every login's display name with its role, plus the system's own actors."""
    return {
        **SYSTEM_NAMES,
        **{
            user.name: f"{user.display}（{user.role_label}）"
            for user in await UserStore(redis).all()
        },
    }


async def subjects(redis: Redis, items: Iterable[Item]) -> dict[str, str]:
    """Return readable names of audit subjects: item titles, group names and people."""
    names = {item.article_id: f"《{item.title}》" for item in items}
    names.update({group.id: group.name or group.id for group in await GroupRegistry(redis).all()})
    names.update(await people(redis))
    return names


def waiting_count(user: User, items: Iterable[Item]) -> int:
    """Return how many items wait for review, for the reviewer's badge (0 for other roles)."""
    if user.role not in REVIEWER_ROLES:
        return 0
    return sum(1 for item in items if item.state == "review")


async def page(request: web.Request, template: str, **context: Any) -> web.Response:
    """Render a console page with the names of people and the reviewer's waiting badge."""
    redis = request.app[REDIS]
    items = await Queue(redis).all()
    return render(
        request,
        template,
        people=await people(redis),
        waiting=waiting_count(request[CURRENT_USER], items),
        **context,
    )


def next_step(item: Item, user: User) -> str:
    """Return what happens next to the item, said to this user (empty once it is sent)."""
    reviewer = user.role in REVIEWER_ROLES
    if item.state == "draft":
        return "下一步：检查预览无误后点「提交审核」，审核人通过后才能发出。"
    if item.state == "rejected":
        return "下一步：按审核意见点「修改」，改好后再次「提交审核」。"
    if item.state == "review":
        if reviewer:
            return "下一步：请审核这条内容，通过或写明意见退回。"
        return "下一步：等待审核人审核；审核人已在控制台看到待审核提醒。"
    if item.state == "approved":
        if reviewer:
            return "下一步：点「立即发送」马上发出；要定时发送，请让作者设定发送时间后再排期。"
        return "下一步：已通过审核，等待审核人「立即发送」。"
    if item.state == "scheduled":
        return "下一步：到了发送时间会自动发出；要改时间请先「取消排期」。"
    return ""


def audience_line(groups: list[Group]) -> str:
    """Return 「将发送给 37 个群，约 4,210 人」 for the groups an item would go to."""
    people_count = sum(group.members for group in groups)
    line = f"将发送给 {len(groups)} 个群，约 {people_count:,} 人"
    unknown = sum(1 for group in groups if not group.members)
    if unknown:
        line += f"（其中 {unknown} 个群没有填写人数）"
    return line
