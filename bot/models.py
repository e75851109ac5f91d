"""Channel-neutral data: groups, inbound messages and replies. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal


class GroupKind(StrEnum):
    """The audience a group serves; decides what it is sent and how replies are framed."""

    VILLAGE = "village"
    COMMUNITY = "community"
    ENTERPRISE = "enterprise"
    FINANCE = "finance"
    PARENTS = "parents"
    SCHOOL = "school"
    ELDERLY = "elderly"
    # A WeCom group that talks to the bot but nobody has bound yet: counted, never pushed to.
    UNBOUND = "unbound"

    @property
    def label(self) -> str:
        """Return the Chinese name officers and residents use for this kind of group."""
        return _GROUP_LABELS[self]


_GROUP_LABELS = {
    GroupKind.VILLAGE: "村民群",
    GroupKind.COMMUNITY: "社区居民群",
    GroupKind.ENTERPRISE: "员工群",
    GroupKind.FINANCE: "财务群",
    GroupKind.PARENTS: "家长群",
    GroupKind.SCHOOL: "师生群",
    GroupKind.ELDERLY: "老年人群",
    GroupKind.UNBOUND: "未登记的群",
}

# Audiences a scam targets: every group kind plus people who are not a group of their own.
AUDIENCE_LABELS: dict[str, str] = {
    **{k.value: k.label.removesuffix("群") for k in GroupKind if k is not GroupKind.UNBOUND},
    "students": "学生",
    "youth": "年轻人",
    "women": "女性",
}


class PushTarget(StrEnum):
    """How pushes reach a group."""

    # Nothing is pushed (a group that only asks the bot questions).
    NONE = ""
    # The local simulator: pushes show up on the /sim page.
    SIMULATOR = "sim"
    # A WeCom group robot webhook; its key is kept apart from the group (GroupRegistry.robot_key).
    ROBOT = "robot"
    # The WeCom smart bot's proactive send, into a group that has talked to it.
    WECOM_BOT = "wecom-bot"
    # A personal WeChat group the bot cannot join: the owner forwards a daily pack by hand.
    FORWARD = "forward"

    @property
    def label(self) -> str:
        """Return the Chinese name officers see for this target."""
        return _TARGET_LABELS[self]


_TARGET_LABELS = {
    PushTarget.NONE: "不推送",
    PushTarget.SIMULATOR: "模拟器",
    PushTarget.ROBOT: "企业微信群机器人",
    PushTarget.WECOM_BOT: "企业微信智能机器人",
    PushTarget.FORWARD: "转发包（个人微信群）",
}


@dataclass(frozen=True, slots=True)
class Group:
    """A chat group the bot serves (or pushes to).

    `region` is a path ("城关镇/幸福村"); `owner` is the member responsible for the group (网格员,
    teacher or 反诈专员) as a console user name or a WeCom user id; `target` says how pushes
    reach it.
    """

    id: str
    name: str
    kind: GroupKind
    region: str = ""
    members: int = 0
    owner: str = ""
    target: PushTarget = PushTarget.NONE


@dataclass(frozen=True, slots=True)
class Message:
    """One inbound message, the same shape for every channel.

    `group` is None in a one-to-one conversation. `addressed` is True when the member
    mentioned the bot, used a reply prefix, or is talking to it one-to-one. `card` is the key of
    the answer card whose button the member pressed (its `text` is the button's letter); it is
    "" for typed text. `image` holds the bytes of a picture the member sent (a screenshot to
    check), downloaded by the channel within its limits; it is never stored.
    """

    channel: str
    user: str
    text: str
    msg_id: str
    at: datetime
    group: Group | None = None
    addressed: bool = False
    card: str = ""
    image: bytes | None = field(default=None, repr=False)

    @property
    def conversation(self) -> str:
        """Return a stable id for the conversation: the group, or the user in a 1:1 chat."""
        return f"g:{self.group.id}" if self.group else f"u:{self.channel}:{self.user}"


ReplyFormat = Literal["text", "markdown"]
ACK_INTENT = "ack"  # a button press acknowledged to the presser alone: not a question asked


@dataclass(frozen=True, slots=True)
class Choices:
    """Answer buttons a channel may show under a reply (a quiz question's options).

    `key` names the question (the card's task id, so a press on an old card is told apart);
    channels without buttons ignore it: the text lists the options and how to answer.
    """

    key: str
    title: str
    letters: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReplyPart:
    """One bubble of a reply."""

    format: ReplyFormat
    text: str


@dataclass(frozen=True, slots=True)
class Reply:
    """What a handler answers, before a channel renders it.

    `intent` and `topic` describe the answer for metrics: which knowledge entry was used,
    and whether the question went unmatched.
    """

    parts: tuple[ReplyPart, ...]
    intent: str = "answer"
    topic: str | None = None
    follow_up: tuple[str, ...] = field(default=())
    choices: Choices | None = None

    @classmethod
    def text(cls, body: str, *, intent: str = "answer", topic: str | None = None) -> Reply:
        """Return a single plain-text reply."""
        return cls((ReplyPart("text", body),), intent=intent, topic=topic)

    @classmethod
    def markdown(
        cls,
        body: str,
        *,
        intent: str = "answer",
        topic: str | None = None,
        follow_up: tuple[str, ...] = (),
        choices: Choices | None = None,
    ) -> Reply:
        """Return one markdown reply; `follow_up` lists entry ids offered as a numbered menu."""
        part = (ReplyPart("markdown", body),)
        return cls(part, intent=intent, topic=topic, follow_up=follow_up, choices=choices)


PushStyle = Literal["text", "markdown", "news"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message for one group, waiting in the outbox.

    `key` makes it idempotent: a key already recorded as delivered is never sent again
    (scheduled pushes use campaign x group x fire). It carries either an article (`item_id`,
    rendered with the group's trackable link at send time) or inline markdown (`body`, for quiz
    questions and leaderboards, with the question's answer buttons in `choices`). `urgent`
    deliveries jump the queue, never the rate limit.
    """

    key: str
    group_id: str
    item_id: str | None = None
    body: str | None = None
    style: PushStyle = "markdown"
    urgent: bool = False
    campaign: str = ""
    choices: Choices | None = None
