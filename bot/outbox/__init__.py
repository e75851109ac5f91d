"""The outbox: deliveries queued once per key, sent by workers on every instance."""

from bot.outbox.health import Health, group_health
from bot.outbox.queue import Outbox

__all__ = ["Health", "Outbox", "group_health"]
