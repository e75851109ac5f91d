"""The groups the bot serves: bound by an officer, read by the channels and by targeting.

One Redis hash holds the whole registry (field: group id, value: the group as JSON), so every
instance sees the same groups and `all` is one HGETALL. Registries are small (a county has a
few thousand groups at most), which keeps `find` a scan in Python.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.models import Group, GroupKind, PushTarget
from bot.store import keys

log = logging.getLogger(__name__)


MAX_ID_LENGTH = 200
MAX_NAME_LENGTH = 100
MAX_REGION_LENGTH = 200
MAX_OWNER_LENGTH = 64
MAX_ROBOT_KEY_LENGTH = 100
REGION_SEPARATOR = "/"
# Channel-prefixed ids such as "wecom-bot:wrOgQhDgAAMY...": printable ASCII, no spaces.
_ID_PATTERN = re.compile(r"[!-~]+")

_BINDABLE = tuple(kind for kind in GroupKind if kind is not GroupKind.UNBOUND)
# What officers type for a kind: its code, its Chinese label with or without 群, and a few aliases.
KIND_WORDS: dict[str, GroupKind] = {
    **{kind.value: kind for kind in _BINDABLE},
    **{kind.label: kind for kind in _BINDABLE},
    **{kind.label.removesuffix("群"): kind for kind in _BINDABLE},
    "社区群": GroupKind.COMMUNITY,
    "社区": GroupKind.COMMUNITY,
    "企业群": GroupKind.ENTERPRISE,
    "学生群": GroupKind.SCHOOL,
    "老人群": GroupKind.ELDERLY,
}


class InvalidGroup(ValueError):
    """A group that cannot be registered; `field` names the offending attribute."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"invalid group {field}: {reason}")
        self.field = field
        self.reason = reason


def parse_kind(word: str) -> GroupKind | None:
    """Return the group kind `word` names ("家长群", "parents", "家长"), or None."""
    return KIND_WORDS.get(word.strip()) or KIND_WORDS.get(word.strip().lower())


def split_region(region: str) -> tuple[str, ...]:
    """Return the segments of a region path ("实验小学/三年级2班" -> two segments)."""
    return tuple(region.split(REGION_SEPARATOR)) if region else ()


def validate(group: Group) -> None:
    """Raise InvalidGroup unless `group` may be stored in the registry."""
    if not group.id or len(group.id) > MAX_ID_LENGTH or not _ID_PATTERN.fullmatch(group.id):
        raise InvalidGroup("id", f"must be 1-{MAX_ID_LENGTH} printable ASCII characters")
    if not isinstance(group.kind, GroupKind) or group.kind is GroupKind.UNBOUND:
        raise InvalidGroup("kind", "must be a group kind other than unbound")
    if len(group.name) > MAX_NAME_LENGTH or group.name != group.name.strip():
        raise InvalidGroup("name", f"must be at most {MAX_NAME_LENGTH} characters, trimmed")
    if len(group.region) > MAX_REGION_LENGTH:
        raise InvalidGroup("region", f"must be at most {MAX_REGION_LENGTH} characters")
    if any(not part or part != part.strip() for part in split_region(group.region)):
        raise InvalidGroup("region", "every path segment must be non-empty and trimmed")
    if isinstance(group.members, bool) or not isinstance(group.members, int):
        raise InvalidGroup("members", "must be an integer")
    if group.members < 0:
        raise InvalidGroup("members", "must not be negative")
    if len(group.owner) > MAX_OWNER_LENGTH or group.owner != group.owner.strip():
        raise InvalidGroup("owner", f"must be at most {MAX_OWNER_LENGTH} characters, trimmed")
    if not isinstance(group.target, PushTarget):
        raise InvalidGroup("target", "must be a push target")


def in_region(group: Group, prefix: str) -> bool:
    """Return True when `group` lies in region `prefix`, matching whole segments only."""
    wanted = split_region(prefix.strip(REGION_SEPARATOR))
    return split_region(group.region)[: len(wanted)] == wanted


class GroupRegistry:
    """Groups the bot serves, in Redis; every instance sees the same registry."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def get(self, group_id: str) -> Group | None:
        """Return the registered group, or None when it is not registered."""
        return decode(await self._redis.hget(keys.GROUP_REGISTRY, group_id))

    @staticmethod
    def queue_target(pipe: Pipeline, group_id: str) -> None:
        """Queue on `pipe` the reads of a group and of its robot key, for a sender that reads
        them with other things in one round trip; `decode` the first result."""
        pipe.hget(keys.GROUP_REGISTRY, group_id)
        pipe.hget(keys.ROBOT_KEYS, group_id)

    async def put(self, group: Group) -> None:
        """Insert or replace `group`; raise InvalidGroup when it cannot be registered."""
        validate(group)
        await self._redis.hset(keys.GROUP_REGISTRY, group.id, _encode(group))

    async def remove(self, group_id: str) -> Group | None:
        """Unregister a group and forget its robot key; return what was registered, or None."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hget(keys.GROUP_REGISTRY, group_id)
            pipe.hdel(keys.GROUP_REGISTRY, group_id)
            pipe.hdel(keys.ROBOT_KEYS, group_id)
            raw, _, _ = await pipe.execute()
        return decode(raw)

    async def set_robot_key(self, group_id: str, key: str) -> None:
        """Store the WeCom robot webhook key of a group; it is never shown again."""
        if not key or len(key) > MAX_ROBOT_KEY_LENGTH or not _ID_PATTERN.fullmatch(key):
            raise InvalidGroup("robot_key", "must be the key=... value of the robot webhook URL")
        await self._redis.hset(keys.ROBOT_KEYS, group_id, key)

    async def robot_key(self, group_id: str) -> str | None:
        """Return the robot webhook key of a group, for the sender only; None when unset."""
        key = await self._redis.hget(keys.ROBOT_KEYS, group_id)
        return None if key is None else str(key)

    async def all(self) -> list[Group]:
        """Return every registered group, ordered by id."""
        stored = await self._redis.hgetall(keys.GROUP_REGISTRY)
        return sorted(_decode_all(stored.values()), key=lambda group: group.id)

    async def find(
        self,
        kind: GroupKind | None = None,
        region_prefix: str | None = None,
        owner: str | None = None,
    ) -> list[Group]:
        """Return the registered groups of `kind` within `region_prefix` owned by `owner`.

        None for any argument means any.
        """
        return [
            group
            for group in await self.all()
            if (kind is None or group.kind is kind)
            and (region_prefix is None or in_region(group, region_prefix))
            and (owner is None or group.owner == owner)
        ]


def _encode(group: Group) -> str:
    fields = {
        "id": group.id,
        "name": group.name,
        "kind": group.kind.value,
        "region": group.region,
        "members": group.members,
        "owner": group.owner,
        "target": group.target.value,
    }
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def decode(raw: bytes | str | None) -> Group | None:
    """Return the group stored as `raw` (None stays None)."""
    if raw is None:
        return None
    fields = json.loads(raw)
    return Group(
        id=str(fields["id"]),
        name=str(fields["name"]),
        kind=GroupKind(fields["kind"]),
        region=str(fields["region"]),
        members=int(fields["members"]),
        owner=str(fields.get("owner", "")),
        target=PushTarget(fields.get("target", "")),
    )


def _decode_all(values: Iterable[bytes | str]) -> list[Group]:
    """Decode stored groups, skipping (and logging) any entry that no longer parses."""
    groups = []
    for raw in values:
        try:
            group = decode(raw)
        except (ValueError, KeyError, TypeError):
            group = None
        if group is None:
            log.warning("skipping an unreadable group registry entry")
        else:
            groups.append(group)
    return groups
