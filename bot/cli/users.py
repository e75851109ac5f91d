"""`fanzha user add|passwd|disable|enable|list`: console accounts from the command line."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from redis.asyncio import Redis

from bot.cli.common import Commands
from bot.console.users import ROLES, UserError, UserStore
from bot.settings import Settings
from bot.store.embedded import open_redis


def add_parser(commands: Commands) -> None:
    """Register the `user` command and its subcommands."""
    user = commands.add_parser("user", help="管理控制台账号")
    actions = user.add_subparsers(dest="user_action", required=True, metavar="操作")
    add = actions.add_parser("add", help="新建账号")
    add.add_argument("name", help="登录用的用户名（小写字母、数字）")
    add.add_argument(
        "--role", required=True, choices=list(ROLES), help="角色：管理员、民警、审核、转发员"
    )
    add.add_argument("--display", required=True, help="显示名，如 张警官")
    add.add_argument("--urgent", action="store_true", help="允许不经审核直接发紧急预警")
    add.add_argument("--password-stdin", action="store_true", help="从标准输入读密码")
    passwd = actions.add_parser("passwd", help="修改密码")
    passwd.add_argument("name", help="用户名")
    passwd.add_argument("--password-stdin", action="store_true", help="从标准输入读密码")
    for name, text in (("disable", "停用账号"), ("enable", "重新启用账号")):
        actions.add_parser(name, help=text).add_argument("name", help="用户名")
    actions.add_parser("list", help="列出账号")
    user.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one `user` subcommand against the configured (or embedded) Redis."""
    password = ""
    if args.user_action in ("add", "passwd"):
        password = _password(args.password_stdin)
    try:
        with open_redis(settings.redis_url, settings.data_dir) as url:
            return asyncio.run(_run(url, args, password))
    except UserError as exc:
        print(exc, file=sys.stderr)
        return 1


async def _run(url: str, args: argparse.Namespace, password: str) -> int:
    redis = Redis.from_url(url, decode_responses=True)
    try:
        store = UserStore(redis)
        action = args.user_action
        if action == "add":
            rights = ("urgent",) if args.urgent else ()
            user = await store.add(args.name, args.role, args.display, password, rights)
            print(f"已新建账号 {user.name}（{user.role_label}，{user.display}）。")
        elif action == "passwd":
            await store.set_password(args.name, password)
            print(f"已修改 {args.name} 的密码。")
        elif action in ("disable", "enable"):
            await store.set_disabled(args.name, action == "disable")
            print(f"已{'停用' if action == 'disable' else '启用'}账号 {args.name}。")
        else:
            for user in await store.all():
                state = "（已停用）" if user.disabled else ""
                print(f"{user.name}\t{user.role_label}\t{user.display}{state}")
        return 0
    finally:
        await redis.aclose()


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("密码：")
    if getpass.getpass("再输一次：") != first:
        raise SystemExit("两次输入的密码不一致。")
    return first
