"""QR codes (segno) for printed links, each with its own tracking code so offline reach counts.

A printed code carries the link code of (group, "qr:<user>"): views, receipts, pledges and
quiz answers through it count for the group like any other, and the forwarder's counts under
"qr:<user>" tell how much of that came from paper.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from urllib.parse import quote

import segno
from markupsafe import Markup
from redis.asyncio import Redis

from bot.articles import links

OFFLINE_PREFIX = "qr:"
SCREEN_SCALE, PRINT_SCALE = 4, 12


@dataclass(frozen=True, slots=True)
class SharedLink:
    """One link to hand out: online (to forward) and offline (printed as a QR code)."""

    label: str
    what: str  # which link of the group: "pledge", "quiz-<round>", "item-<article id>"
    online: str
    offline: str
    download: str  # the console address of the printable PNG

    @property
    def svg(self) -> Markup:
        """Return the offline link's QR code as inline SVG."""
        code = segno.make(self.offline, error="m")
        return Markup(code.svg_inline(scale=SCREEN_SCALE, border=2, title=self.label))


def offline_forwarder(user: str) -> str:
    """Return the forwarder slot printed codes of `user` are counted under."""
    return f"{OFFLINE_PREFIX}{user}"


async def codes(redis: Redis, group_id: str, user: str, forwarder: bool) -> tuple[str, str]:
    """Return the (online, offline) link codes of a group as handed out by `user`."""
    online = await links.code_for(redis, group_id, user if forwarder else "")
    return online, await links.code_for(redis, group_id, offline_forwarder(user))


def png(url: str) -> bytes:
    """Return the QR code of `url` as a PNG big enough to print on A4."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=PRINT_SCALE, border=4)
    return buffer.getvalue()


def with_code(url: str, code: str) -> str:
    """Return `url` with the link code as its ?g= parameter."""
    return f"{url}{'&' if '?' in url else '?'}g={quote(code, safe='')}"
