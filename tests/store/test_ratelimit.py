"""The Redis send allowance: at most `limit` sends per target in any window, for all instances."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from bot.store.embedded import EmbeddedRedis
from bot.store.ratelimit import MICROS, RateLimiter, WindowFull, window


async def test_slots_are_free_until_the_limit_then_wait_for_the_window(redis: Redis) -> None:
    limiter = RateLimiter(redis)
    waits = [await limiter.acquire("robot-a", 3, 60.0) for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert 59.0 < waits[3] <= 60.0
    assert await redis.zcard(window("robot-a")) == 3  # a refused caller records nothing
    assert await limiter.acquire("robot-b", 3, 60.0) == 0.0  # another target, its own allowance


async def test_a_send_in_flight_frees_its_slot_a_full_period_after_it_ends(
    redis: Redis,
) -> None:
    limiter = RateLimiter(redis)
    assert await limiter.acquire("robot", 1, 30.0, hold=10.0, token="first") == 0.0
    assert await limiter.acquire("robot", 1, 30.0) == 30.0  # still in flight: at least a period
    before = await redis.zscore(window("robot"), "first")
    await limiter.done("robot", "first", 30.0)
    after = await redis.zscore(window("robot"), "first")
    assert after is not None and before is not None and after < before
    assert 29.0 < await limiter.acquire("robot", 1, 30.0) <= 30.0


async def test_concurrent_callers_never_get_more_than_limit_slots(redis: Redis) -> None:
    limiter = RateLimiter(redis)
    waits = await asyncio.gather(*(limiter.acquire("busy", 10, 30.0) for _ in range(55)))
    assert waits.count(0.0) == 10
    assert all(wait > 0 for wait in waits if wait)
    assert await redis.zcard(window("busy")) == 10


async def test_sending_holds_a_slot_and_dates_it_on_exit(redis: Redis) -> None:
    limiter = RateLimiter(redis)
    async with limiter.sending("robot", 2, 60.0, hold=5.0, max_wait=1.0):
        [token] = [str(member) for member in await redis.zrange(window("robot"), 0, -1)]
        in_flight = await redis.zscore(window("robot"), token)
    ended = await redis.zscore(window("robot"), token)
    assert in_flight is not None and ended is not None
    assert 0 < in_flight - ended <= 5.0 * MICROS


async def test_sending_refuses_a_slot_beyond_max_wait(redis: Redis) -> None:
    limiter = RateLimiter(redis)
    async with limiter.sending("slow", 1, 60.0, hold=1.0, max_wait=1.0):
        pass
    with pytest.raises(WindowFull) as full:
        async with limiter.sending("slow", 1, 60.0, hold=1.0, max_wait=1.0):
            pytest.fail("no slot should be free")
    assert 59.0 < full.value.after <= 60.0
    assert await redis.zcard(window("slow")) == 1


async def test_sends_to_one_target_take_turns_in_arrival_order(redis: Redis) -> None:
    limiter, order, inside = RateLimiter(redis), list[int](), set[int]()

    async def send(n: int) -> None:
        async with limiter.sending("robot", 100, 60.0, hold=1.0, max_wait=5.0):
            inside.add(n)
            assert len(inside) == 1
            await asyncio.sleep(0)  # let the others try to get in
            order.append(n)
            inside.discard(n)

    await asyncio.gather(*(send(n) for n in range(10)))
    assert order == list(range(10))
    assert not limiter._lanes  # nothing kept once the sends are over


async def test_a_turn_further_than_max_wait_is_refused(redis: Redis) -> None:
    limiter, release = RateLimiter(redis), asyncio.Event()

    async def slow_send() -> None:
        async with limiter.sending("robot", 100, 60.0, hold=1.0, max_wait=5.0):
            await release.wait()

    first = asyncio.create_task(slow_send())
    await asyncio.sleep(0)
    with pytest.raises(WindowFull):
        async with limiter.sending("robot", 100, 60.0, hold=1.0, max_wait=0.01):
            pytest.fail("the first send still holds the turn")
    release.set()
    await first


async def test_two_instances_share_one_allowance(
    redis: Redis, redis_server: EmbeddedRedis
) -> None:
    other = Redis.from_url(redis_server.url, decode_responses=True)
    try:
        first, second = RateLimiter(redis), RateLimiter(other)
        assert [await first.acquire("shared", 2, 60.0) for _ in range(2)] == [0.0, 0.0]
        assert await second.acquire("shared", 2, 60.0) > 0
    finally:
        await other.aclose()


async def test_the_send_set_expires_and_keeps_one_cluster_slot(redis: Redis) -> None:
    await RateLimiter(redis).acquire("robot-c", 5, 2.0, hold=1.0)
    assert window("robot-c") == "fz:{rl:robot-c}:sends"
    assert 2000 < await redis.pttl(window("robot-c")) <= 3001


async def test_nonsense_limits_are_refused(redis: Redis) -> None:
    limiter = RateLimiter(redis)
    for limit, period, hold in ((0, 60.0, 0.0), (1, 0.0, 0.0), (1, 60.0, -1.0)):
        with pytest.raises(ValueError):
            await limiter.acquire("x", limit, period, hold=hold)
