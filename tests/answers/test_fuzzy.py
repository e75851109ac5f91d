"""Noise-tolerant matching: homophones, pinyin initials, dialect words, emoji, off-topic."""

from __future__ import annotations

import pytest

from bot.answers.content import Entry
from bot.answers.matcher import KnowledgeBase, clean
from bot.answers.pinyin import fuzzy_syllable, shared
from bot.answers.scorer import Calibration, Decision
from bot.answers.variants import standardize


def entry(entry_id: str, name: str, aliases: tuple[str, ...], triggers: tuple[str, ...]) -> Entry:
    """Return a small scam entry with the given phrases."""
    return Entry(
        id=entry_id,
        kind="scam",
        name=name,
        short=aliases[0],
        aliases=aliases,
        triggers=triggers,
        summary=f"{name}的说明。",
        audiences=("village",),
    )


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    """Return a three-entry knowledge base with a fixed, permissive calibration."""
    entries = [
        entry("loan", "虚假贷款诈骗", ("贷款诈骗", "假贷款"), ("无抵押贷款", "放款前交钱")),
        entry("police", "冒充公检法诈骗", ("公检法", "假警察"), ("安全账户", "涉嫌洗钱")),
        entry("service", "冒充客服诈骗", ("假客服", "客服退款"), ("屏幕共享", "理赔专员")),
    ]
    return KnowledgeBase(entries, Calibration(confident=5.0, menu=3.0, margin=1.2))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("网上的贷宽诈骗是真的吗", "loan"),  # 宽 for 款
        ("有个客符退款让我开屏慕共享", "service"),  # 符 for 服, 慕 for 幕
        ("公检发打电话来说我涉嫌洗钱", "police"),  # 发 for 法
        ("gjf说要查我的卡", "police"),  # pinyin initials
        ("有个lpzy让我加他", "service"),  # initials of 理赔专员
    ],
)
def test_sound_alikes_and_initials_reach_the_entry(
    kb: KnowledgeBase, text: str, expected: str
) -> None:
    found = kb.lookup(text)
    assert found.best is not None and found.best.entry.id == expected, found


def test_accents_fold_together() -> None:
    assert fuzzy_syllable("zhang") == fuzzy_syllable("zan") == "zan"
    assert fuzzy_syllable("ning") == fuzzy_syllable("lin")
    pinyin = shared()
    assert pinyin.heard("银航") in pinyin.spellings("银行")  # 行 has two readings
    assert pinyin.initials("公检法") == "gjf"


@pytest.mark.parametrize(
    ("typed", "standard"),
    [
        ("俺娃出事了咋整", "我孩子出事了怎么办"),
        ("佢话我个仔出咗事", "他说我个儿子出了事"),
        ("把yzm发给我", "把验证码发给我"),
        ("💳密码", "银行卡密码"),
        ("wxpay", "wxpay"),  # shorthand only as a whole latin word
    ],
)
def test_dialect_shorthand_and_emoji_are_standardised(typed: str, standard: str) -> None:
    assert standardize(typed) == standard


def test_decoys_between_characters_are_dropped() -> None:
    assert clean("安★全 账·户") == "安全账户"


@pytest.mark.parametrize("text", ["孩子发烧了明天请假一天", "周六来家里吃饭", "明天几点开家长会"])
def test_ordinary_messages_are_off_topic(kb: KnowledgeBase, text: str) -> None:
    assert kb.lookup(text).decision is Decision.OFFTOPIC


def test_a_question_with_fraud_words_but_no_entry_is_unknown_not_off_topic(
    kb: KnowledgeBase,
) -> None:
    found = kb.lookup("有人让我往一个陌生的账户转钱")
    assert found.decision is Decision.UNKNOWN and not found.offtopic


def test_the_groups_audience_adds_to_an_entry_it_targets() -> None:
    entries = [
        entry("a", "甲诈骗", ("甲骗局",), ("转账",)),
        Entry(
            "b", "scam", "乙诈骗", "乙骗局", ("乙骗局",), ("转账",), "乙。", audiences=("parents",)
        ),
    ]
    kb = KnowledgeBase(entries, Calibration(audience=5.0, confident=1.0, margin=1.1, menu=1.0))
    found = kb.lookup("有人让我转账", audience="parents")
    assert found.best is not None and found.best.entry.id == "b"
    found = kb.lookup("有人让我转账", audience="village")
    assert found.best is not None and found.best.entry.id == "a"
