"""`fanzha outbox`: what waits to be sent, what was parked and why; send a parked push again."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime

from redis.asyncio import Redis

from bot.cli.common import Commands
from bot.push.outbox import Outbox, group_health
from bot.settings import Settings
from bot.store.embedded import open_redis

DEPTH_LABELS = {
    "pending": "待发送（含等待重试）",
    "urgent": "其中紧急",
    "in_flight": "正在发送",
    "delayed": "等待重试或限速",
    "dead": "已停发（死信）",
    "held": "待核实（发送途中实例退出）",
}


def add_parser(commands: Commands) -> None:
    """Register `fanzha outbox status` and `fanzha outbox retry KEY...`."""
    outbox = commands.add_parser("outbox", help="发送队列：积压、失败的推送、重新发送")
    actions = outbox.add_subparsers(required=True, metavar="操作")
    status = actions.add_parser("status", help="查看积压、推送方式失效的群和发送失败的推送")
    status.add_argument("--limit", type=int, default=20, help="最多列出几条失败的推送（默认 20）")
    status.set_defaults(run=status_command)
    retry = actions.add_parser("retry", help="按投递编号重新发送停发或待核实的推送")
    retry.add_argument("keys", nargs="+", metavar="投递编号", help="status 里列出的投递编号")
    retry.set_defaults(run=retry_command)


def status_command(args: argparse.Namespace, settings: Settings) -> int:
    """Print the queue depth, the groups flagged broken and the newest parked pushes."""
    with open_redis(settings.redis_url, settings.data_dir) as url:
        print(asyncio.run(_status(url, max(1, args.limit))))
    return 0


def retry_command(args: argparse.Namespace, settings: Settings) -> int:
    """Queue the parked or held deliveries named by key again; exit 2 if any was neither."""
    with open_redis(settings.redis_url, settings.data_dir) as url:
        missing = asyncio.run(_retry(url, args.keys))
    for key in args.keys:
        if key not in missing:
            print(f"已重新排队：{key}")
    for key in missing:
        print(f"没有找到停发或待核实的推送“{key}”（可能已发出或从未排队）。", file=sys.stderr)
    return 2 if missing else 0


async def _status(url: str, limit: int) -> str:
    redis = Redis.from_url(url, decode_responses=True)
    try:
        outbox = Outbox(redis)
        depth = await outbox.depth()
        health = await group_health(redis)
        held = await outbox.held(limit)
        letters = await outbox.dead_letters(limit)
    finally:
        await redis.aclose()
    lines = ["推送队列："]
    lines += [f"  {label}：{depth[name]}" for name, label in DEPTH_LABELS.items()]
    lines.append(f"推送方式失效的群：{len(health)}")
    for group_id, state in sorted(health.items()):
        lines.append(f"  {group_id}（{_when(state.at)}）：{state.reason}")
    lines.append(f"待核实的推送：{len(held)}（核实群里没有收到后，用 retry 重新发送）")
    for letter in held:
        lines.append(f"  {letter.delivery.key} → {letter.delivery.group_id}"
                     f"（{_when(letter.at)}）：{letter.reason}")  # fmt: skip
    lines.append(f"最近停发的推送：{len(letters)}")
    for letter in letters:
        lines.append(f"  {letter.delivery.key} → {letter.delivery.group_id}，"
                     f"失败 {letter.attempts} 次：{letter.reason}")  # fmt: skip
    return "\n".join(lines)


def _when(at: float) -> str:
    return datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M")


async def _retry(url: str, wanted: list[str]) -> list[str]:
    """Requeue each wanted key found among the held or parked deliveries (after the parts
    known to be sent); return the keys not requeued."""
    redis = Redis.from_url(url, decode_responses=True)
    try:
        outbox = Outbox(redis)
        missing = []
        for key in wanted:
            letter = await outbox.letter(key)
            if letter is None or not await outbox.requeue_letter(letter):
                missing.append(key)
        return missing
    finally:
        await redis.aclose()
