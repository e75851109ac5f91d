"""`fanzha groups list|bind|unbind` (and import|export): which groups the bot serves."""

from __future__ import annotations

import argparse
import sys

from bot.cli import groups_io
from bot.cli.common import Commands, with_redis
from bot.models import Group, GroupKind, PushTarget
from bot.settings import Settings
from bot.store.groups import GroupRegistry, InvalidGroup, parse_kind


def add_parser(commands: Commands) -> None:
    """Register `groups` and its actions."""
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
    bind.add_argument(
        "--target",
        type=_target,
        default="none",
        help="推送方式：sim、robot、wecom-bot、forward 或 none（默认 none：不会收到推送）",
    )
    bind.add_argument("--owner", default="", help="负责人的控制台用户名（老师、网格员）")
    bind.set_defaults(run=_groups_bind)
    unbind = actions.add_parser("unbind", help="取消一个群的登记")
    unbind.add_argument("id", help="群编号")
    unbind.set_defaults(run=_groups_unbind)
    groups_io.add_actions(actions)


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


def _target(word: str) -> PushTarget:
    for target in PushTarget:
        if word in (target.value or "none", target.label):
            return target
    choices = "、".join(t.value or "none" for t in PushTarget)
    raise argparse.ArgumentTypeError(f"没有“{word}”这种推送方式，可选：{choices}")


def _groups_list(args: argparse.Namespace, settings: Settings) -> int:
    groups = with_redis(settings, lambda redis: GroupRegistry(redis).find(args.kind, args.region))
    if not groups:
        print("还没有符合条件的群。")
    for group in groups:
        print(f"{group.id}  {group.kind.label}  {group.region or '-'}  {group.name or '-'}  "
              f"{group.members} 人  {group.target.label}  "
              f"负责人：{group.owner or '-'}")  # fmt: skip
    return 0


def _groups_bind(args: argparse.Namespace, settings: Settings) -> int:
    group = Group(
        args.id, args.name.strip(), args.kind, args.region.strip("/"), args.members,
        owner=args.owner.strip(), target=args.target,
    )  # fmt: skip
    try:
        with_redis(settings, lambda redis: GroupRegistry(redis).put(group))
    except InvalidGroup as exc:
        print(f"登记失败：{_GROUP_RULES.get(exc.field, exc.reason)}。", file=sys.stderr)
        return 1
    print(
        f"已登记：{group.id}  {group.kind.label}  {group.region}  推送方式：{group.target.label}"
    )
    return 0


def _groups_unbind(args: argparse.Namespace, settings: Settings) -> int:
    removed = with_redis(settings, lambda redis: GroupRegistry(redis).remove(args.id))
    print(f"已解除登记：{args.id}" if removed else f"没有登记过这个群：{args.id}")
    return 0 if removed else 1
