"""Read a decrypted smart-bot message (接收消息 path/100719, 接收事件 path/101027) for answering.

Text is answered as typed; a voice message carries its transcript (voice.content, "语音转换成
文本的内容") and is answered the same way; a mixed message (图文混排) by its text items; a
quoted message (引用) adds the quoted words after the member's own, so "@反诈助手 这是诈骗吗"
under a forwarded SMS asks about that SMS. A picture is fetched, decrypted and checked like a
screenshot (bot/channels/inbound); a file, or a picture that cannot be fetched, gets a hint.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.channels.base import InboundError
from bot.channels.inbound import Inbound, Kind, Picture
from bot.channels.wechat_crypto import MALFORMED
from bot.channels.wecom_bot_gate import GROUP_PREFIX

CHANNEL = "wecom_bot"
_MENTION = re.compile(r"^\s*@\S+\s+")  # WeCom puts "@<bot name> " before the text
_KINDS = {"text": Kind.TEXT, "voice": Kind.VOICE, "image": Kind.IMAGE, "file": Kind.FILE,
          "mixed": Kind.IMAGE, "video": Kind.VIDEO}  # fmt: skip


def required(payload: Mapping[str, Any], *path: str) -> str:
    """Return the non-empty string at `path` in nested objects, or raise InboundError (400)."""
    value = optional(payload, *path)
    if not value:
        raise InboundError(400, MALFORMED, f"missing {'.'.join(path)}")
    return value


def optional(payload: Any, *path: str) -> str:
    """Return the string at `path` in nested objects, or "" when there is none."""
    for name in path:
        payload = payload.get(name) if isinstance(payload, dict) else None
    return payload if isinstance(payload, str) else ""


def unmention(text: str) -> str:
    """Return `text` without the leading "@<bot name> " WeCom puts in group messages."""
    return _MENTION.sub("", text, count=1).strip()


def inbound_of(payload: Mapping[str, Any]) -> Inbound:
    """Return what a decrypted message asks: its words, or its kind (and picture) without any."""
    kind = _KINDS.get(optional(payload, "msgtype"), Kind.OTHER)
    own = _words(payload)
    quoted = _words(payload.get("quote"))
    text = "\n".join(part for part in (unmention(own), quoted) if part)
    if text or kind is Kind.TEXT:
        return Inbound.words(text, kind)
    return Inbound(kind, picture=_picture(payload))


def _words(message: Any) -> str:
    """Return the words of a message or quote: text, voice transcript, mixed text items."""
    if not isinstance(message, dict):
        return ""
    kind = optional(message, "msgtype")
    if kind in ("text", "voice"):
        return optional(message, kind, "content").strip()
    texts = [optional(item, "text", "content").strip() for item in _items(message)]
    return "\n".join(text for text in texts if text)


def _picture(payload: Mapping[str, Any]) -> Picture | None:
    """Return the first picture of a message (an image, or a mixed message's image item)."""
    found: Any = payload.get("image")
    if optional(payload, "msgtype") == "mixed":
        found = next((item["image"] for item in _items(payload) if "image" in item), None)
    if not isinstance(found, dict) or not optional(found, "url"):
        return None
    return Picture(optional(found, "url"), optional(found, "aeskey"))


def _items(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the items of a mixed message (none for any other)."""
    mixed = message.get("mixed") if optional(message, "msgtype") == "mixed" else None
    items = mixed.get("msg_item") if isinstance(mixed, dict) else None
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def card_press(payload: Mapping[str, Any]) -> tuple[str, str] | None:
    """Return (task id, event key) of a template card event, or None for any other event.

    The fields sit in event.template_card_event; older payloads put them in event itself.
    """
    event = payload.get("event")
    if not isinstance(event, dict) or event.get("eventtype") != "template_card_event":
        return None
    inner = event.get("template_card_event")
    fields = inner if isinstance(inner, dict) else event
    task_id, key = optional(fields, "task_id"), optional(fields, "event_key")
    if not (task_id and key):
        raise InboundError(400, MALFORMED, "template card event without task_id or event_key")
    return task_id, key


def conversation_of(payload: Mapping[str, Any]) -> str:
    """Return the conversation a message came from: the group chat, or the member 1:1."""
    if payload.get("chattype") == "group":
        return GROUP_PREFIX + required(payload, "chatid")
    return "user:" + required(payload, "from", "userid")
