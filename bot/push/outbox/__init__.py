"""The outbox: deliveries queued once per key, sent by workers on every instance (push/ only)."""

from bot.push.outbox.health import Health, group_health
from bot.push.outbox.queue import Outbox

__all__ = ["Health", "Outbox", "group_health"]
