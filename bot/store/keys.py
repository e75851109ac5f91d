"""Every Redis key name, in one place.

Keys carry hash tags ({...}) so that keys read or written together stay in one Redis Cluster
slot: a day's metrics share {m:YYYYMMDD}; a conversation's state shares {c:<conversation>}.
"""

from __future__ import annotations

import zlib
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
    """Hash of topic -> questions, for one day and dimension value (before the shards)."""
    return f"{PREFIX}:{{m:{day_tag(day)}}}:queries:{dimension}:{value}"


def metric_shard(day: date, bucket: int) -> str:
    """Hash tag shared by one day's question counters of one conversation bucket and the
    dedupe records counted into them, so a callback's one script stays in one Cluster slot."""
    return f"{PREFIX}:{{m:{day_tag(day)}:{bucket}}}"


def queries_in(shard: str, dimension: str, value: str) -> str:
    """Hash of topic -> questions in one shard (bot.store.metrics merges the shards)."""
    return f"{shard}:queries:{dimension}:{value}"


def askers_in(shard: str, dimension: str, value: str) -> str:
    """HyperLogLog of member hashes who asked, in one shard."""
    return f"{shard}:askers:{dimension}:{value}"


def answered(shard: str, channel: str, msg_id: str) -> str:
    """A message's dedupe record: what a retry of it gets (bot.store.dedupe)."""
    return f"{shard}:dd:{channel}:{msg_id}"


def replies_in(shard: str, conversation: str, minute: int) -> str:
    """Counter of the bot's replies in a conversation during one minute (the group limit)."""
    return f"{shard}:replies:{conversation}:{minute}"


def askers(day: date, dimension: str, value: str) -> str:
    """HyperLogLog of member hashes who asked, for one day and one dimension value."""
    return f"{PREFIX}:{{m:{day_tag(day)}}}:askers:{dimension}:{value}"


def counts(day: date, dimension: str, value: str) -> str:
    """Hash of reach measure -> count (see bot.store.reach), for one day and dimension value."""
    return f"{PREFIX}:{{m:{day_tag(day)}}}:counts:{dimension}:{value}"


def class_receipts(day: date, dimension: str, value: str) -> str:
    """Hash of "<item id>|<class>" -> receipts of the letter to parents, one day x dimension."""
    return f"{PREFIX}:{{m:{day_tag(day)}}}:classes:{dimension}:{value}"


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

# The outbox is OUTBOX_SHARDS shards. Shard i's keys share the {outbox:i} tag, so enqueue, ack,
# record and park are single Lua calls in one Redis Cluster slot. A group's deliveries, its
# simulator feed and its health flag all live in the group's shard (`outbox_shard`). The count
# is fixed in code, not a setting: a different count would move every queued delivery's state.
OUTBOX_SHARDS = 16
OUTBOX_GROUP = "senders"  # the consumer group on every shard's two streams
# Stream every enqueue rings (capped), so idle senders wake at once instead of polling shards.
OUTBOX_BELL = f"{PREFIX}:{{outbox-bell}}:ring"
DELIVERY_TTL_SECONDS = 90 * 24 * 3600
SIM_FEED_SIZE = 200


def outbox_shard(group_id: str) -> int:
    """Return the shard that holds a group's deliveries (stable across processes)."""
    return zlib.crc32(group_id.encode()) % OUTBOX_SHARDS


def _shard(shard: int) -> str:
    return f"{PREFIX}:{{outbox:{shard}}}"


def outbox_urgent(shard: int) -> str:
    """Stream of a shard's urgent deliveries, read before its normal ones."""
    return f"{_shard(shard)}:urgent"


def outbox_normal(shard: int) -> str:
    """Stream of a shard's normal deliveries."""
    return f"{_shard(shard)}:normal"


def outbox_delayed(shard: int) -> str:
    """Sorted set of a shard's deliveries waiting for a retry or a free slot (due ms)."""
    return f"{_shard(shard)}:delayed"


def outbox_dead(shard: int) -> str:
    """Stream of a shard's parked deliveries and why."""
    return f"{_shard(shard)}:dead"


def outbox_held(shard: int) -> str:
    """Stream of a shard's held deliveries: in flight when their sender died, not resent."""
    return f"{_shard(shard)}:held"


def group_health(shard: int) -> str:
    """Hash of group id -> JSON {state, reason, at} for a shard's groups with a broken target."""
    return f"{_shard(shard)}:health"


def delivery_state(group_id: str, key: str) -> str:
    """A delivery's state: "queued[:parts]", "sending:<part>", then "sent", "parked", "held"."""
    return f"{_shard(outbox_shard(group_id))}:delivery:{key}"


def sim_feed(group_id: str) -> str:
    """Capped list of pushes (JSON) shown in one simulator group, newest last."""
    return f"{_shard(outbox_shard(group_id))}:sim-feed:{group_id}"


def sim_feed_seq(group_id: str) -> str:
    """Counter numbering one simulator group's pushes, so the page asks only for new ones."""
    return f"{_shard(outbox_shard(group_id))}:sim-seq:{group_id}"


def pushes_counted(counter: str) -> str:
    """Hash of "<delivery key>|<measure>" already counted into the counters of `counter`'s
    slot (same hash tag), so a delivery recorded once is counted once."""
    tag = counter[: counter.index("}") + 1]
    return f"{tag}:pushes-counted"


# --- campaigns and scheduler ---

# Hash of plan (campaign or daily job) -> epoch seconds of the last fire fully processed.
PLAN_LAST_FIRE = f"{PREFIX}:{{sched}}:last"
# Stream of fires found later than their grace window: logged for officers, never sent.
MISSED_FIRES = f"{PREFIX}:{{sched}}:missed"


def fire_claim(plan: str, epoch: int) -> str:
    """Claim on one fire of a plan: a lease while it is processed, then 'done' or 'missed'."""
    return f"{PREFIX}:{{sched}}:fire:{plan}:{epoch}"


def rotation_sent(campaign: str, group_id: str) -> str:
    """Set of items a campaign's rotation has sent a group since the pool was last exhausted."""
    return f"{PREFIX}:{{rot:{campaign}:{group_id}}}:sent"


def rotation_pick(campaign: str, group_id: str) -> str:
    """Hash (fire, item) of the rotation's last pick, so a retried fire repeats its pick."""
    return f"{PREFIX}:{{rot:{campaign}:{group_id}}}:pick"


def daily_pushes(group_id: str, day: date) -> str:
    """Set of campaign fires pushed to a group on a day: the per-group daily cap."""
    return f"{PREFIX}:{{cap:{group_id}}}:{day_tag(day)}"


# --- articles, links, receipts, forward packs ---

# Hash of "console/<id>" -> JSON article published from the console.
CONSOLE_ARTICLES = f"{PREFIX}:{{articles}}:console"
# Hashes of link target ("<group>|<forwarder>") -> code and code -> target; stable and random.
LINK_CODES = f"{PREFIX}:{{links}}:codes"
LINK_TARGETS = f"{PREFIX}:{{links}}:targets"
# Hashes of forward-pack owner -> page code and page code -> owner.
PACK_CODES = f"{PREFIX}:{{links}}:pack-codes"
PACK_OWNERS = f"{PREFIX}:{{links}}:pack-owners"
RECEIPT_TTL_SECONDS = 400 * 24 * 3600


def pushed_items(group_id: str) -> str:
    """Sorted set of item id -> epoch seconds of its latest push to a group (last few days)."""
    return f"{PREFIX}:{{rcpt-group:{group_id}}}:pushed"


def receipt(item_id: str, reader: str) -> str:
    """One reader's receipt for an item (SET NX: one per reader); value says how it came."""
    return f"{PREFIX}:{{rcpt:{item_id}}}:by:{reader}"


def receipt_groups(item_id: str) -> str:
    """Hash of group id ("" outside any group) -> receipts for an item, for the console."""
    return f"{PREFIX}:{{rcpt:{item_id}}}:groups"


def receipt_classes(item_id: str) -> str:
    """Hash of class name ("三年级2班") -> receipts for an item, from the letter to parents."""
    return f"{PREFIX}:{{rcpt:{item_id}}}:classes"


def pack_items(owner: str, day: date) -> str:
    """Sorted set of "<item>|<group>" -> first-added epoch seconds in an owner's day pack."""
    return f"{PREFIX}:{{pack:{owner}}}:{day_tag(day)}"


def pack_owners(day: date) -> str:
    """Set of owners with a forward pack on a day."""
    return f"{PREFIX}:{{pack-day:{day_tag(day)}}}:owners"


def pack_delivered(day: date) -> str:
    """Hash of owner -> items of their day pack already announced through the WeCom app."""
    return f"{PREFIX}:{{pack-day:{day_tag(day)}}}:sent"


def forwarder_counts(day: date, forwarder: str) -> str:
    """Hash of "<group>:<measure>" -> count of views/receipts through a forwarder's links."""
    return f"{PREFIX}:{{m:{day_tag(day)}}}:forwarder:{forwarder}"


# --- quiz, pledges, APP claims ---

# Round ids that have a question (or a page round) waiting to close, scored by its deadline in
# milliseconds. Only an index: the round's own hash decides, in Lua, whether a close is due.
QUIZ_DUE = f"{PREFIX}:{{quiz-due}}:rounds"
QUIZ_ROUND_TTL_SECONDS = 30 * 24 * 3600


def quiz_round(round_id: str) -> str:
    """Hash of one round: group, questions, answers key, state, current question, deadline."""
    return f"{PREFIX}:{{quiz:{round_id}}}:round"


def quiz_answers(round_id: str) -> str:
    """Hash of "<question index>:<member>" -> "<choice>|<elapsed ms>|<points>", first wins."""
    return f"{PREFIX}:{{quiz:{round_id}}}:answers"


def quiz_scores(round_id: str) -> str:
    """Sorted set of member -> points in one round."""
    return f"{PREFIX}:{{quiz:{round_id}}}:scores"


def quiz_players(round_id: str) -> str:
    """Hash of "<member>:time|correct|name|group" -> value, per player of one round."""
    return f"{PREFIX}:{{quiz:{round_id}}}:players"


def quiz_question_stats(round_id: str) -> str:
    """Hash of "<question index>:answers|correct" -> count, for one round."""
    return f"{PREFIX}:{{quiz:{round_id}}}:qstats"


def page_form(token: str) -> str:
    """One quiz or pledge page form: what it is for, who got it and when (single use)."""
    return f"{PREFIX}:{{quiz-form:{token}}}:form"


def quiz_active(group_id: str) -> str:
    """The id of the chat round running in a group (absent when none runs)."""
    return f"{PREFIX}:{{quiz-group:{group_id}}}:active"


def page_rounds(group_id: str) -> str:
    """List of the page rounds opened for a group, newest first (the last 20)."""
    return f"{PREFIX}:{{quiz-group:{group_id}}}:page-rounds"


def quiz_accuracy(day: date, dimension: str, value: str) -> str:
    """Hash of "scam:<id>:answers|correct" and "q:<id>:answers|correct" for one day."""
    return f"{PREFIX}:{{m:{day_tag(day)}}}:quiz-accuracy:{dimension}:{value}"


def pledges(group_id: str) -> str:
    """Set of member hashes who pledged in a group."""
    return f"{PREFIX}:{{pledge:{group_id}}}:members"


def app_claims(group_id: str) -> str:
    """Set of member hashes who said, of their own accord, that they installed the APP."""
    return f"{PREFIX}:{{app-claims:{group_id}}}:members"


# --- console: users, sessions, content queue, audit ---

# Hash of user name -> the console user as JSON (role, display name, argon2 hash, rights).
CONSOLE_USERS = f"{PREFIX}:{{console}}:users"
# Stream of who did what in the console, when (read by admins).
CONSOLE_AUDIT = f"{PREFIX}:{{console}}:audit"
# Hash of queue item id -> the item as JSON; counter for new ids.
CONSOLE_ITEMS = f"{PREFIX}:{{console}}:items"
CONSOLE_ITEM_IDS = f"{PREFIX}:{{console}}:item-ids"
# Sorted set of approved item ids scored by their send time (epoch seconds).
CONSOLE_DUE = f"{PREFIX}:{{console}}:due"


def console_session(token_hash: str) -> str:
    """Hash of one console session (user, CSRF token), keyed by the SHA-256 of its cookie."""
    return f"{PREFIX}:{{session:{token_hash}}}:session"


# Login throttling keys share one slot: the attempt script reads and writes both at once.
def login_failures(name: str) -> str:
    """Counter of an account's failed logins, expiring with its lock."""
    return f"{PREFIX}:{{login}}:account:{name}"


def login_address(address_hash: str) -> str:
    """Set of the accounts that failed to log in from one address (its SHA-256 prefix)."""
    return f"{PREFIX}:{{login}}:address:{address_hash}"


def console_image(image_id: str) -> str:
    """A picture attached to console items: base64 of a JPEG, named by its content hash."""
    return f"{PREFIX}:{{console}}:image:{image_id}"


def console_history(item_id: str) -> str:
    """List of every saved version of a queue item, oldest first."""
    return f"{PREFIX}:{{console}}:history:{item_id}"


def console_audit_of(subject: str) -> str:
    """Stream of the audit entries about one subject (a queue item, a group, a user)."""
    return f"{PREFIX}:{{console}}:audit:{subject}"

# What officers taught the bot (bot/answers/lessons.py): one slot, so a decision and the version
# bump that tells every instance to reload happen in one transaction.
LESSONS = f"{PREFIX}:{{lessons}}:items"
LESSONS_SEQ = f"{PREFIX}:{{lessons}}:seq"
LESSONS_VERSION = f"{PREFIX}:{{lessons}}:version"
