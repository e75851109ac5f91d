"""Message filters for routers. A filter returns False/None, True, or a dict of handler args."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bot.models import Message

_EDGE_PUNCTUATION = " \t\r\n,.!?;:，。！？；：、~～…"


def bare(text: str) -> str:
    """Return `text` without surrounding spaces and punctuation."""
    return text.strip(_EDGE_PUNCTUATION)


def addressed(message: Message) -> bool:
    """Pass when the member spoke to the bot (mention, prefix, or a one-to-one chat)."""
    return message.addressed


def text_is(*words: str) -> Callable[[Message], bool]:
    """Pass when the whole message (punctuation aside) is one of `words`."""
    wanted = frozenset(words)
    return lambda message: bare(message.text) in wanted


def command(*names: str) -> Callable[[Message], dict[str, Any] | None]:
    """Pass when the message starts with one of `names`; hand the rest over as `args`."""
    pattern = re.compile(rf"^(?:{'|'.join(map(re.escape, names))})\s*[:：]?\s*(.*)$", re.S)

    def check(message: Message) -> dict[str, Any] | None:
        found = pattern.match(bare(message.text))
        return {"args": found.group(1).strip()} if found else None

    return check
