"""Does a message talk about fraud at all? Ordinary school, family and village messages
("孩子发烧了想请假", "周六喝喜酒") share a word with some entry but none of fraud's vocabulary."""

from __future__ import annotations

from collections.abc import Iterable

import ahocorasick

from bot.answers.pinyin import Pinyin

# Words of risk: money asked or moved, codes and passwords, strangers and claims, doubt. Plain
# topic nouns (银行, 信用卡, 医保, 快递) are left out: "信用卡账单日是哪天" is not about fraud.
# fmt: off
FRAUD_VOCABULARY = (
    "骗", "诈", "冒充", "假的", "假冒", "自称", "陌生", "网友", "网恋", "上当", "被坑",
    "坑我", "套路",
    "转账", "转帐", "转钱", "汇款", "打款", "打钱", "转了", "转过去", "转给", "先交",
    "先付", "先转",
    "交钱", "付钱", "垫付", "垫钱", "充值", "提现", "手续费", "保证金", "押金", "解冻", "冻结",
    "验证码", "密码", "卡号", "链接", "网址", "二维码", "扫码", "下载", "屏幕共享", "共享屏幕",
    "安全账户", "涉嫌", "洗钱", "通缉", "中奖", "领奖", "返利", "佣金", "稳赚", "高收益", "回报",
    "刷单", "点赞", "兼职", "退款", "理赔", "赔偿", "补贴", "退税", "贷款", "网贷", "征信", "借钱",
    "急用钱", "出事", "车祸", "被抓", "换号", "新号", "加我", "加微信", "私聊", "拉我进群",
    "靠谱", "可信", "真的假的", "是真的吗", "真的吗", "是不是真", "正规吗", "能信吗", "报警",
    "110", "96110", "反诈", "举报", "追回", "挽回", "威胁", "曝光", "敲诈", "裸聊", "下注",
    "赌", "传销", "拉人头", "集资", "入股", "保健品", "以房养老", "假币", "投资", "理财",
    "虚拟币", "炒股", "荐股", "内幕", "客服", "激活", "认证", "异常", "违规", "停机", "欠费",
    "罚款", "违章", "代考", "包过", "彩礼", "定金", "鉴定费", "捐款", "内部票", "抢票",
)
# fmt: on
# Two-syllable sound-alikes are everywhere in ordinary talk (家长会几点 sounds like 会计): only
# longer words, and these unmistakable ones, count when heard rather than written.
SOUND_CUE_MIN = 3
SOUND_CUES = frozenset(
    {
        "诈骗",
        "骗子",
        "贷款",
        "网贷",
        "转账",
        "汇款",
        "客服",
        "退款",
        "刷单",
        "征信",
        "冻结",
        "解冻",
        "理财",
        "投资",
        "涉嫌",
        "洗钱",
        "公安",
        "中奖",
        "返利",
        "佣金",
        "充值",
        "提现",
        "账户",
        "链接",
    }
)


class Topicality:
    """Count the distinct fraud words a message holds, as written or as they sound (entry names
    and aliases count too)."""

    def __init__(self, pinyin: Pinyin, extra: Iterable[str] = ()) -> None:
        self._pinyin = pinyin
        self._automaton = ahocorasick.Automaton()
        for word in {*FRAUD_VOCABULARY, *SOUND_CUES, *extra}:
            self._automaton.add_word(word, word)
            if len(word) >= SOUND_CUE_MIN or word in SOUND_CUES:
                for spelling in pinyin.spellings(word):
                    self._automaton.add_word(spelling, word)
        self._automaton.make_automaton()

    def cues(self, text: str) -> int:
        """Return how many distinct fraud words occur in the cleaned `text`."""
        found = {word for _, word in self._automaton.iter(text)}
        found.update(word for _, word in self._automaton.iter(self._pinyin.heard(text)))
        return len(found)
