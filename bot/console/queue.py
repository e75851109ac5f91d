"""The content queue: items officers write, reviewers approve, and the console sends.

States: draft → review → approved → scheduled | sent; review → rejected → (edit) draft.
Every saved version is kept (history); every change is written to the audit log. A change
is a compare-and-set on the stored item, so two reviewers cannot both act on one version.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime

from redis.asyncio import Redis

from bot.console import audit
from bot.models import GroupKind
from bot.store import keys

STATES: dict[str, str] = {
    "draft": "草稿",
    "review": "待审核",
    "approved": "已通过",
    "scheduled": "已排期",
    "sent": "已发送",
    "rejected": "已退回",
}
STYLES: dict[str, str] = {"news": "图文卡片", "markdown": "Markdown 消息", "text": "纯文字"}
RECEIPTS: dict[str, str] = {"none": "不要回执", "simple": "简单回执（收到）", "class": "班级回执"}
# action -> (states it may start from, state it leads to, Chinese name)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "submit": (("draft", "rejected"), "review", "提交审核"),
    "approve": (("review",), "approved", "审核通过"),
    "reject": (("review",), "rejected", "退回修改"),
    "schedule": (("approved",), "scheduled", "排期发送"),
    "unschedule": (("scheduled",), "approved", "取消排期"),
    "send": (("approved", "scheduled"), "sent", "立即发送"),
    "urgent": (("draft", "review", "approved", "rejected"), "sent", "紧急直发"),
}
EDITABLE = ("draft", "rejected")
# Audit actions in Chinese, for the logs officers read.
ACTION_NAMES: dict[str, str] = {
    **{action: name for action, (_, _, name) in TRANSITIONS.items()},
    "create": "新建",
    "edit": "修改",
    "delivered": "已交给发送队列",
    "login": "登录",
    "group-edit": "修改群",
    "outbox-requeue": "重新发送推送",
    "group-import": "导入群",
    "user-add": "新建账号",
    "user-disable": "停用账号",
    "user-enable": "启用账号",
    "lesson-propose": "提交词条修改",
    "lesson-approve": "通过词条修改",
    "lesson-reject": "退回词条修改",
    "image-add": "添加图片",
    "image-remove": "删除图片",
    "quiz-open": "开网页答题",
    "quiz-winners": "导出获奖名单",
}
LIMITS = {"title": 64, "summary": 200, "body": 4000, "comment": 500}

# Save a new version if the stored one is still ARGV[2]; in the same step put the item on the
# due list at ARGV[4] (epoch seconds) or take it off ("-"), so a state and its due entry never
# part, whatever crashes after the save.
_CAS = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('RPUSH', KEYS[2], ARGV[3])
if ARGV[4] == '-' then
  redis.call('ZREM', KEYS[3], ARGV[1])
elseif ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
end
return 1
"""


class QueueError(ValueError):
    """A queue change that is not allowed; the message is the Chinese reason."""


@dataclass(frozen=True, slots=True)
class Audience:
    """Who an item goes to: group kinds, a region prefix, and explicit group ids."""

    kinds: tuple[str, ...] = ()
    region: str = ""
    groups: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """Return True when the audience selects nobody."""
        return not (self.kinds or self.region or self.groups)

    def describe(self) -> str:
        """Return the audience in Chinese ("村民群 · 城关镇 · 另加 2 个指定群")."""
        parts = ["、".join(GroupKind(k).label for k in self.kinds)] if self.kinds else []
        if self.region:
            parts.append(self.region)
        if self.groups:
            parts.append(f"{'另加' if parts else ''}{len(self.groups)} 个指定群")
        return " · ".join(parts) or "未选择"

    def selector(self) -> str:
        """Return the campaign selector text ("kind=village,region=城关镇,group=ID")."""
        parts = [f"kind={k}" for k in self.kinds] + [f"group={g}" for g in self.groups]
        if self.region:
            parts.append(f"region={self.region}")
        return ",".join(parts)


@dataclass(frozen=True, slots=True)
class Item:
    """One queued piece of content and where it stands."""

    id: str
    title: str
    summary: str
    body: str
    audience: Audience = field(default_factory=Audience)
    style: str = "news"
    receipt: str = "none"
    urgent: bool = False
    send_at: str = ""  # ISO time with offset, "" for "when approved, by hand"
    state: str = "draft"
    author: str = ""
    version: int = 1
    updated_by: str = ""
    updated_at: str = ""
    comment: str = ""
    sent_groups: int = 0
    images: tuple[str, ...] = ()

    @property
    def state_label(self) -> str:
        """Return the state in Chinese."""
        return STATES[self.state]

    @property
    def article_id(self) -> str:
        """Return the id the published article carries."""
        return f"console/{self.id}"


def validate(item: Item) -> None:
    """Raise QueueError unless the item's fields can be saved."""
    if not item.title.strip():
        raise QueueError("标题不能为空。")
    for name in ("title", "summary", "body"):
        if len(getattr(item, name)) > LIMITS[name]:
            raise QueueError(f"{_FIELD_NAMES[name]}太长了，最多 {LIMITS[name]} 个字。")
    if item.style not in STYLES:
        raise QueueError("消息样式只能选图文卡片、Markdown 或纯文字。")
    if item.receipt not in RECEIPTS:
        raise QueueError("回执方式不对。")
    if item.send_at:
        try:
            parsed = datetime.fromisoformat(item.send_at)
        except ValueError:
            raise QueueError("发送时间格式不对。") from None
        if parsed.tzinfo is None:
            raise QueueError("发送时间缺少时区。")


_FIELD_NAMES = {"title": "标题", "summary": "摘要", "body": "正文"}


class Queue:
    """The content queue in Redis, shared by every instance."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def get(self, item_id: str) -> Item | None:
        """Return the item, or None."""
        raw = await self._redis.hget(keys.CONSOLE_ITEMS, item_id)
        return None if raw is None else decode(str(raw))

    async def all(self) -> list[Item]:
        """Return every item, newest first."""
        stored = await self._redis.hgetall(keys.CONSOLE_ITEMS)
        return sorted((decode(str(raw)) for raw in stored.values()), key=lambda i: -int(i.id))

    async def history(self, item_id: str) -> list[Item]:
        """Return every saved version of the item, oldest first."""
        return [
            decode(str(raw))
            for raw in await self._redis.lrange(keys.console_history(item_id), 0, -1)
        ]

    async def create(self, item: Item, user: str) -> Item:
        """Save a new draft written by `user` and return it with its id."""
        validate(item)
        number = await self._redis.incr(keys.CONSOLE_ITEM_IDS)
        created = replace(
            item,
            id=str(number),
            state="draft",
            author=user,
            version=1,
            updated_by=user,
            updated_at=_now(),
            comment="",
            sent_groups=0,
        )
        encoded = encode(created)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.CONSOLE_ITEMS, created.id, encoded)
            pipe.rpush(keys.console_history(created.id), encoded)
            await pipe.execute()
        await audit.record(self._redis, user, "create", created.article_id, created.title)
        return created

    async def edit(self, current: Item, changes: Item, user: str) -> Item:
        """Save a new version of a draft or rejected item; a rejected item becomes a draft."""
        if current.state not in EDITABLE:
            raise QueueError(f"“{current.state_label}”的内容不能再改；退回后才能修改。")
        edited = replace(
            changes,
            id=current.id,
            state="draft",
            author=current.author,
            comment=current.comment,
            sent_groups=0,
        )
        validate(edited)
        return await self._save(current, edited, user, "edit", "")

    async def move(self, current: Item, action: str, user: str, comment: str = "") -> Item:
        """Apply a state-machine action; raise QueueError when the item's state forbids it."""
        sources, target, name = TRANSITIONS[action]
        if current.state not in sources:
            raise QueueError(f"“{current.state_label}”的内容不能{name}。")
        if len(comment) > LIMITS["comment"]:
            raise QueueError(f"意见太长了，最多 {LIMITS['comment']} 个字。")
        if action == "reject" and not comment.strip():
            raise QueueError("退回时请写明修改意见。")
        if target in ("review", "sent") and current.audience.empty:
            raise QueueError("还没有选择发送对象：请至少选一种群类型、一个地区或一个群。")
        if action == "schedule" and not current.send_at:
            raise QueueError("没有设定发送时间，不能排期。")
        note = comment.strip() if action in ("approve", "reject") else current.comment
        return await self._save(
            current, replace(current, state=target, comment=note), user, action, comment
        )

    async def mark_sent(self, current: Item, groups: int, user: str) -> Item:
        """Record how many groups a sent item was queued for."""
        return await self._save(
            current, replace(current, sent_groups=groups), user, "delivered", str(groups)
        )

    async def _save(self, current: Item, new: Item, user: str, action: str, detail: str) -> Item:
        saved = replace(new, version=current.version + 1, updated_by=user, updated_at=_now())
        script = self._redis.register_script(_CAS)
        names = [keys.CONSOLE_ITEMS, keys.console_history(current.id), keys.CONSOLE_DUE]
        args = [current.id, encode(current), encode(saved), _due(current, saved)]
        if not await script(keys=names, args=args):
            raise QueueError("这条内容刚被别人改过，请刷新后再操作。")
        await audit.record(self._redis, user, action, current.article_id, detail)
        return saved


def _due(current: Item, saved: Item) -> str:
    """Return the due-list change a save makes: a scheduled item is due at its send time, an
    item just moved to "sent" is owed its send now (until the sender takes it off), an item
    leaving "scheduled" any other way comes off ("-"); "" changes nothing."""
    if saved.state == "scheduled":
        return str(datetime.fromisoformat(saved.send_at).timestamp())
    if saved.state == "sent" and current.state != "sent":
        return str(time.time())
    if current.state == "scheduled":
        return "-"
    return ""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def encode(item: Item) -> str:
    """Return the stored JSON of an item."""
    return json.dumps(asdict(item), ensure_ascii=False, sort_keys=True)


def decode(raw: str) -> Item:
    """Return the item stored as `raw`."""
    fields = json.loads(raw)
    audience = fields.pop("audience")
    fields["images"] = tuple(fields.get("images", ()))
    return Item(
        audience=Audience(
            kinds=tuple(audience["kinds"]),
            region=audience["region"],
            groups=tuple(audience["groups"]),
        ),
        **fields,
    )
