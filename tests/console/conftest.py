"""Browser fixtures for the console's end-to-end tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Page
from redis.asyncio import Redis

from bot.library import Library
from bot.settings import Settings
from tests.support.browser import open_page, serve_app


@pytest.fixture
async def base_url(settings: Settings, library: Library, redis: Redis) -> AsyncIterator[str]:
    """Serve the whole app on a loopback port with the demo groups registered."""
    async for url in serve_app(settings, library, redis):
        yield url


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    """A fresh headless Chromium page."""
    async for fresh in open_page():
        yield fresh
