"""Routers: first match wins, filters hand over arguments, errors route to error handlers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.filters import command, text_is
from bot.models import Message, Reply
from bot.router import Dispatcher, Router


def msg(text: str) -> Message:
    return Message("simulator", "u1", text, "m1", datetime(2026, 11, 1, tzinfo=UTC))


async def test_first_matching_handler_wins_across_routers() -> None:
    first, second = Router("first"), Router("second")

    @first.message(text_is("菜单"))
    async def menu() -> Reply:
        return Reply.text("menu")

    @second.message()
    async def anything(message: Message) -> Reply:
        return Reply.text(f"echo {message.text}")

    dispatcher = Dispatcher([first, second])
    assert (await dispatcher.feed(msg("菜单！"))) == Reply.text("menu")
    assert (await dispatcher.feed(msg("刷单"))) == Reply.text("echo 刷单")


async def test_filter_dict_becomes_handler_argument_and_dependencies_are_injected() -> None:
    router = Router("r")

    @router.message(command("详细"))
    async def detail(args: str, prefix: str) -> Reply:
        return Reply.text(prefix + args)

    reply = await Dispatcher([router], prefix=">").feed(msg("详细：刷单"))
    assert reply == Reply.text(">刷单")


async def test_no_match_returns_none() -> None:
    router = Router("r")

    @router.message(text_is("帮助"))
    async def help_() -> Reply:
        return Reply.text("help")

    assert await Dispatcher([router]).feed(msg("你好")) is None


async def test_errors_go_to_the_matching_error_handler_or_are_reraised() -> None:
    router = Router("r")

    @router.message(text_is("坏"))
    async def broken() -> Reply:
        raise KeyError("missing")

    @router.message(text_is("更坏"))
    async def worse() -> Reply:
        raise RuntimeError("boom")

    @router.errors(KeyError)
    async def on_key_error(exception: KeyError) -> Reply:
        return Reply.text(f"handled {exception.args[0]}")

    dispatcher = Dispatcher([router])
    assert await dispatcher.feed(msg("坏")) == Reply.text("handled missing")
    with pytest.raises(RuntimeError):
        await dispatcher.feed(msg("更坏"))


async def test_a_handler_needing_an_unknown_dependency_fails_loudly() -> None:
    router = Router("r")

    @router.message()
    async def needs(nothing_provides_this: int) -> Reply:
        return Reply.text("never")

    with pytest.raises(TypeError, match="nothing_provides_this"):
        await Dispatcher([router]).feed(msg("x"))
