"""Typed keys for values stored on the aiohttp application (no module-level singletons)."""

from __future__ import annotations

import jinja2
from aiohttp import web
from redis.asyncio import Redis

from bot.channels.simulator import Simulator
from bot.library import Library
from bot.service import ChatService
from bot.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
LIBRARY = web.AppKey("library", Library)
REDIS = web.AppKey("redis", Redis)
SERVICE = web.AppKey("service", ChatService)
SIMULATOR = web.AppKey("simulator", Simulator)
PAGES = web.AppKey("pages", jinja2.Environment)
