"""`fanzha ask` and `fanzha unmatched`: try the bot from a terminal, read what it missed."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from redis.asyncio import Redis

from bot.answers.ocr import TextReader
from bot.channels.plain import markdown_to_text
from bot.channels.simulator import PRIVATE, Simulator
from bot.cli.common import Commands, with_redis
from bot.dashboard import dates
from bot.library import Library, load_library
from bot.models import GroupKind
from bot.settings import Settings
from bot.store import keys
from bot.store.embedded import EmbeddedRedis


def add_parsers(commands: Commands) -> None:
    """Register `ask` and `unmatched`."""
    ask = commands.add_parser("ask", help="在终端里向机器人提一个问题（不计入统计）")
    ask.add_argument("text", nargs="?", default="", help="要问的话，如 刷单是什么")
    ask.add_argument("--image", type=Path, help="检查一张截图（图片文件），如 --image 短信.png")
    ask.add_argument(
        "--group-kind",
        default=PRIVATE,
        choices=[PRIVATE, *(k.value for k in GroupKind)],
        help="假装在哪类群里提问（默认一对一）",
    )
    ask.add_argument("--content", help="内容文件夹（默认使用自带的 content/）")
    ask.set_defaults(run=_ask)

    unmatched = commands.add_parser("unmatched", help="列出机器人没答上来的问题")
    unmatched.add_argument("--limit", type=int, default=50, help="最多列出几条（默认 50）")
    unmatched.set_defaults(run=_unmatched)


def _unmatched(args: argparse.Namespace, settings: Settings) -> int:
    entries = with_redis(
        settings, lambda redis: redis.xrevrange(keys.UNMATCHED_LOG, count=args.limit)
    )
    rows = [{str(k): str(v) for k, v in fields.items()} for _, fields in entries or [] if fields]
    if not rows:
        print("还没有答不上来的问题。")
    for row in rows:
        where = row["group"] or "一对一"
        print(f"{dates.tag_label(row['day'])}  {row['channel']}/{where}  {row['text']}")
    return 0


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    if not args.text.strip() and args.image is None:
        print("请写上要问的话，或用 --image 给一张截图。", file=sys.stderr)
        return 2
    image = None
    if args.image is not None:
        try:
            image = args.image.read_bytes()
        except OSError as exc:
            print(f"读不了图片文件 {args.image}：{exc.strerror or exc}", file=sys.stderr)
            return 1
    library = load_library(settings.content_dir)
    with (
        tempfile.TemporaryDirectory(prefix="fanzha-ask-") as folder,
        EmbeddedRedis(Path(folder), persistent=False) as redis_server,
    ):
        # A throw-away Redis: a preview in the terminal must not count as a resident's question.
        print(asyncio.run(_answer(args, settings, library, redis_server.url, image)))
    return 0


async def _answer(
    args: argparse.Namespace, settings: Settings, library: Library, url: str, image: bytes | None
) -> str:
    from bot.app import build_service

    demo = Simulator()
    simulator = Simulator(tuple(demo.group_for_kind(kind) for kind in GroupKind))
    group = (
        None
        if args.group_kind == PRIVATE
        else simulator.group_for_kind(GroupKind(args.group_kind))
    )
    text = args.text or "［图片］"
    payload = {"group": group.id if group else PRIVATE, "user": "terminal", "text": text}
    redis = Redis.from_url(url, decode_responses=True)
    ocr = TextReader.from_env(settings.environ)
    try:
        service = await build_service(settings, library, redis, ocr=ocr)
        # The person at the terminal is talking to the bot, in a group as well.
        message = replace(simulator.parse(payload), addressed=True, image=image)
        reply = await service.handle(message)
    finally:
        ocr.close()
        await redis.aclose()
    if reply is None:
        return "（机器人没有回复：在群里请先 @ 它，或直接问与诈骗有关的问题。）"
    return "\n\n".join(markdown_to_text(part.text) for part in reply.parts)
