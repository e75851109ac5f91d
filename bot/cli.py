"""The `fanzha` command: serve, ask, content lint, and the other commands' parsers."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from redis.asyncio import Redis

from bot import cli_groups_io, cli_outbox, cli_quiz, cli_report, cli_schedules, cli_users
from bot.channels.plain import markdown_to_text
from bot.channels.simulator import PRIVATE, Simulator
from bot.content import ContentError
from bot.library import Library, load_library
from bot.models import Group, GroupKind
from bot.observability import configure_logging
from bot.settings import Settings, SettingsError
from bot.store import keys
from bot.store.embedded import EmbeddedRedis, EmbeddedRedisError, open_redis
from bot.store.groups import GroupRegistry, InvalidGroup, parse_kind

log = logging.getLogger(__name__)
_T = TypeVar("_T")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        if getattr(args, "content", None):
            settings = replace(settings, content_dir=Path(args.content).resolve())
        # Only the service logs at the configured level; one-shot commands print their result.
        level = settings.log_level if args.run is _serve else logging.WARNING
        configure_logging(level, settings.log_format)
        status: int = args.run(args, settings)
        return status
    except SettingsError as exc:
        print(f"配置错误：{exc}", file=sys.stderr)
    except ContentError as exc:
        print(f"内容有 {len(exc.problems)} 处问题，服务不能启动：", file=sys.stderr)
        print(exc, file=sys.stderr)
    except EmbeddedRedisError as exc:
        print(f"内置 Redis 启动失败：{exc}", file=sys.stderr)
    return 1


# argparse's own words (headings, usage, errors), for officers who read Chinese.
_ARGPARSE_ZH = {
    "usage: ": "用法：",
    "positional arguments": "参数",
    "options": "选项",
    "show this help message and exit": "显示这段帮助并退出",
    "%(prog)s: error: %(message)s\n": "%(prog)s：出错了：%(message)s\n",
    "the following arguments are required: %s": "缺少必填的参数：%s",
    "unrecognized arguments: %s": "不认识这些参数：%s",
    "invalid choice: %(value)r (choose from %(choices)s)": (
        "没有 %(value)r 这一项（可选：%(choices)s）"
    ),
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "invalid %(type)s value: %(value)r": "%(value)r 不是有效的值",
    "expected one argument": "后面要跟一个值",
    "ambiguous option: %(option)s could match %(matches)s": (
        "%(option)s 不明确，可能是 %(matches)s"
    ),
}


def _parser() -> argparse.ArgumentParser:
    # argparse looks its words up through the module's gettext function when it uses them.
    setattr(argparse, "_", lambda text: _ARGPARSE_ZH.get(text, text))  # noqa: B010
    parser = argparse.ArgumentParser(
        prog="fanzha", description="反诈助手：防范电信网络诈骗的群聊机器人"
    )
    commands = parser.add_subparsers(required=True, metavar="命令")

    serve = commands.add_parser("serve", help="启动服务（没有设置 REDIS_URL 时使用内置 Redis）")
    serve.add_argument("--host", help="监听地址（默认 FANZHA_HOST）")
    serve.add_argument("--port", type=int, help="监听端口（默认 FANZHA_PORT）")
    serve.set_defaults(run=_serve)

    ask = commands.add_parser("ask", help="在终端里向机器人提一个问题（不计入统计）")
    ask.add_argument("text", help="要问的话，如 刷单是什么")
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

    content = commands.add_parser("content", help="内容工具")
    content_commands = content.add_subparsers(required=True, metavar="操作")
    lint = content_commands.add_parser("lint", help="检查全部内容文件")
    lint.add_argument("--content", help="内容文件夹（默认使用自带的 content/）")
    lint.set_defaults(run=_lint)
    _add_groups_parser(commands)
    cli_schedules.add_parser(commands)
    cli_report.add_parser(commands)
    cli_users.add_parser(commands)
    cli_quiz.add_parser(commands)
    cli_outbox.add_parser(commands)
    return parser


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from aiohttp import web

    from bot.app import create_app

    settings = replace(settings, host=args.host or settings.host, port=args.port or settings.port)
    app = create_app(settings)
    print(f"反诈助手已启动：http://{settings.host}:{settings.port}/sim", flush=True)
    web.run_app(app, host=settings.host, port=settings.port, print=None)
    return 0


def _lint(args: argparse.Namespace, settings: Settings) -> int:
    library = load_library(settings.content_dir)
    print(
        f"内容检查通过：{len(library.kb.scams)} 种骗局，{len(library.kb.topics)} 个话题，"
        f"{len(library.articles)} 篇预警和一封信，"
        f"{len(library.risk.rules)} 条风险规则，{len(library.quiz)} 道答题题目。"
    )
    return 0


def _unmatched(args: argparse.Namespace, settings: Settings) -> int:
    entries = _with_redis(
        settings, lambda redis: redis.xrevrange(keys.UNMATCHED_LOG, count=args.limit)
    )
    rows = [{str(k): str(v) for k, v in fields.items()} for _, fields in entries or [] if fields]
    if not rows:
        print("还没有答不上来的问题。")
    for row in rows:
        where = row["group"] or "一对一"
        print(f"{row['day']}  {row['channel']}/{where}  {row['text']}")
    return 0


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    library = load_library(settings.content_dir)
    with (
        tempfile.TemporaryDirectory(prefix="fanzha-ask-") as folder,
        EmbeddedRedis(Path(folder), persistent=False) as redis_server,
    ):
        # A throw-away Redis: a preview in the terminal must not count as a resident's question.
        print(asyncio.run(_answer(args, settings, library, redis_server.url)))
    return 0


async def _answer(args: argparse.Namespace, settings: Settings, library: Library, url: str) -> str:
    from bot.app import build_service

    demo = Simulator()
    simulator = Simulator(tuple(demo.group_for_kind(kind) for kind in GroupKind))
    group = (
        None
        if args.group_kind == PRIVATE
        else simulator.group_for_kind(GroupKind(args.group_kind))
    )
    payload = {"group": group.id if group else PRIVATE, "user": "terminal", "text": args.text}
    redis = Redis.from_url(url, decode_responses=True)
    try:
        service = await build_service(settings, library, redis)
        # The person at the terminal is talking to the bot, in a group as well.
        reply = await service.handle(replace(simulator.parse(payload), addressed=True))
    finally:
        await redis.aclose()
    if reply is None:
        return "（机器人没有回复：在群里请先 @ 它，或直接问与诈骗有关的问题。）"
    return "\n\n".join(markdown_to_text(part.text) for part in reply.parts)


def _add_groups_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    groups = commands.add_parser("groups", help="群登记：机器人服务哪些群")
    actions = groups.add_subparsers(required=True, metavar="操作")
    listing = actions.add_parser("list", help="列出已登记的群")
    listing.add_argument("--kind", type=_kind, help="只看这类群，如 parents 或 家长群")
    listing.add_argument("--region", help="只看这个地区，如 城关镇/幸福村")
    listing.set_defaults(run=_groups_list)
    bind = actions.add_parser("bind", help="登记一个群，或修改它的登记")
    bind.add_argument("id", help="带渠道前缀的群编号，如 wecom-bot:<chatid>")
    bind.add_argument("kind", type=_kind, help="群类型，如 parents 或 家长群")
    bind.add_argument("region", help="地区路径，如 城关镇/实验小学/三年级2班")
    bind.add_argument("--name", default="", help="群名称")
    bind.add_argument("--members", type=int, default=0, help="群成员人数（用于算覆盖率）")
    bind.set_defaults(run=_groups_bind)
    unbind = actions.add_parser("unbind", help="取消一个群的登记")
    unbind.add_argument("id", help="群编号")
    unbind.set_defaults(run=_groups_unbind)
    cli_groups_io.add_actions(actions)


_GROUP_RULES = {
    "id": "群编号只能用英文字母、数字和符号，不能有空格，最长 200 个字符",
    "name": "群名最长 100 个字，前后不要留空格",
    "region": "地区的每一级都要有名字，中间用斜杠隔开，总长不超过 200 个字",
    "members": "人数不能是负数",
}


def _kind(word: str) -> GroupKind:
    kind = parse_kind(word)
    if kind is None:
        raise argparse.ArgumentTypeError(f"不认识“{word}”这个群类型")
    return kind


def _groups_list(args: argparse.Namespace, settings: Settings) -> int:
    groups = _with_redis(settings, lambda redis: GroupRegistry(redis).find(args.kind, args.region))
    if not groups:
        print("还没有符合条件的群。")
    for group in groups:
        print(f"{group.id}  {group.kind.label}  {group.region or '-'}  {group.name or '-'}  "
              f"{group.members} 人")  # fmt: skip
    return 0


def _groups_bind(args: argparse.Namespace, settings: Settings) -> int:
    group = Group(args.id, args.name.strip(), args.kind, args.region.strip("/"), args.members)
    try:
        _with_redis(settings, lambda redis: GroupRegistry(redis).put(group))
    except InvalidGroup as exc:
        print(f"登记失败：{_GROUP_RULES.get(exc.field, exc.reason)}。", file=sys.stderr)
        return 1
    print(f"已登记：{group.id}  {group.kind.label}  {group.region}")
    return 0


def _groups_unbind(args: argparse.Namespace, settings: Settings) -> int:
    removed = _with_redis(settings, lambda redis: GroupRegistry(redis).remove(args.id))
    print(f"已解除登记：{args.id}" if removed else f"没有登记过这个群：{args.id}")
    return 0 if removed else 1


def _with_redis(settings: Settings, use: Callable[[Redis], Awaitable[_T]]) -> _T:
    """Run `use` on the configured Redis, the running service's, or a freshly started one."""

    async def run(url: str) -> _T:
        redis = Redis.from_url(url, decode_responses=True)
        try:
            return await use(redis)
        finally:
            await redis.aclose()

    with open_redis(settings.redis_url, settings.data_dir) as url:
        return asyncio.run(run(url))
