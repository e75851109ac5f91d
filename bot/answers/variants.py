"""Fold what residents type into standard written Chinese: dialect words, pinyin shorthand,
emoji that stand for a thing. Matching then sees "俺娃" as "我孩子" and "yzm" as "验证码"."""

from __future__ import annotations

import ahocorasick

# Dialect (北方话, 西南官话, 粤语, 吴语, 闽南) and colloquial words -> standard words. Only words
# that never occur inside a standard word: single characters such as 额 (额度) stay out.
DIALECT = {
    "咋办": "怎么办",
    "咋整": "怎么办",
    "咋弄": "怎么办",
    "咋个办": "怎么办",
    "啷个办": "怎么办",
    "点算": "怎么办",
    "怎生是好": "怎么办",
    "咋回事": "怎么回事",
    "啥子": "什么",
    "么子": "什么",
    "乜嘢": "什么",
    "咩嘢": "什么",
    "点解": "为什么",
    "为啥": "为什么",
    "干啥": "做什么",
    "俺": "我",
    "阿拉": "我们",
    "侬": "你",
    "佢": "他",
    "佢哋": "他们",
    "咱妈": "我妈",
    "俺娘": "我妈",
    "俺妈": "我妈",
    "阿妈": "妈妈",
    "老妈子": "我妈",
    "俺爹": "我爸",
    "老汉": "爸爸",
    "阿爸": "爸爸",
    "老爷子": "我爸",
    "娃儿": "孩子",
    "娃子": "孩子",
    "娃娃": "孩子",
    "娃": "孩子",
    "伢子": "孩子",
    "细路": "孩子",
    "崽": "孩子",
    "囡囡": "女儿",
    "闺女": "女儿",
    "个仔": "个儿子",
    "婆娘": "老婆",
    "堂客": "老婆",
    "媳妇儿": "老婆",
    "老倌": "老公",
    "当家的": "老公",
    "晓得": "知道",
    "知唔知": "知不知道",
    "莫得": "没有",
    "没得": "没有",
    "冇": "没有",
    "唔系": "不是",
    "唔": "不",
    "咗": "了",
    "嘅": "的",
    "俾": "给",
    "畀": "给",
    "揾": "找",
    "睇": "看",
    "喺": "在",
    "嚟": "来",
    "话我": "说我",
    "系唔系": "是不是",
    "系咪": "是不是",
    "忽悠": "骗",
    "诓": "骗",
    "坑人": "骗人",
    "糊弄": "骗",
    "着了道": "被骗",
    "上了套": "被骗",
    "打钱": "转钱",
    "汇钱": "转钱",
    "票子": "钱",
    "钞票": "钱",
    "整钱": "赚钱",
    "搞钱": "赚钱",
    "挣钱": "赚钱",
    "手机子": "手机",
    "电话子": "电话",
    "后生仔": "年轻人",
    "老人家": "老人",
    "靠得住": "靠谱",
    "信得过": "可信",
}
# Pinyin and letter shorthand that residents type for common words.
SHORTHAND = {
    "yzm": "验证码",
    "zfb": "支付宝",
    "wx": "微信",
    "vx": "微信",
    "weixin": "微信",
    "yhk": "银行卡",
    "sfz": "身份证",
    "xyk": "信用卡",
    "dk": "贷款",
    "gjf": "公检法",
    "pyq": "朋友圈",
    "sd": "刷单",
    "jz": "兼职",
    "tk": "退款",
    "kf": "客服",
    "jc": "警察",
    "zz": "转账",
    "lc": "理财",
    "tz": "投资",
    "zx": "征信",
    "fz": "反诈",
    "bp": "被骗",
    "pz": "骗子",
    "zp": "诈骗",
    "xq": "洗钱",
    "aqzh": "安全账户",
    "ewm": "二维码",
    "gbf": "工本费",
    "bzj": "保证金",
    "sxf": "手续费",
    "ll": "裸聊",
    "bc": "博彩",
    "dy": "抖音",
    "ks": "快手",
    "tb": "淘宝",
    "yd": "移动",
    "lt": "联通",
    "dx": "电信",
    "lb": "老板",
    "ld": "领导",
    "bzr": "班主任",
    "qian": "钱",
    "pianzi": "骗子",
    "zhapian": "诈骗",
    "zhuanzhang": "转账",
}
# Emoji that name a thing; every other emoji is dropped by the matchers.
EMOJI = {
    "💰": "钱",
    "💴": "钱",
    "💵": "钱",
    "💸": "转钱",
    "🏦": "银行",
    "💳": "银行卡",
    "📱": "手机",
    "📞": "电话",
    "☎": "电话",
    "👮": "警察",
    "🚓": "警车",
    "🚔": "警车",
    "🎁": "礼品",
    "🧧": "红包",
    "🏥": "医院",
    "🚑": "急救",
    "🚗": "车",
    "👴": "老人",
    "👵": "老人",
    "👶": "孩子",
    "🔗": "链接",
    "🎰": "赌博",
    "📈": "股票",
    "📦": "快递",
    "✈": "机票",
}
_LATIN = frozenset("abcdefghijklmnopqrstuvwxyz")


def _automaton(table: dict[str, str]) -> ahocorasick.Automaton:
    """Return an automaton over the keys of `table`, each carrying (key, replacement)."""
    automaton = ahocorasick.Automaton()
    for key, value in table.items():
        automaton.add_word(key, (key, value))
    automaton.make_automaton()
    return automaton


_ALL = _automaton({**DIALECT, **SHORTHAND, **EMOJI})


def standardize(text: str) -> str:
    """Return normalised `text` with dialect, shorthand and emoji replaced, longest first."""
    spans: list[tuple[int, int, str]] = []
    for end, (key, value) in _ALL.iter(text):
        start = end - len(key) + 1
        if key[0] in _LATIN and not _whole_word(text, start, end):
            continue
        spans.append((start, end, value))
    if not spans:
        return text
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    out, cursor = [], 0
    for start, end, value in spans:
        if start >= cursor:
            out.append(text[cursor:start])
            out.append(value)
            cursor = end + 1
    out.append(text[cursor:])
    return "".join(out)


def _whole_word(text: str, start: int, end: int) -> bool:
    """Return whether text[start:end+1] is not part of a longer latin word."""
    before = text[start - 1] if start else ""
    after = text[end + 1] if end + 1 < len(text) else ""
    return before not in _LATIN and after not in _LATIN
