"""Tell a resident's story ("我妈接了个电话说…") from a pasted text ("【某银行】尊敬的客户…")."""

from __future__ import annotations

import re

from bot.answers.text import normalize
from bot.answers.variants import standardize

# A story this long, that sounds risky, gets the scam's short answer with what to do now.
STORY_MIN_CHARS = 40
# Marks of a message copied from an SMS, a chat or a notice: a signature, a link, a salutation,
# an opt-out line, or the sender speaking to "您".
_PASTED = re.compile(
    r"【[^】]{1,20}】|https?://|www\.|(?<![a-z0-9@.])[a-z0-9-]{2,30}\.(cn|com|net|top|xyz|vip|cc)(?![a-z])"
    r"|^(尊敬的|亲爱的|您好|你好|温馨提示|通知)|退订|拒收|回复td|您(的|名下|已|在|于|尾号)"
)
# Marks of someone telling what happened to them or their family.
_TELLING = re.compile(
    r"(我|俺|咱)的?(妈|爸|老公|老婆|爱人|儿子|女儿|家|孩子|孙|外孙|朋友|同事|姐|哥|弟|妹|爷爷|奶奶"
    r"|外公|外婆|刚|今天|昨天|前几天|前两天|上周|接到|收到|被|在网上|上个月|就|已经|转了|信了|一看"
    r"|一查|卡|账户|银行卡|手机|微信|支付宝|号)"
    r"|对方|那人|那个人|那边|他说|她说|他们说|说我|让我|叫我|要我|给我打|加我|问我|骗了我|我该"
    r"|有人(说|让|叫|要|打电话|给我)|有个(人|自称|说是)|(让|叫|要)(他|她)"
)


def looks_pasted(text: str) -> bool:
    """Return whether `text` reads as a copied SMS, chat or notice rather than a story."""
    folded = normalize(text)
    return bool(_PASTED.search(folded)) and not _TELLING.search(folded)


def is_story(text: str) -> bool:
    """Return whether `text` is a resident telling, at some length, what happened."""
    folded = standardize(normalize(text))
    return len(folded) >= STORY_MIN_CHARS and bool(_TELLING.search(folded))


def tells(text: str) -> bool:
    """Return whether `text` reports what happened to the writer or their family, at any length."""
    return bool(_TELLING.search(standardize(normalize(text))))
