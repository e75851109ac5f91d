"""What the bot does with a message. ROUTERS lists the routers in priority order."""

from __future__ import annotations

from bot.router import Router
from handlers import admin, checker, help, images, keywords, pledge, quiz, receipts

ROUTERS: tuple[Router, ...] = (
    images.router,
    help.router,
    admin.router,
    quiz.router,
    pledge.router,
    receipts.router,
    checker.router,
    keywords.router,
)
