"""Greeting, the topic menu, and guards for empty or oversized messages."""

from __future__ import annotations

from bot.answers.matcher import KnowledgeBase
from bot.answers.render import Renderer
from bot.filters import addressed, bare, text_is
from bot.models import Message, Reply
from bot.router import Router
from bot.service import MAX_TEXT_CHARS
from bot.settings import Settings

router = Router("help")

MENU_WORDS = ("帮助", "菜单", "目录", "功能", "help", "menu", "?", "？", "怎么用")
GREETINGS = ("你好", "您好", "在吗", "在不在", "hi", "hello", "哈喽")


def too_long(message: Message) -> bool:
    """Pass when the message is longer than the bot reads."""
    return len(message.text) > MAX_TEXT_CHARS


def empty(message: Message) -> bool:
    """Pass when nothing but punctuation or spaces is left after the mention."""
    return not bare(message.text)


@router.message(addressed, too_long)
async def refuse_long(render: Renderer) -> Reply:
    """Ask for a shorter message instead of reading a wall of text."""
    return Reply.text(render("too_long.md.j2", limit=MAX_TEXT_CHARS), intent="help")


@router.message(too_long)
async def ignore_long() -> None:
    """Stay quiet about long messages nobody addressed to the bot."""
    return


@router.message(addressed, empty)
@router.message(addressed, text_is(*GREETINGS))
async def greet(render: Renderer, settings: Settings) -> Reply:
    """Say hello and point at the menu."""
    return Reply.text(render("greeting.md.j2", bot_name=settings.bot_name), intent="help")


@router.message(addressed, text_is(*MENU_WORDS))
async def menu(message: Message, kb: KnowledgeBase, render: Renderer, settings: Settings) -> Reply:
    """List what the bot can answer."""
    body = render(
        "menu.md.j2",
        bot_name=settings.bot_name,
        scams=kb.scams,
        topics=kb.topics,
        in_group=message.group is not None,
        mention=settings.mention,
    )
    return Reply.markdown(body, intent="help")
