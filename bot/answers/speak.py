"""When the bot speaks up in a group nobody addressed it in.

Two cases only (the Cofacts lesson: never interrupt ordinary talk): a clear question about a
scam, and a member telling of a scam still in progress: someone is being asked for money, a
code or screen sharing right now, with the checker seeing risk in it. A story that is over
("我没理他", "已经报警了") or a warning passed on stays unanswered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.answers.checker import RiskLevel, RiskRules
from bot.answers.content import Entry
from bot.answers.matcher import KnowledgeBase
from bot.answers.narrative import tells

ASKING = re.compile(r"[?？]|吗|是不是|是真的|真的假的|靠谱|可信|能信|怎么办|是骗|骗局|诈骗|骗子")
# Happening now, or about to: a demand being met, a call still on, a choice not yet made.
ONGOING = re.compile(
    r"正在|正要|正准备|正往|这会儿|准备(去)?(转|打|汇|寄|交|付|借|取|捐)|现在(那边|对方|他|她)?(让|叫|要|又|还|正|在|就)|还在"
    r"|马上(就)?要|要(我|他|她)?(打钱|转钱|转账|汇款|交钱|付钱)|要(我|他|她)?先?(打|转|汇|交|付)[0-9一二两三四五六七八九十几百千万]"
    r"|(叫|让|要)(我|他|她)(赶紧|马上|立刻|现在)|(叫|让|要)(我|他|她)把.{0,10}(验证码|钱|卡)"
    r"|在(房间里?|屋里)?(打|接)电话|通话中|到了?(机场|边境|银行)|刚(刚|才)?(接|收|加|被)"
    r"|(让|叫|要|逼|催)(我|他|她|俺|您)(马上|赶紧|立刻|先|再|把|去|转|交|打|汇|付|下载|开|扫|填|输|读|报|念)"
    r"|(想|打算|快要|就要)(转|交|借|汇|打|付|捐|寄)|马上就到|(转|打|交|给|输|借|寄|去)不(转|打|交|给|输|借|寄|去)"
    r"|要不要|该不该|能不能(转|给|交)|已经(转|充|交|打|付|给|借|寄)了|(转|充|交|付)了(一半|[0-9一二两三四五六七八九十几]+)"
    r"|人还在|在(银行|柜台|atm|取款机|快递点|机场)|等着我"
)
# Already over: the scam was seen through, refused, or reported.
AVERTED = re.compile(
    r"没(理|开|转|给|上当|信|点|去|借|寄)|挂了|拉黑|幸亏|幸好|还好|啥事没有|根本没|一听就知道|识破"
    r"|报(了)?警了|追回|学聪明|被判|去年|上回|上次|以前|听说|提醒|大家(千万|注意|小心)|凡是"
    r"|都是(诈骗|骗子|骗局)|(那|这)(是|就是)骗|是骗(人|老人|钱)的"
)

# A fired flag this heavy is one no ordinary message carries (安全账户, 验证码, 屏幕共享…).
STRONG_FLAG = 5


@dataclass(frozen=True, slots=True)
class Overheard:
    """Why the bot speaks, and about which entry (None: a risk with no clear type)."""

    reason: str
    entry: Entry | None


def overheard(
    text: str, kb: KnowledgeBase, rules: RiskRules, audience: str | None
) -> Overheard | None:
    """Return why the bot should answer an unaddressed group message, or None to stay silent."""
    if AVERTED.search(text):
        return None
    if tells(text) or ASKING.search(text):
        reported = _in_progress(text, kb, rules, audience, ongoing=bool(ONGOING.search(text)))
        if reported:
            return reported
    if ASKING.search(text):
        found = kb.lookup(text, audience)
        if found.best is not None and kb.phrases.candidates(text):
            return Overheard("question", found.best.entry)
    return None


def _in_progress(
    text: str, kb: KnowledgeBase, rules: RiskRules, audience: str | None, *, ongoing: bool
) -> Overheard | None:
    """Return the answer to a scam in progress: told as going on, with the checker or the
    matcher seeing a scam in it; or told plainly, with a decisive red flag."""
    assessment = rules.assess(text)
    decisive = assessment.level is RiskLevel.HIGH and any(
        rule.weight >= STRONG_FLAG for rule in assessment.fired
    )
    found = kb.lookup(text, audience)
    scam = found.best.entry if found.best and found.best.entry.kind == "scam" else None
    if not decisive and not (ongoing and (scam or assessment.level is not RiskLevel.NONE)):
        return None
    if scam is None and assessment.scam_hint:
        scam = kb.by_id.get(assessment.scam_hint)
    return Overheard("in_progress", scam)
