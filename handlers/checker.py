"""Check a pasted or forwarded message for the red flags of fraud."""

from __future__ import annotations

import re

from bot.answers.checker import Assessment, RiskLevel, RiskRules
from bot.answers.matcher import KnowledgeBase
from bot.answers.narrative import is_story
from bot.answers.render import Renderer
from bot.filters import addressed
from bot.models import Message, Reply
from bot.router import Router

router = Router("checker")

ASK_TO_CHECK = re.compile(
    r"^(?:@\S+\s*)?(?:帮(?:我|忙)?(?:看看|看下|看一下|查查|查一下|鉴定)|看看这|查一下这|这(?:条|个)(?:短信|消息|信息|链接|电话)"
    r"|鉴定一下|这是不是诈骗|这是诈骗吗|是不是骗子)[^:：\n]{0,12}[:：\n]?\s*(.*)$",
    re.S,
)
# A pasted message, not a question: an SMS signature 【…】, a link, or a long block of text.
LOOKS_PASTED = re.compile(r"【[^】]{1,20}】|https?://|www\.|\.cn/|\.com/")
PASTED_MIN_CHARS = 40


def asked_to_check(message: Message, risk: RiskRules) -> dict[str, object] | None:
    """Pass when the member explicitly asks the bot to check a message."""
    found = ASK_TO_CHECK.match(message.text.strip())
    if not found:
        return None
    suspect = found.group(1).strip()
    return {"suspect": suspect, "assessment": risk.assess(suspect)}


def pasted_and_risky(message: Message, risk: RiskRules) -> dict[str, object] | None:
    """Pass when a message put to the bot is a pasted SMS or chat showing red flags.

    A resident's own story is not a pasted text: it gets the scam's answer (handlers.keywords).
    """
    text = message.text.strip()
    if not (LOOKS_PASTED.search(text) or len(text) >= PASTED_MIN_CHARS) or is_story(text):
        return None
    assessment = risk.assess(text)
    return (
        None if assessment.level is RiskLevel.NONE else {"suspect": text, "assessment": assessment}
    )


@router.message(asked_to_check)
@router.message(addressed, pasted_and_risky)
async def check(
    suspect: str, assessment: Assessment, kb: KnowledgeBase, render: Renderer
) -> Reply:
    """Give a verdict, the red flags that fired, and the likely scam type."""
    if not suspect:
        return Reply.text(render("check_empty.md.j2"), intent="help")
    hint = assessment.scam_hint or _phrase_hint(suspect, kb)
    scam = kb.by_id.get(hint) if hint else None
    body = render("check.md.j2", assessment=assessment, scam=scam)
    return Reply.markdown(body, intent="check", topic=scam.id if scam else "_check")


def _phrase_hint(text: str, kb: KnowledgeBase) -> str | None:
    hits = kb.phrases.candidates(text)
    return hits[0].entry.id if hits and hits[0].entry.kind == "scam" else None
