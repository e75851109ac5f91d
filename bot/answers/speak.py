"""When the bot speaks up in a group nobody addressed it in.

Two cases only (the Cofacts lesson: never interrupt ordinary talk): a clear question about a
scam, and a member telling of a scam in progress with strong risk signals (money to a "safe
account", a verification code, screen sharing, an accident with money asked for), even without
a question word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.answers.checker import RiskLevel, RiskRules
from bot.answers.content import Entry
from bot.answers.matcher import KnowledgeBase
from bot.answers.narrative import tells

ASKING = re.compile(r"[?？]|吗|是不是|是真的|真的假的|靠谱|可信|能信|怎么办|是骗|骗局|诈骗|骗子")
# A fired flag this heavy is one no ordinary message carries (安全账户, 验证码, 屏幕共享…).
STRONG_FLAG = 4


@dataclass(frozen=True, slots=True)
class Overheard:
    """Why the bot speaks, and about which entry (None: a risk with no clear type)."""

    reason: str
    entry: Entry | None


def overheard(
    text: str, kb: KnowledgeBase, rules: RiskRules, audience: str | None
) -> Overheard | None:
    """Return why the bot should answer an unaddressed group message, or None to stay silent."""
    if ASKING.search(text):
        found = kb.lookup(text, audience)
        if found.best is not None and kb.phrases.candidates(text):
            return Overheard("question", found.best.entry)
    if not tells(text):
        return None
    assessment = rules.assess(text)
    if assessment.level is not RiskLevel.HIGH:
        return None
    if not any(rule.weight >= STRONG_FLAG for rule in assessment.fired):
        return None
    found = kb.lookup(text, audience)
    entry = found.best.entry if found.best else None
    if entry is None and assessment.scam_hint:
        entry = kb.by_id.get(assessment.scam_hint)
    return Overheard("in_progress", entry)
