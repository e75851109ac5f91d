"""The smart bot's reply bodies: stream, stream with answer card, card update, welcome, and the
response_url a slow answer follows through.

被动回复消息 (path/101031): a stream reply's content is at most 20,480 bytes of UTF-8 markdown;
"stream_with_template_card" adds a card; a card press is answered with "update_template_card"
for the presser's userids; an enter_chat may be welcomed with a text message. 主动回复消息
(path/101138): a response_url takes ONE call, within an hour, of markdown up to 20,480 bytes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.channels.splitting import truncate_bytes
from bot.channels.wecom_api import WeChatAPIError, request_json
from bot.models import ACK_INTENT, Choices, Message, Reply

STREAM_BYTES = 20480  # stream.content, utf-8 bytes (path/101031)
RESPONSE_BYTES = 20480  # markdown.content through a response_url (path/101138)


def answer_card(choices: Choices) -> dict[str, Any]:
    """Return a question's options as a 按钮交互型 card: one button per letter (at most 6)."""
    return {
        "card_type": "button_interaction",
        "main_title": {"title": choices.title},
        "task_id": choices.key,
        "button_list": [{"text": letter, "style": 1, "key": letter} for letter in choices.letters],
    }


def stream_body(msg_id: str, text: str, choices: Choices | None = None) -> str:
    """Return the passive reply holding `text` (and the answer card), as JSON ("" for none)."""
    if not text:
        return ""
    stream_id = hashlib.sha256(msg_id.encode()).hexdigest()[:32]
    body: dict[str, Any] = {
        "msgtype": "stream",
        "stream": {"id": stream_id, "finish": True, "content": text},
    }
    if choices is not None:
        body |= {"msgtype": "stream_with_template_card", "template_card": answer_card(choices)}
    return json.dumps(body, ensure_ascii=False)


def update_body(message: Message, reply: Reply | None) -> str:
    """Return the update of the presser's card: its buttons replaced by the acknowledgement."""
    if reply is None or reply.intent != ACK_INTENT:
        return ""  # nothing acknowledged the press (a card no quiz posted): leave the card be
    note = reply.parts[0].text.strip()
    card = {
        "card_type": "button_interaction",
        "main_title": {"title": note},
        "task_id": message.card,
        "button_list": [{"text": message.text, "style": 1, "key": message.text}],
        "replace_text": note,
    }
    body = {"response_type": "update_template_card", "template_card": card}
    return json.dumps(body, ensure_ascii=False)


def for_presser(body: str, userid: str) -> str:
    """Return a card update addressed to the member who pressed (its stored copy names
    nobody: a member id never reaches Redis)."""
    update = json.loads(body)
    return json.dumps({"userids": [userid], **update}, ensure_ascii=False)


def welcome_body(text: str) -> str:
    """Return the text welcome to a member entering the bot's chat (回复欢迎语, path/101031)."""
    return json.dumps({"msgtype": "text", "text": {"content": text}}, ensure_ascii=False)


@dataclass
class ResponseURL:
    """One message's response_url: used at most once, with at most 20,480 bytes."""

    url: str
    base: str  # the API base a genuine response_url starts with
    used: bool = False

    async def send(self, session: aiohttp.ClientSession | None, text: str) -> None:
        """Post `text` as markdown (cut to the limit); raise if unusable or already used."""
        if not self.url.startswith(self.base + "/"):
            raise RuntimeError("the message has no usable response_url")
        if session is None:
            raise RuntimeError("the smart bot's HTTP session is not running")
        if self.used:
            raise RuntimeError("the response_url was used already (one call per message)")
        self.used = True
        content = truncate_bytes(text, RESPONSE_BYTES)
        body = {"msgtype": "markdown", "markdown": {"content": content}}
        answer = await request_json(session, "POST", self.url, params={}, json=body)
        if answer.get("errcode", 0) != 0:
            raise WeChatAPIError("aibot/response", answer["errcode"], answer.get("errmsg", ""))
