"""`fanzha content lint`: check every content file."""

from __future__ import annotations

import argparse

from bot.cli.common import Commands
from bot.library import load_library
from bot.settings import Settings


def add_parser(commands: Commands) -> None:
    """Register `content lint`."""
    content = commands.add_parser("content", help="内容工具")
    content_commands = content.add_subparsers(required=True, metavar="操作")
    lint = content_commands.add_parser("lint", help="检查全部内容文件")
    lint.add_argument("--content", help="内容文件夹（默认使用自带的 content/）")
    lint.set_defaults(run=_lint)


def _lint(args: argparse.Namespace, settings: Settings) -> int:
    library = load_library(settings.content_dir)
    print(
        f"内容检查通过：{len(library.kb.scams)} 种骗局，{len(library.kb.topics)} 个话题，"
        f"{len(library.articles)} 篇预警和一封信，"
        f"{len(library.risk.rules)} 条风险规则，{len(library.quiz)} 道答题题目。"
    )
    return 0
