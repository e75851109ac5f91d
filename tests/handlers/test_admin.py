"""Binding groups from inside the group, through the real Dispatcher and ChatService."""

from __future__ import annotations

from dataclasses import replace

import pytest
from redis.asyncio import Redis

from bot.app import build_service
from bot.channels.simulator import DEMO_GROUPS, PRIVATE, Simulator
from bot.library import Library
from bot.models import Group, GroupKind
from bot.settings import Settings
from bot.store.groups import GroupRegistry
from tests.conftest import Transcript

UNBOUND = Group("wecom-bot:wrNEW", "", GroupKind.UNBOUND)
ADMINS = frozenset({"simulator:王老师", "李警官"})


@pytest.fixture
async def registry(redis: Redis) -> GroupRegistry:
    return GroupRegistry(redis)


@pytest.fixture
async def talk(
    settings: Settings, library: Library, redis: Redis, registry: GroupRegistry
) -> Transcript:
    """A transcript over the demo groups plus one unbound WeCom-style group."""
    service = await build_service(replace(settings, admins=ADMINS), library, redis)
    return Transcript(service, Simulator((*DEMO_GROUPS, UNBOUND)))


async def test_admin_binds_an_unbound_group(talk: Transcript, registry: GroupRegistry) -> None:
    answer = await talk.say(
        "@反诈助手 绑定 家长群 实验小学/三年级2班", group=UNBOUND.id, user="王老师"
    )
    assert answer is not None
    assert "本群已经登记好了" in answer
    assert "家长群" in answer and "实验小学 / 三年级2班" in answer
    assert await registry.get(UNBOUND.id) == Group(
        UNBOUND.id, "三年级2班家长群", GroupKind.PARENTS, "实验小学/三年级2班"
    )


async def test_kind_by_code_and_an_explicit_name(
    talk: Transcript, registry: GroupRegistry
) -> None:
    answer = await talk.say(
        "反诈助手 绑定：village 城关镇／幸福村 幸福村 一组", group=UNBOUND.id, user="李警官"
    )
    assert answer is not None and "村民群" in answer
    bound = await registry.get(UNBOUND.id)
    assert bound == Group(UNBOUND.id, "幸福村 一组", GroupKind.VILLAGE, "城关镇/幸福村")


async def test_rebinding_updates_and_keeps_the_member_count(
    talk: Transcript, registry: GroupRegistry
) -> None:
    group = DEMO_GROUPS[0]
    answer = await talk.say("@反诈助手 绑定 社区群 城关镇/东街社区", group=group.id, user="王老师")
    assert answer is not None and "本群已经登记好了" in answer
    answer = await talk.say(
        "@反诈助手 绑定 老年人群 城关镇/东街社区", group=group.id, user="王老师"
    )
    assert answer is not None and "本群的登记已更新" in answer
    bound = await registry.get(group.id)
    assert bound is not None
    assert (bound.kind, bound.name, bound.members) == (
        GroupKind.ELDERLY,
        group.name,
        group.members,
    )


async def test_non_admin_is_refused_and_nothing_changes(
    talk: Transcript, registry: GroupRegistry
) -> None:
    answer = await talk.say("@反诈助手 绑定 家长群 实验小学/三年级2班", group=UNBOUND.id)
    assert answer is not None and "只有管理员" in answer
    # A simulator nickname equal to a channel-qualified admin of another channel is no admin.
    await talk.say("@反诈助手 绑定 家长群 实验小学/三年级2班", group=UNBOUND.id, user="wecom:王")
    assert await registry.all() == []


@pytest.mark.parametrize(
    ("command", "hint"),
    [
        ("绑定", "请写上群类型和所在地区"),
        ("绑定 家长群", "请写上群类型和所在地区"),
        ("绑定 银行卡 城关镇", "不认识“银行卡”这个群类型"),
        ("绑定 家长群 实验小学//三年级2班", "地区的每一级都要写上名字"),
        ("绑定 家长群 实验小学/三年级2班 " + "长" * 120, "群名太长了"),
    ],
)
async def test_malformed_command_gets_usage_and_nothing_changes(
    talk: Transcript, registry: GroupRegistry, command: str, hint: str
) -> None:
    answer = await talk.say(f"@反诈助手 {command}", group=UNBOUND.id, user="王老师")
    assert answer is not None
    assert hint in answer
    assert "例如：@反诈助手 绑定 家长群 实验小学/三年级2班" in answer
    assert await registry.all() == []


async def test_a_question_about_binding_a_card_is_not_a_command(
    talk: Transcript, registry: GroupRegistry
) -> None:
    answer = await talk.say("@反诈助手 绑定银行卡安全吗", group=UNBOUND.id, user="王老师")
    assert answer is None or "登记" not in answer
    assert await registry.all() == []


async def test_unbind_removes_the_binding(talk: Transcript, registry: GroupRegistry) -> None:
    await talk.say("@反诈助手 绑定 员工群 城关镇/工业园区", group=UNBOUND.id, user="王老师")
    refused = await talk.say("@反诈助手 解绑", group=UNBOUND.id)
    assert refused is not None and "只有管理员" in refused
    assert await registry.get(UNBOUND.id) is not None
    answer = await talk.say("@反诈助手 解绑", group=UNBOUND.id, user="王老师")
    assert answer is not None and "已经解除" in answer and "员工群" in answer
    assert await registry.get(UNBOUND.id) is None
    again = await talk.say("@反诈助手 解绑", group=UNBOUND.id, user="王老师")
    assert again is not None and "还没有登记" in again


async def test_anyone_can_see_the_binding(talk: Transcript) -> None:
    answer = await talk.say("@反诈助手 本群信息", group=UNBOUND.id)
    assert answer is not None and "还没有登记" in answer
    await talk.say(
        "@反诈助手 绑定 财务群 城关镇/工业园区 恒达财务", group=UNBOUND.id, user="李警官"
    )
    answer = await talk.say("@反诈助手 本群信息", group=UNBOUND.id)
    assert (
        answer == "本群的登记信息：\n群类型：财务群\n所在地区：城关镇 / 工业园区\n群名：恒达财务"
    )


async def test_commands_need_the_bot_addressed(talk: Transcript, registry: GroupRegistry) -> None:
    assert (
        await talk.say("绑定 家长群 实验小学/三年级2班", group=UNBOUND.id, user="王老师") is None
    )
    assert await registry.all() == []


@pytest.mark.parametrize("command", ["绑定 家长群 实验小学/三年级2班", "解绑", "本群信息"])
async def test_one_to_one_chat_explains_where_to_bind(
    talk: Transcript, registry: GroupRegistry, command: str
) -> None:
    answer = await talk.say(command, group=PRIVATE, user="王老师")
    assert answer is not None and "要在那个群里办" in answer
    assert await registry.all() == []
