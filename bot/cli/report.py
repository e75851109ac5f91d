"""`fanzha report`: write the monthly report of a region as an xlsx file."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from redis.asyncio import Redis

from bot.answers.content import ContentError
from bot.articles.store import ArticleStore
from bot.cli.common import Commands
from bot.dashboard import issuer, report_xlsx
from bot.dashboard.period import BadRequest, Period, month, today
from bot.dashboard.snapshot import collect
from bot.library import Library, load_library
from bot.push.campaigns import load_campaigns
from bot.push.catalog import Catalog
from bot.settings import Settings
from bot.store.embedded import open_redis


def add_parser(commands: Commands) -> None:
    """Register `fanzha report`."""
    report = commands.add_parser("report", help="导出一个地区的月报（xlsx）")
    report.add_argument("--month", required=True, help="月份，如 2026-11")
    report.add_argument("--region", default="", help="地区路径，如 城关镇（默认全部地区）")
    report.add_argument("-o", "--output", required=True, help="导出到哪个 .xlsx 文件")
    report.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Write the report; exit 2 with a Chinese message (and no file) on bad input."""
    output = Path(args.output)
    try:
        period = month(args.month)
        if output.suffix.lower() != ".xlsx":
            raise BadRequest("输出文件要以 .xlsx 结尾，例如 report.xlsx。")
        if not output.parent.is_dir():
            raise BadRequest(f"文件夹“{output.parent}”不存在，请先建好再导出。")
        library = load_library(settings.content_dir)
        titles = _campaign_titles(settings, library)
        with open_redis(settings.redis_url, settings.data_dir) as url:
            content = asyncio.run(
                _render(url, library, period, (args.region, settings.timezone), titles)
            )
    except BadRequest as exc:
        print(f"导出失败：{exc.public}", file=sys.stderr)
        return 2
    output.write_bytes(content)
    print(f"已导出 {period.label}报表：{output}")
    return 0


def _campaign_titles(settings: Settings, library: Library) -> dict[str, str]:
    """Return campaign id -> title from schedules/ (none when it does not load: ids show)."""
    try:
        campaigns = load_campaigns(settings.schedules_dir, Catalog.from_library(library))
    except ContentError as exc:
        print(f"注意：推送计划读取失败，报表里只显示计划编号。{exc}", file=sys.stderr)
        return {}
    return {campaign.id: campaign.title for campaign in campaigns}


async def _render(
    url: str, library: Library, period: Period, where: tuple[str, str], titles: dict[str, str]
) -> bytes:
    """Return the xlsx of `period` in `where` (region, time zone of the 填报日期)."""
    region, timezone = where
    redis = Redis.from_url(url, decode_responses=True)
    try:
        articles = ArticleStore(library, redis)
        snap = await collect(
            redis, library.kb, period, region, campaign_titles=titles, articles=articles
        )
        dated = (await issuer.load(redis)).dated(today(timezone))
        book = await report_xlsx.build(redis, snap, dated)
        return report_xlsx.to_bytes(book)
    finally:
        await redis.aclose()
