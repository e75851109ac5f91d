"""Send one delivery to one group the way its push target needs (simulator, robot, smart bot,
forward pack), or say why it cannot be sent.

Everything a send puts on the wire is rendered first (`prepare`), so that nothing but the post
itself stands between the outbox's mark that a part is in flight and WeCom's answer. A send
either succeeds, or raises: Park (never worth retrying, with the Chinese reason
officers read), Broken (the target itself is refused: flag the group), Busy (no free slot in
the target's allowance right now: try later, not a failure) or Transient (worth a retry).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot.articles import images, links, packs
from bot.articles.render import PushPayload, render_push
from bot.articles.store import ArticleStore
from bot.channels.wecom_bot_gate import GROUP_PREFIX, NotAConversation
from bot.channels.wecom_bot_replies import answer_card
from bot.channels.wecom_bot_ws import LinkLost, WeComBotLink
from bot.channels.wecom_robot import (
    Article,
    BrokenTarget,
    InvalidMessage,
    RobotClient,
    SendFailed,
    markdown_payloads,
    message_body,
    news_payload,
    text_payloads,
)
from bot.models import Delivery, Group, PushStyle, PushTarget
from bot.store.groups import GroupRegistry
from bot.store.ratelimit import WindowFull

log = logging.getLogger(__name__)

# The smart bot's documented proactive allowance: 30 messages a minute per conversation.
SMART_BOT_PACE = 2.0


class Park(Exception):
    """The delivery cannot be sent as it is; `reason` is shown to officers."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Broken(Park):
    """The group's push target refused us for good (an invalid robot key)."""


class Busy(Exception):
    """The target's allowance has no free slot now; try again in `after` seconds, leaving out
    the `skip` parts that went out already."""

    def __init__(self, after: float, skip: int = 0) -> None:
        super().__init__(f"no free slot for {after:.2f}s")
        self.after = after
        self.skip = skip


class Transient(Exception):
    """A failure worth retrying (network, 5xx, WeCom busy), said in Chinese for officers;
    `skip` parts of the message had gone out."""

    def __init__(self, reason: str, skip: int = 0) -> None:
        super().__init__(reason)
        self.skip = skip


@dataclass(frozen=True, slots=True)
class Prepared:
    """A send rendered before it starts: what goes on the wire, and to where.

    simulator: `feed` (the bubble, recorded with the delivery); robot: `bodies`, one JSON
    message each, posted to `robot_key`; smart bot: `markdown` then an answer card; forward:
    nothing (the item goes into the owner's pack).
    """

    target: PushTarget
    feed: str = ""
    robot_key: str = ""
    bodies: tuple[bytes, ...] = ()
    markdown: str = ""
    parts: int = 1  # messages posted, each recorded as soon as it is answered

    @property
    def counted(self) -> bool:
        """Return False when nothing goes out (a forward pack counts its own reach)."""
        return self.target is not PushTarget.FORWARD


@dataclass
class Senders:
    """Everything a send needs; one per app, shared by the outbox workers."""

    redis: Redis
    registry: GroupRegistry
    articles: ArticleStore
    robot: RobotClient
    base_url: str
    timezone: str
    smart_bot: WeComBotLink | None = None

    def pace(self, group: Group) -> float:
        """Return the seconds between two sends the group's target allows (0: unlimited)."""
        if group.target is PushTarget.ROBOT:
            return self.robot.config.rate_period / self.robot.config.rate_limit
        if group.target is PushTarget.WECOM_BOT:
            return SMART_BOT_PACE
        return 0.0

    def today(self) -> date:
        """Return the local day reach is counted under."""
        return datetime.now(ZoneInfo(self.timezone)).date()

    async def prepare(
        self, delivery: Delivery, group: Group, robot_key: str | None = None
    ) -> Prepared:
        """Render everything `delivery` sends to `group`, or raise Park/Broken; `robot_key` is
        the group's robot key, read with its registration."""
        target = group.target
        if target is PushTarget.NONE:
            raise Park("该群没有设置推送方式，消息没有发出。")
        if target is PushTarget.FORWARD:
            if delivery.item_id is None:
                raise Park("转发群只能放入文章，纯文字消息无法转发。")
            return Prepared(target)
        payload = await self._payload(delivery, group)
        if target is PushTarget.SIMULATOR:
            return Prepared(target, feed=_bubble(payload, delivery))
        if target is PushTarget.ROBOT:
            if not robot_key:
                raise Broken("该群还没有登记群机器人的 Webhook 地址。")
            bodies = _robot_bodies(payload)
            return Prepared(target, robot_key=robot_key, bodies=bodies, parts=len(bodies))
        if self.smart_bot is None:
            raise Park("智能机器人的长连接没有配置，无法主动推送。")
        parts = 1 if delivery.choices is None else 2
        return Prepared(target, markdown=payload.markdown, parts=parts)

    async def forward(self, delivery: Delivery, group: Group) -> None:
        """Put the article in the owner's forward pack for today (idempotent)."""
        assert delivery.item_id is not None  # checked by prepare
        try:
            await packs.add(self.redis, group, delivery.item_id, self.today())
        except ValueError:
            raise Park("该转发群没有负责人，无法放入转发包。") from None

    async def post_robot(self, prepared: Prepared, part: int, attempt: int) -> None:
        """Post part `part` of a robot send once (the caller holds the robot's slot)."""
        try:
            await self.robot.post_prepared(prepared.robot_key, prepared.bodies[part], attempt)
        except BrokenTarget:
            raise Broken("群机器人地址无效或机器人已被移出群聊，请重新登记。") from None
        except SendFailed as refused:
            raise Park(f"企业微信拒收了这条消息：{refused}") from None

    async def _payload(self, delivery: Delivery, group: Group) -> PushPayload:
        """Return what to send: the article rendered with the group's link, or the inline body."""
        if delivery.item_id is None:
            body = delivery.body or ""
            if not body.strip():
                raise Park("这条推送既没有文章也没有正文。")
            style: PushStyle = "text" if delivery.style == "text" else "markdown"
            return PushPayload(body, body, "", "", "", style)
        article = await self.articles.get(delivery.item_id)
        if article is None:
            raise Park(f"找不到要推送的文章“{delivery.item_id}”，可能已被删除。")
        code = await links.code_for(self.redis, group.id)
        url = links.article_url(self.base_url, delivery.item_id, code)
        cover = images.url(self.base_url, article.images[0]) if article.images else ""
        return replace(render_push(article, group, url, delivery.style), cover=cover)

    async def smart_bot_part(
        self, group: Group, prepared: Prepared, delivery: Delivery, part: int
    ) -> None:
        """Send the markdown (part 0) or a quiz question's answer card (part 1) through the
        smart bot's long connection; a push without choices has only part 0."""
        link = self.smart_bot
        if link is None:
            raise Park("智能机器人的长连接没有配置，无法主动推送。")
        chat_id = group.id.removeprefix(GROUP_PREFIX)
        try:
            if part == 0:
                await link.send_markdown(group.id, chat_id, prepared.markdown)
            elif delivery.choices is not None:
                await link.send_card(group.id, chat_id, answer_card(delivery.choices))
        except NotAConversation:
            raise Park("这个群还没有和智能机器人说过话，企业微信不允许主动推送。") from None
        except WindowFull as full:
            raise Busy(full.after, skip=part) from None
        except LinkLost:
            raise Transient("本实例没有连着智能机器人，稍后由连着的实例重试", skip=part) from None


def _robot_bodies(payload: PushPayload) -> tuple[bytes, ...]:
    """Return the robot messages of a payload, rendered: a news card, or text/markdown parts."""
    try:
        if payload.style == "news" and payload.url:
            card = Article(payload.title, payload.url, payload.description, payload.cover)
            messages = [news_payload([card])]
        elif payload.style == "text":
            messages = text_payloads(payload.text)
        else:
            messages = markdown_payloads(payload.markdown)
    except InvalidMessage as refused:
        raise Park(f"企业微信拒收了这条消息：{refused}") from None
    return tuple(message_body(message) for message in messages)


def _bubble(payload: PushPayload, delivery: Delivery) -> str:
    """Return the simulator bubble for a push (the feed script adds its id)."""
    bubble = {
        "at": int(time.time() * 1000),
        "format": payload.style if payload.style in ("text", "news") else "markdown",
        "text": payload.text if payload.style == "text" else payload.markdown,
        "title": payload.title,
        "description": payload.description,
        "url": payload.url,
        "campaign": delivery.campaign,
    }
    return json.dumps(bubble, ensure_ascii=False, separators=(",", ":"))
