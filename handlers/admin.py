"""Bind the group a message comes from to the registry: 绑定, 解绑 and 本群信息.

Only members on the admin allow-list may change a binding. An entry of the list is either a
bare member id ("zhangsan", valid on every channel) or one qualified by its channel
("wecom-bot:zhangsan"); qualify ids for channels whose names anyone can type, like the simulator.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

from bot.filters import addressed, bare, text_is
from bot.models import Group, Message, Reply
from bot.router import Router
from bot.settings import Settings
from bot.store.groups import REGION_SEPARATOR, GroupRegistry, InvalidGroup, parse_kind

log = logging.getLogger(__name__)

router = Router("admin")

# "绑定" then a space or colon: "绑定银行卡安全吗" is a question for the other routers.
BIND = re.compile(r"^绑定(?:本群)?(?:\s*[:：]\s*|\s+|$)(.*)$", re.S)
UNBIND_WORDS = ("解绑", "解除绑定", "取消绑定")
INFO_WORDS = ("本群信息", "群信息", "查看本群")
_SLASHES = str.maketrans({"／": "/", "\\": "/", "、": "/"})

KIND_CHOICES = "村民群、社区群、员工群、财务群、家长群、师生群、老年人群"


class BadCommand(ValueError):
    """A 绑定 command that cannot be understood; the message is the Chinese hint."""


def bind_command(message: Message) -> dict[str, Any] | None:
    """Pass when the member asked the bot to bind this conversation; hand over the words."""
    found = BIND.match(bare(message.text))
    return {"words": found.group(1).split()} if found else None


def is_admin(message: Message, admins: frozenset[str]) -> bool:
    """Return True when the sender is on the allow-list, bare or channel-qualified."""
    return message.user in admins or f"{message.channel}:{message.user}" in admins


def parse_binding(words: list[str], current: Group) -> Group:
    """Return the group `words` describe ("家长群 实验小学/三年级2班 [name]"); raise BadCommand."""
    if len(words) < 2:
        raise BadCommand("请写上群类型和所在地区。")
    kind = parse_kind(words[0])
    if kind is None:
        raise BadCommand(f"不认识“{words[0]}”这个群类型。")
    region = words[1].translate(_SLASHES).strip(REGION_SEPARATOR)
    segments = region.split(REGION_SEPARATOR)
    if not region or any(not segment.strip() for segment in segments):
        raise BadCommand("地区的每一级都要写上名字，中间用一个斜杠隔开。")
    name = " ".join(words[2:]) or current.name or f"{segments[-1]}{kind.label}"
    return replace(current, name=name, kind=kind, region=region)


def usage(settings: Settings) -> str:
    """Return how to write the 绑定 command."""
    return (
        f"登记本群的写法是：{settings.mention} 绑定 群类型 地区 群名（群名可以不写）\n"
        f"例如：{settings.mention} 绑定 家长群 实验小学/三年级2班\n"
        f"群类型可以写：{KIND_CHOICES}。\n"
        "地区从大到小写，中间用斜杠隔开，比如“城关镇/幸福村”。"
    )


def describe(group: Group) -> str:
    """Return the binding of `group` in words residents read."""
    region = " / ".join(group.region.split(REGION_SEPARATOR)) if group.region else "未填写"
    return f"群类型：{group.kind.label}\n所在地区：{region}\n群名：{group.name or '未填写'}"


def in_private(message: Message) -> bool:
    """Pass in a one-to-one chat."""
    return message.group is None


@router.message(addressed, in_private, bind_command)
@router.message(addressed, in_private, text_is(*UNBIND_WORDS, *INFO_WORDS))
async def explain_private(settings: Settings) -> Reply:
    """Explain that a group is bound from inside that group."""
    return Reply.text(
        "登记群要在那个群里办：请在群里发“"
        f"{settings.mention} 绑定 家长群 实验小学/三年级2班”这样的消息。\n"
        "咱们一对一聊天不用登记，有什么想问的直接发给我就行。",
        intent="admin",
    )


@router.message(addressed, bind_command)
async def bind(
    message: Message,
    words: list[str],
    registry: GroupRegistry,
    admins: frozenset[str],
    settings: Settings,
) -> Reply:
    """Bind this group to a kind and region, if the sender is an admin."""
    if not is_admin(message, admins):
        return _refusal()
    assert message.group is not None  # in_private answered one-to-one chats
    try:
        group = parse_binding(words, message.group)
    except BadCommand as exc:
        return Reply.text(f"{exc}\n{usage(settings)}", intent="admin")
    before = await registry.get(group.id)
    await registry.put(group)
    log.info("group %s bound as %s", group.id, group.kind.value)
    lead = "本群的登记已更新" if before else "好的，本群已经登记好了"
    return Reply.text(
        f"{lead}：\n{describe(group)}\n以后的反诈提醒会按{group.kind.label}的需要发到这里。",
        intent="admin",
    )


@router.message(addressed, text_is(*UNBIND_WORDS))
async def unbind(message: Message, registry: GroupRegistry, admins: frozenset[str]) -> Reply:
    """Remove this group from the registry, if the sender is an admin."""
    if not is_admin(message, admins):
        return _refusal()
    assert message.group is not None
    removed = await registry.remove(message.group.id)
    if removed is None:
        return Reply.text("本群还没有登记，不用解绑。", intent="admin")
    log.info("group %s unbound", removed.id)
    return Reply.text(
        f"好的，本群的登记已经解除（原来是{removed.kind.label}）。"
        "以后不会再定时往这里发提醒，大家有问题照样可以@我。",
        intent="admin",
    )


@router.message(addressed, text_is(*INFO_WORDS))
async def info(message: Message, registry: GroupRegistry, settings: Settings) -> Reply:
    """Show how this group is bound, or how to bind it."""
    assert message.group is not None
    group = await registry.get(message.group.id)
    if group is None:
        return Reply.text(
            f"本群还没有登记，所以收不到定时的反诈提醒。请管理员登记。\n{usage(settings)}",
            intent="admin",
        )
    return Reply.text(f"本群的登记信息：\n{describe(group)}", intent="admin")


@router.errors(InvalidGroup)
async def invalid_group(exception: InvalidGroup, settings: Settings) -> Reply:
    """Turn a group the registry refuses into a Chinese hint; nothing was stored."""
    log.warning("group registry refused a binding: %s", exception)
    hints = {
        "id": "这个群暂时没法登记，请联系技术人员看一下。",
        "name": "群名太长了，请写短一些（100 个字以内）。",
        "region": "地区写得不对：每一级都要有名字，总共不超过 200 个字。",
    }
    hint = hints.get(exception.field, "这次登记没有成功，请检查一下再试。")
    return Reply.text(f"{hint}\n{usage(settings)}", intent="admin")


def _refusal() -> Reply:
    return Reply.text(
        "不好意思，只有管理员才能登记或解除本群。需要登记的话，请联系负责本群的民警或网格员。",
        intent="admin",
    )
