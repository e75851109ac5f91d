"""The local simulator: demo groups of every kind, driven from a web page, JSON or the CLI."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.channels.base import InboundError
from bot.models import Group, GroupKind, Message, PushTarget, Reply

DEMO_GROUPS: tuple[Group, ...] = tuple(
    Group(group_id, name, kind, region, members, target=PushTarget.SIMULATOR)
    for group_id, name, kind, region, members in (
        ("sim-village", "幸福村村民群", GroupKind.VILLAGE, "城关镇/幸福村", 320),
        ("sim-enterprise", "恒达机械员工群", GroupKind.ENTERPRISE, "城关镇/工业园区", 180),
        ("sim-finance", "恒达机械财务群", GroupKind.FINANCE, "城关镇/工业园区", 8),
        ("sim-parents", "实验小学三年级2班家长群", GroupKind.PARENTS, "城关镇/实验小学", 48),
        ("sim-elderly", "东街社区夕阳红群", GroupKind.ELDERLY, "城关镇/东街社区", 95),
    )
)
PRIVATE = "private"
MAX_USER_CHARS = 32


class Simulator:
    """A channel with no outside service: messages arrive as JSON-like mappings."""

    name = "simulator"

    def __init__(
        self,
        groups: tuple[Group, ...] = DEMO_GROUPS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.groups = {group.id: group for group in groups}
        self._clock = clock

    def group_for_kind(self, kind: GroupKind) -> Group:
        """Return the first demo group of `kind`, or a stand-in group of that kind."""
        for group in self.groups.values():
            if group.kind is kind:
                return group
        return Group(f"sim-{kind.value}", kind.label, kind)

    def parse(self, payload: Any) -> Message:
        """Return the Message in `{"group", "user", "text"}`, or raise InboundError."""
        if not isinstance(payload, dict):
            raise InboundError(400, "请求格式不对：需要 JSON 对象，包含 group、user、text。")
        group_id, user, text = payload.get("group"), payload.get("user"), payload.get("text")
        if not isinstance(group_id, str) or (group_id != PRIVATE and group_id not in self.groups):
            raise InboundError(400, "没有这个群：请从页面上的群里选一个。")
        if not isinstance(user, str) or not user.strip() or len(user) > MAX_USER_CHARS:
            raise InboundError(400, f"昵称不能为空，也不能超过 {MAX_USER_CHARS} 个字。")
        if not isinstance(text, str) or not text.strip():
            raise InboundError(400, "消息内容不能为空。")
        return Message(
            channel=self.name,
            user=user.strip(),
            text=text,
            msg_id=str(payload.get("msg_id") or uuid.uuid4().hex),
            at=self._clock(),
            group=None if group_id == PRIVATE else self.groups[group_id],
        )

    def render(self, reply: Reply | None) -> dict[str, list[dict[str, str]]]:
        """Return the JSON answer of the simulator API."""
        parts = reply.parts if reply else ()
        return {"replies": [{"format": part.format, "text": part.text} for part in parts]}


SIMULATOR = web.AppKey("simulator", Simulator)
