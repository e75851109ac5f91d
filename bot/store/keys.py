"""Every Redis key name, in one place.

Keys carry hash tags ({...}) so that keys read or written together stay in one Redis Cluster
slot: a day's metrics share {m:YYYYMMDD}; a conversation's state shares {c:<conversation>}.
"""

from __future__ import annotations

from datetime import date

PREFIX = "fz"
MEMBER_HASH_SECRET = f"{PREFIX}:{{secret}}:member-hash"
UNMATCHED_LOG = f"{PREFIX}:{{unmatched}}:log"
GROUP_REGISTRY = f"{PREFIX}:{{groups}}:registry"
# Robot webhook keys by group id, apart from the registry so no listing ever carries them.
ROBOT_KEYS = f"{PREFIX}:{{groups}}:robot-keys"
METRICS_TTL_SECONDS = 400 * 24 * 3600


def day_tag(day: date) -> str:
    """Return the compact day used in metric keys."""
    return day.strftime("%Y%m%d")


def queries(day: date, dimension: str, value: str) -> str:
    """Hash of topic -> number of questions, for one day and one dimension value."""
    return f"{PREFIX}:{{m:{day_tag(day)}}}:queries:{dimension}:{value}"


def askers(day: date, dimension: str, value: str) -> str:
    """HyperLogLog of member hashes who asked, for one day and one dimension value."""
    return f"{PREFIX}:{{m:{day_tag(day)}}}:askers:{dimension}:{value}"


def counts(day: date, dimension: str, value: str) -> str:
    """Hash of reach measure -> count (see bot.store.reach), for one day and dimension value."""
    return f"{PREFIX}:{{m:{day_tag(day)}}}:counts:{dimension}:{value}"


def uniques(day: date, measure: str, dimension: str, value: str) -> str:
    """HyperLogLog of member hashes behind a reach measure, for one day and dimension value."""
    return f"{PREFIX}:{{m:{day_tag(day)}}}:uniq:{measure}:{dimension}:{value}"


def menu(conversation: str, member: str) -> str:
    """The numbered menu last offered to a member in a conversation."""
    return f"{PREFIX}:{{c:{conversation}}}:menu:{member}"


def reply_window(conversation: str, minute: int) -> str:
    """Counter of replies the bot sent in a conversation during one minute."""
    return f"{PREFIX}:{{c:{conversation}}}:replies:{minute}"


# --- outbox and senders ---

# --- campaigns and scheduler ---

# --- articles, links, receipts, forward packs ---

# --- quiz, pledges, APP claims ---

# --- console: users, sessions, content queue, audit ---
