"""Does a message talk about fraud at all? Ordinary school, family and village messages
("孩子发烧了想请假", "周六喝喜酒") share a word with some entry but none of fraud's vocabulary."""

from __future__ import annotations

from collections.abc import Iterable

import ahocorasick

from bot.answers.pinyin import Pinyin

# Words of money, accounts, contact and deceit: what a fraud question nearly always contains.
FRAUD_VOCABULARY = (
    "骗",
    "诈",
    "钱",
    "转账",
    "转帐",
    "汇款",
    "打款",
    "付款",
    "收款",
    "交费",
    "缴费",
    "充值",
    "提现",
    "垫付",
    "押金",
    "保证金",
    "手续费",
    "费",
    "红包",
    "佣金",
    "返利",
    "利息",
    "收益",
    "赚",
    "投资",
    "理财",
    "股票",
    "炒股",
    "基金",
    "虚拟币",
    "贷款",
    "借款",
    "网贷",
    "额度",
    "征信",
    "信用卡",
    "银行",
    "账户",
    "账号",
    "卡号",
    "密码",
    "验证码",
    "身份证",
    "支付宝",
    "微信",
    "二维码",
    "扫码",
    "链接",
    "网址",
    "app",
    "软件",
    "下载",
    "短信",
    "电话",
    "来电",
    "视频",
    "客服",
    "退款",
    "理赔",
    "赔偿",
    "快递",
    "冻结",
    "解冻",
    "涉嫌",
    "洗钱",
    "公安",
    "警察",
    "民警",
    "派出所",
    "检察院",
    "法院",
    "通缉",
    "中奖",
    "奖品",
    "领取",
    "补贴",
    "退税",
    "医保",
    "社保",
    "刷单",
    "点赞",
    "兼职",
    "任务",
    "会员",
    "扣费",
    "加好友",
    "加我",
    "陌生",
    "网友",
    "对象",
    "网恋",
    "女朋友",
    "男朋友",
    "屏幕",
    "共享",
    "远程",
    "安全账户",
    "真的假的",
    "靠谱",
    "可信",
    "可靠",
    "正规",
    "是不是真",
    "上当",
    "被坑",
    "报警",
    "110",
    "96110",
    "反诈",
    "举报",
    "出事",
    "车祸",
    "被抓",
    "换号",
    "新号",
    "借",
    "急用",
    "保健品",
    "养老",
    "集资",
    "入股",
    "传销",
    "拉人",
    "赌",
    "下注",
    "裸聊",
    "威胁",
    "曝光",
    "游戏",
    "皮肤",
    "装备",
    "机票",
    "航班",
    "etc",
    "积分",
    "假币",
    "追回",
    "挽回",
    "领导",
    "老板",
    "财务",
    "会计",
    "冒充",
    "自称",
    "号码",
    "陌生号",
    "qq",
    "拉群",
    "进群",
    "私聊",
)

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
