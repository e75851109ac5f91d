"""The `fanzha` command: parse the arguments and run the chosen command group."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from bot.answers.content import ContentError
from bot.cli import ask, content, groups, outbox, quiz, report, schedules, serve, users
from bot.observability import configure_logging
from bot.settings import Settings, SettingsError
from bot.store.embedded import EmbeddedRedisError


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        if getattr(args, "content", None):
            settings = replace(settings, content_dir=Path(args.content).resolve())
        # Only the service logs at the configured level; one-shot commands print their result.
        level = settings.log_level if args.run is serve.run else logging.WARNING
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
    serve.add_parser(commands)
    ask.add_parsers(commands)
    content.add_parser(commands)
    groups.add_parser(commands)
    schedules.add_parser(commands)
    report.add_parser(commands)
    users.add_parser(commands)
    quiz.add_parser(commands)
    outbox.add_parser(commands)
    return parser
