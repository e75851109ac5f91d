"""Login throttling: each attempt is counted and checked in one Redis script, before the
password is checked, so concurrent guesses cannot slip past the limit.

An account locks after MAX_FAILURES failed attempts. An address locks only when its failures
are spread over MAX_ACCOUNTS different accounts (someone trying names), so colleagues behind
one NAT or reverse proxy do not lock each other out by mistyping. The address is the peer's,
or, when the peer is a trusted proxy (FANZHA_TRUSTED_PROXIES), the nearest untrusted address
in X-Forwarded-For.
"""

from __future__ import annotations

import enum
import hashlib
import ipaddress
from collections.abc import Sequence

from aiohttp import web
from redis.asyncio import Redis

from bot.settings import IPNetwork
from bot.store import keys

MAX_FAILURES = 5
MAX_ACCOUNTS = 10
LOCK_SECONDS = 15 * 60


# KEYS[1] the account's counter, KEYS[2] the set of accounts that failed from the address.
# ARGV[1] the account, ARGV[2] MAX_FAILURES, ARGV[3] MAX_ACCOUNTS, ARGV[4] LOCK_SECONDS.
# Returns 1 (account locked), 2 (address locked), or 0 after counting this attempt as a
# failure in advance; a successful login takes it back (_FORGIVE).
_ATTEMPT = """
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[2]) then return 1 end
if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[3]) then return 2 end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 0
"""
_FORGIVE = """
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
return 0
"""


class Verdict(enum.Enum):
    """What the throttle says about one login attempt."""

    ALLOWED = 0
    ACCOUNT_LOCKED = 1
    ADDRESS_LOCKED = 2


class LoginThrottle:
    """Count and check login attempts for one account name from one address."""

    def __init__(self, redis: Redis, name: str, address: str) -> None:
        self._redis = redis
        self._name = name
        self._keys = (keys.login_failures(name), keys.login_address(_digest(address)))

    async def attempt(self) -> Verdict:
        """Count this attempt (as a failure until forgiven) unless a lock already holds."""
        raw = await self._redis.eval(
            _ATTEMPT, 2, *self._keys, self._name, MAX_FAILURES, MAX_ACCOUNTS, LOCK_SECONDS
        )
        return Verdict(int(raw))

    async def forgive(self) -> None:
        """Take back the attempt of a login that succeeded, and the account's earlier ones."""
        await self._redis.eval(_FORGIVE, 2, *self._keys, self._name)


def _digest(address: str) -> str:
    return hashlib.sha256(address.encode()).hexdigest()[:24]


def client_address(request: web.Request, trusted: Sequence[IPNetwork]) -> str:
    """Return the client's address: the peer, or past trusted proxies in X-Forwarded-For."""
    peer = request.remote or "unknown"
    if not _is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop if _parse(hop) is not None else peer
    return peer


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address)
    except ValueError:
        return None


def _is_trusted(address: str, trusted: Sequence[IPNetwork]) -> bool:
    parsed = _parse(address)
    return parsed is not None and any(parsed in network for network in trusted)
