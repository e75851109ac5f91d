"""Typed keys for the values every part of the aiohttp application shares (no singletons)."""

from __future__ import annotations

import jinja2
from aiohttp import web
from redis.asyncio import Redis

from bot.library import Library
from bot.service import ChatService
from bot.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
LIBRARY = web.AppKey("library", Library)
REDIS = web.AppKey("redis", Redis)
SERVICE = web.AppKey("service", ChatService)
PAGES = web.AppKey("pages", jinja2.Environment)
