"""One app with every receiving channel on: the 公众号 (safe mode), the WeCom app, the smart
bot's callback, the simulator and the console, for tests that drive all of them at once.

API bases point at a loopback port nobody listens on: these tests never need WeCom to answer.
"""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from bot.app import create_app
from bot.channels.official_account import OfficialAccountConfig, setup_official_account
from bot.channels.wecom_app import WeComAppConfig, setup_wecom_app
from bot.channels.wecom_bot import WeComBotConfig, setup_wecom_bot
from bot.library import Library
from bot.settings import Settings

NOWHERE = "http://127.0.0.1:9"
TOKEN = "fzFuzzToken2024"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OA = OfficialAccountConfig("wxfuzzapp0001", TOKEN, "fuzz-secret-0123456789", AES_KEY, NOWHERE)
APP = WeComAppConfig("wwfuzzcorp01", TOKEN, AES_KEY, "fuzz-secret-0123456789", 1000002, NOWHERE)
BOT = WeComBotConfig("aibFuzzBot0001", TOKEN, AES_KEY, NOWHERE)
ORGANISER = "teacher_li_organiser"  # a chat admin on the smart bot: may start quiz rounds


def every_channel(settings: Settings, library: Library) -> web.Application:
    """Return the app with every receiving channel and the simulator on."""
    admins = frozenset({f"wecom_bot:{ORGANISER}"})
    app = create_app(replace(settings, simulator=True, admins=admins), library)
    setup_official_account(app, OA)
    setup_wecom_app(app, APP)
    setup_wecom_bot(app, BOT)
    return app
