"""What residents send besides typed text, the same for every channel: voice, pictures, files.

Each channel reads its own wire format into an `Inbound`: the words the bot should answer (typed
text, a voice message's transcript, a shared link's title and address, the text of a mixed
message) or, when there are none, the kind of message it was, which gets a short Chinese hint.
Nothing here answers with an HTTP error: WeChat retries those, and the resident hears nothing.

Pictures go through one hook, `PICTURE_READER`: a coroutine that returns the text in a picture
(OCR) or "". Until a feature sets it on the app, a picture is answered with IMAGE_HINT.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from aiohttp import web

MENU_QUESTION = "菜单"  # what a menu click or a new follower is answered as


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
    """A picture a member sent: where to fetch it and how it is sealed (channel-specific)."""

    channel: str
    url: str = ""
    media_id: str = ""
    aes_key: str = ""  # smart bot: pictures are AES-256-CBC encrypted (接收消息 path/100719)


PictureReader = Callable[[Picture], Awaitable[str]]
# The OCR hook: set app[PICTURE_READER] to read the text out of a member's picture.
PICTURE_READER: web.AppKey[PictureReader] = web.AppKey("picture_reader")


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


async def words_of(app: web.Application, inbound: Inbound) -> str:
    """Return the words to answer: the message's own, or a picture's text through the hook."""
    if inbound.text or inbound.picture is None:
        return inbound.text
    reader = app.get(PICTURE_READER)
    return (await reader(inbound.picture)).strip() if reader is not None else ""


def hint(inbound: Inbound) -> str:
    """Return the short Chinese hint for a message without words."""
    return HINTS.get(inbound.kind, HINTS[Kind.OTHER])


_XML_KINDS = {"video": Kind.VIDEO, "shortvideo": Kind.VIDEO, "location": Kind.LOCATION,
              "file": Kind.FILE}  # fmt: skip


def from_xml(fields: Mapping[str, str], channel: str) -> Inbound:
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
        url, media_id = fields.get("PicUrl", ""), fields.get("MediaId", "")
        return Inbound(Kind.IMAGE, picture=Picture(channel, url=url, media_id=media_id))
    return Inbound(_XML_KINDS.get(kind, Kind.OTHER))


async def answer_words(
    app: web.Application, inbound: Inbound, respond: Callable[[str], Awaitable[str]]
) -> str:
    """Return `respond(words)` for a message with words, else its hint."""
    words = await words_of(app, inbound)
    if not words and inbound.kind is not Kind.TEXT:
        return hint(inbound)
    return await respond(words)
