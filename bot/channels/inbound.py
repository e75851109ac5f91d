"""What residents send besides typed text, the same for every channel: voice, pictures, files.

Each channel reads its own wire format into an `Inbound`: the words the bot should answer (typed
text, a voice message's transcript, a shared link's title and address, the text of a mixed
message) or, when there are none, the kind of message it was, which gets a short Chinese hint.
Nothing here answers with an HTTP error: WeChat retries those, and the resident hears nothing.

A picture is fetched (fetch_picture: http(s) only, no redirects, at most MAX_IMAGE_BYTES,
decrypted when the smart bot sealed it) and handed to the chat service as the Message's `image`,
which the screenshot checker reads (handlers/images.py). Only pictures whose address the
platform signed are fetched: never from a 公众号 plain-mode body, whose signature does not cover
it. A picture that cannot be had gets IMAGE_HINT.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import aiohttp
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.answers.images import MAX_IMAGE_BYTES

MENU_QUESTION = "菜单"  # what a menu click or a new follower is answered as
PICTURE_TEXT = "［图片］"  # a picture message's words, as the simulator sends them
FETCH_SECONDS = 10.0


class Kind(StrEnum):
    """What a member sent, as far as answering it goes."""

    TEXT = "text"
    VOICE = "voice"
    IMAGE = "image"
    FILE = "file"
    VIDEO = "video"
    LOCATION = "location"
    OTHER = "other"


HINTS = {
    Kind.VOICE: "这条语音我没听清。请您打字把问题发给我，或者把可疑的短信、聊天内容复制过来，"
    "我帮您看看是不是诈骗。",
    Kind.IMAGE: "图片里的字我暂时还认不出来。请把图片上的文字（比如短信内容、对方说的话）"
    "复制或打字发给我，我帮您看看是不是诈骗。",
    Kind.FILE: "文件我打不开。请把想问的内容复制或打字发给我，比如“刷单是什么”。",
    Kind.VIDEO: "视频我看不了。请用文字说说遇到了什么事，比如“有人让我点赞赚钱”，我马上回您。",
    Kind.LOCATION: "收到您的位置。遇到可疑的电话、短信或链接，请直接打字问我；"
    "如果已经转了钱，请马上拨打 110 报警。",
    Kind.OTHER: "这类消息我还看不了。请把想问的事用文字打给我，比如“刷单是什么”，我马上回您。",
}


@dataclass(frozen=True, slots=True)
class Picture:
    """A picture a member sent: where to fetch it, and the key it is sealed with (if any)."""

    url: str
    aes_key: str = ""  # smart bot: pictures are AES-256-CBC encrypted (接收消息 path/100719)


Fetch = Callable[[Picture], Awaitable[bytes | None]]
Respond = Callable[[str, bytes | None], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Inbound:
    """What a message asks: its words, or the kind of message that had none (and a picture)."""

    kind: Kind
    text: str = ""
    picture: Picture | None = None

    @classmethod
    def words(cls, text: str, kind: Kind = Kind.TEXT) -> Inbound:
        """Return a message that said `text` (blank text counts as saying nothing)."""
        return cls(kind, text.strip())


async def fetch_picture(session: aiohttp.ClientSession | None, picture: Picture) -> bytes | None:
    """Return a picture's bytes (decrypted if sealed), or None when they cannot be had."""
    if session is None or not picture.url.startswith(("http://", "https://")):
        return None
    timeout = aiohttp.ClientTimeout(total=FETCH_SECONDS)
    try:
        async with session.get(picture.url, timeout=timeout, allow_redirects=False) as response:
            if response.status != 200:
                return None
            data = await _read_capped(response.content, MAX_IMAGE_BYTES + 32)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None
    return _unseal(data, picture.aes_key) if picture.aes_key and data else data


async def _read_capped(content: aiohttp.StreamReader, limit: int) -> bytes:
    """Return the whole body, refusing one longer than `limit` bytes (ValueError)."""
    data = bytearray()
    async for chunk in content.iter_chunked(64 * 1024):
        data += chunk
        if len(data) > limit:
            raise ValueError("picture too large")
    return bytes(data)


def _unseal(data: bytes, aes_key: str) -> bytes | None:
    """Return a smart-bot picture decrypted: AES-256-CBC, IV the key's first 16 bytes, PKCS#7
    padding to a multiple of 32 (接收消息 path/100719, 图片 结构体); None if it is not that."""
    try:
        key = base64.b64decode(aes_key + "=" * (-len(aes_key) % 4))
        decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
    except (ValueError, binascii.Error):
        return None
    pad = plain[-1] if plain else 0
    return plain[:-pad] if 1 <= pad <= 32 else None


async def answer_inbound(inbound: Inbound, respond: Respond, fetch: Fetch) -> str:
    """Return `respond(words, picture bytes)` for a message with either, else its hint."""
    if inbound.text or inbound.kind is Kind.TEXT:
        return await respond(inbound.text, None)
    if inbound.picture is not None and (data := await fetch(inbound.picture)) is not None:
        return await respond(PICTURE_TEXT, data)
    return hint(inbound)


async def no_fetch(picture: Picture) -> None:
    """Fetch nothing: for pictures whose address nobody signed."""
    return


def hint(inbound: Inbound) -> str:
    """Return the short Chinese hint for a message without words."""
    return HINTS.get(inbound.kind, HINTS[Kind.OTHER])


_XML_KINDS = {"video": Kind.VIDEO, "shortvideo": Kind.VIDEO, "location": Kind.LOCATION,
              "file": Kind.FILE}  # fmt: skip


def from_xml(fields: Mapping[str, str]) -> Inbound:
    """Return what a 公众号 or WeCom app XML message asks (接收普通消息; path/90239).

    A voice message's words are its Recognition (present when 语音识别 is on, else empty); a
    shared link is answered by its title, summary and address (a pasted suspicious link).
    """
    kind = fields.get("MsgType", "")
    if kind == "text":
        return Inbound.words(fields.get("Content", ""))
    if kind == "voice":
        return Inbound.words(fields.get("Recognition", ""), Kind.VOICE)
    if kind == "link":
        parts = (fields.get(name, "").strip() for name in ("Title", "Description", "Url"))
        return Inbound.words("\n".join(part for part in parts if part), Kind.OTHER)
    if kind == "image":
        return Inbound(Kind.IMAGE, picture=Picture(fields.get("PicUrl", "")))
    return Inbound(_XML_KINDS.get(kind, Kind.OTHER))
