"""`fanzha schedules lint|dry-run` and `fanzha alert`: campaigns from the terminal."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot.answers.content import ContentError
from bot.cli.common import Commands, with_redis
from bot.push.campaigns import Campaign, load_campaigns
from bot.push.catalog import Catalog
from bot.push.dry_run import PlannedPush, plan_pushes
from bot.push.targeting import TargetingError, send_alert
from bot.settings import Settings
from bot.store import keys
from bot.store.groups import GroupRegistry

STYLE_LABELS = {"text": "文字", "markdown": "图文", "news": "文章卡片"}


def add_parser(commands: Commands) -> None:
    """Register `schedules lint`, `schedules dry-run` and `alert`."""
    schedules = commands.add_parser("schedules", help="常规推送计划（schedules/*.yaml）")
    actions = schedules.add_subparsers(required=True, metavar="操作")
    lint = actions.add_parser("lint", help="检查全部推送计划")
    lint.set_defaults(run=_lint)
    dry = actions.add_parser("dry-run", help="列出一段时间内每个群会收到的每一条推送")
    dry.add_argument(
        "--from",
        dest="start",
        type=date.fromisoformat,
        required=True,
        help="开始日期，如 2026-12-01",
    )
    dry.add_argument(
        "--to", dest="end", type=date.fromisoformat, required=True, help="结束日期（含当天）"
    )
    dry.add_argument("--group", help="只看这个群编号")
    dry.set_defaults(run=_dry_run)
    missed = actions.add_parser("missed", help="列出停机太久、超过宽限时间而没有发出的推送")
    missed.add_argument("--limit", type=int, default=50, help="最多列出几条（默认 50）")
    missed.set_defaults(run=_missed)
    alert = commands.add_parser("alert", help="立即插队发送紧急预警（仍受频率限制）")
    alert.add_argument("--to", required=True, help='发给谁，如 "kind=village,region=城关镇"')
    alert.add_argument(
        "--content", dest="item", required=True, help="内容编号，如 alerts/jinji-kuaidi-lipei"
    )
    alert.set_defaults(run=_alert)


def _catalog(settings: Settings) -> Catalog:
    return Catalog.from_content(settings.content_dir)


def _campaigns(settings: Settings) -> tuple[Catalog, list[Campaign]] | None:
    catalog = _catalog(settings)
    try:
        return catalog, load_campaigns(settings.schedules_dir, catalog)
    except ContentError as exc:
        print(f"排期文件有 {len(exc.problems)} 处问题：", file=sys.stderr)
        print(exc, file=sys.stderr)
        return None


def _lint(args: argparse.Namespace, settings: Settings) -> int:
    loaded = _campaigns(settings)
    if loaded is None:
        return 1
    campaigns = loaded[1]
    print(f"排期检查通过：{len(campaigns)} 个活动。")
    for campaign in campaigns:
        print(f"  {campaign.id}  {campaign.title}  轮换 {len(campaign.items)} 篇")
    return 0


def _dry_run(args: argparse.Namespace, settings: Settings) -> int:

    if args.end < args.start:
        print("结束日期不能早于开始日期。", file=sys.stderr)
        return 1
    loaded = _campaigns(settings)
    if loaded is None:
        return 1
    catalog, campaigns = loaded
    tz = ZoneInfo(settings.timezone)
    start = datetime.combine(args.start, time(0), tz) - timedelta(microseconds=1)
    end = datetime.combine(args.end, time(23, 59, 59), tz)

    async def plan(redis: Redis) -> list[PlannedPush]:
        groups = [g for g in await GroupRegistry(redis).all() if args.group in (None, g.id)]
        sent = {
            (c.id, g.id): {str(i) for i in await redis.smembers(keys.rotation_sent(c.id, g.id))}
            for c in campaigns
            for g in groups
        }
        return plan_pushes(campaigns, groups, catalog, start, end, sent)

    pushes = with_redis(settings, plan)
    if not pushes:
        print("这段时间没有要推送的内容（或没有符合条件的群）。")
        return 0
    for push in pushes:
        group = push.group
        print(
            f"{push.at:%Y-%m-%d %H:%M}  {push.campaign.id}  {group.id}（{group.kind.label} "
            f"{group.region or '-'}）  {push.item}  {STYLE_LABELS[push.campaign.style]}"
        )
    print(f"共 {len(pushes)} 条推送，{len({p.group.id for p in pushes})} 个群。")
    return 0


def _missed(args: argparse.Namespace, settings: Settings) -> int:
    from bot.push.scheduler import missed_fires

    fires = with_redis(settings, lambda redis: missed_fires(redis, args.limit))
    if not fires:
        print("没有错过的推送。")
    for fire in fires:
        late = f"晚了 {fire.late_minutes} 分钟，未发送"
        print(f"{fire.fire:%Y-%m-%d %H:%M}  {fire.title}（{fire.plan}）  {late}")
    return 0


def _alert(args: argparse.Namespace, settings: Settings) -> int:
    from bot.push.outbox import Outbox

    catalog = _catalog(settings)

    async def send(redis: Redis) -> int:
        registry = GroupRegistry(redis)
        return await send_alert(
            redis, registry, Outbox(redis), args.item, args.to, catalog=catalog
        )

    try:
        count = with_redis(settings, send)
    except TargetingError as exc:
        print(f"紧急提醒没有发出：{exc}。", file=sys.stderr)
        return 1
    if count == 0:
        print("没有符合条件的群，紧急提醒没有发出。")
        return 1
    print(f"紧急提醒已排队，优先发送给 {count} 个群。")
    return 0
