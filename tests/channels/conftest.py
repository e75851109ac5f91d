"""Fixtures the smart-bot tests share: the fake response_url endpoint and WebSocket gateway."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.wecom_bot import FakeResponseURL, FakeWeComWS, serve_gateway, serve_responses


@pytest.fixture
async def responses(aiohttp_server: Any) -> FakeResponseURL:
    return await serve_responses(aiohttp_server)


@pytest.fixture
async def gateway(aiohttp_server: Any) -> FakeWeComWS:
    return await serve_gateway(aiohttp_server)
