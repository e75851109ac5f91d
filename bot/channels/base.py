"""The protocol every channel adapter implements."""

from __future__ import annotations

from typing import Any, Protocol

from bot.models import Message, Reply


class InboundError(ValueError):
    """Inbound traffic is unusable; `status` is the HTTP answer, `public` the Chinese text."""

    def __init__(self, status: int, public: str, detail: str = "") -> None:
        super().__init__(detail or public)
        self.status = status
        self.public = public


class Channel(Protocol):
    """Parse what a channel delivers into a Message; render a Reply the way it displays."""

    name: str

    def parse(self, payload: Any) -> Message:
        """Return the Message in `payload`, or raise InboundError."""
        ...

    def render(self, reply: Reply) -> Any:
        """Return `reply` in the channel's wire format."""
        ...
