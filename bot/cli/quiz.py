"""`fanzha quiz`: export a round's winners; open a page round for a group the bot cannot join."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from redis.asyncio import Redis

from bot.articles import links
from bot.cli.common import Commands, with_redis
from bot.library import Library, load_library
from bot.quiz import export
from bot.quiz.pages import PageRoundError, open_page_round
from bot.quiz.rounds import QuizRounds
from bot.settings import Settings
from bot.store.groups import GroupRegistry

MAX_TOP = 500


class BadArguments(ValueError):
    """Arguments that cannot be used; the message is the Chinese reason."""


def add_parser(commands: Commands) -> None:
    """Register `fanzha quiz winners` and `fanzha quiz page`."""
    quiz = commands.add_parser("quiz", help="有奖问答：导出获奖名单、开网页答题")
    actions = quiz.add_subparsers(required=True, metavar="操作")
    winners = actions.add_parser("winners", help="把一轮答题的获奖名单导出为 .xlsx 或 .csv")
    winners.add_argument("round", help="答题轮次编号（答题网页地址里的那一串）")
    winners.add_argument(
        "-o", "--output", required=True, help="导出文件，如 winners.xlsx 或 winners.csv"
    )
    winners.add_argument("--top", type=int, default=10, help="取前几名（默认 10）")
    winners.set_defaults(run=_winners)
    page = actions.add_parser("page", help="为一个群开一轮网页答题，并打印链接")
    page.add_argument("group", help="已登记的群编号")
    page.add_argument("--count", type=int, default=10, help="题目数（1-20，默认 10）")
    page.add_argument("--hours", type=int, default=24, help="开放几小时（默认 24）")
    page.add_argument("--audience", help="出题对象，如 parents 或 家长")
    page.set_defaults(run=_page)


def _winners(args: argparse.Namespace, settings: Settings) -> int:

    output = Path(args.output)
    try:
        if output.suffix.lower() not in (".xlsx", ".csv"):
            raise BadArguments("输出文件要以 .xlsx 或 .csv 结尾。")
        if not output.parent.is_dir():
            raise BadArguments(f"文件夹“{output.parent}”不存在，请先建好再导出。")
        if not 1 <= args.top <= MAX_TOP:
            raise BadArguments(f"--top 要在 1 到 {MAX_TOP} 之间。")
        library = load_library(settings.content_dir)
        rows = with_redis(
            settings,
            lambda redis: export.winners(
                QuizRounds(redis, library.quiz), GroupRegistry(redis), args.round, args.top
            ),
        )
    except BadArguments as exc:
        print(exc, file=sys.stderr)
        return 2
    except export.UnknownRound:
        print(f"没有找到这一轮答题：{args.round}（编号写错了，或已过期）。", file=sys.stderr)
        return 2
    export.write(output, rows)
    print(f"已导出 {len(rows)} 名获奖者：{output}")
    return 0


def _page(args: argparse.Namespace, settings: Settings) -> int:

    try:
        library = load_library(settings.content_dir)
        url = with_redis(settings, lambda redis: _open(redis, library, settings, args))
    except (BadArguments, PageRoundError) as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"网页答题已开放 {args.hours} 小时，请把这个链接发到群里：{url}")
    return 0


async def _open(
    redis: Redis, library: Library, settings: Settings, args: argparse.Namespace
) -> str:
    """Start a page round for the group; return the address players open."""
    group = await GroupRegistry(redis).get(args.group)
    if group is None:
        raise BadArguments(f"没有登记过这个群：{args.group}")
    round_ = await open_page_round(
        redis, library, group, count=args.count, hours=args.hours,
        audience_word=args.audience or "", organiser="cli",
    )  # fmt: skip
    code = await links.code_for(redis, group.id)
    return f"{settings.base_url}/quiz/{round_.id}?g={code}"
