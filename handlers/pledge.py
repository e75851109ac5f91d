"""我承诺 (the anti-fraud pledge) and 我已安装 (a voluntary APP-install claim) in a chat.

Installing the 国家反诈中心 APP is voluntary: the claim is thanked, never asked for, and nobody
who has not installed it is chased.
"""

from __future__ import annotations

import re
from datetime import date
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot.filters import bare, text_is
from bot.models import Message, Reply
from bot.quiz import pledges
from bot.router import Router
from bot.settings import Settings

router = Router("pledge")

PLEDGE = re.compile(r"^我(?:愿意)?承诺(?:\s*[:：]\s*.{0,60})?$", re.S)
CLAIM_WORDS = (
    "我已安装",
    "我装好了反诈APP",
    "已安装反诈APP",
    "我已安装反诈APP",
    "我装了反诈APP",
    "已安装国家反诈中心APP",
    "我已安装国家反诈中心APP",
)


def pledge_command(message: Message) -> bool:
    """Pass on "我承诺" or "我承诺：防范电信诈骗从我做起"."""
    return PLEDGE.match(bare(message.text)) is not None


def _day(message: Message, settings: Settings) -> date:
    return message.at.astimezone(ZoneInfo(settings.timezone)).date()


@router.message(pledge_command)
async def pledge(message: Message, member: str, redis: Redis, settings: Settings) -> Reply:
    """Record the member's pledge once; answer with the pledge and the group's count."""
    new, count = await pledges.pledge(redis, _day(message, settings), message.group, member)
    where = "本群" if message.group else "目前"
    lead = "感谢你的承诺！" if new else "你之前已经承诺过了，谢谢你一直记着。"
    return Reply.text(
        f"{lead}\n{pledges.PLEDGE_TEXT}\n{where}已有 {count} 人作出承诺。", intent="pledge"
    )


@router.message(text_is(*CLAIM_WORDS, *(w.lower() for w in CLAIM_WORDS)))
async def claim_app(message: Message, member: str, redis: Redis, settings: Settings) -> Reply:
    """Count a voluntary install claim once per member and group; thank without pushing."""
    new, _ = await pledges.claim_app(redis, _day(message, settings), message.group, member)
    if not new:
        return Reply.text("收到，你之前已经说过啦，谢谢！", intent="app-claim")
    return Reply.text(
        "谢谢你告诉我们！国家反诈中心APP的来电预警和风险查询用得上时很管用，"
        "记得只从手机自带的应用商店更新它。装不装全凭自愿，"
        "没装的朋友也可以随时在群里问我怎么识别骗局。",
        intent="app-claim",
    )
