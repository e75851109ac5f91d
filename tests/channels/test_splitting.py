"""Splitting long texts to a byte limit on sentence, clause and character boundaries."""

from __future__ import annotations

import pytest

from bot.channels.splitting import split_text, truncate_bytes, utf8_len

SENTENCE = "接到自称公安、检察院的电话，说您涉嫌洗钱，要把钱转到安全账户，这一定是诈骗。"


def pieces_fit(text: str, limit: int) -> list[str]:
    """Split `text` and check the promises every split keeps."""
    pieces = split_text(text, limit)
    assert "".join(pieces) == text
    assert all(0 < utf8_len(piece) <= limit for piece in pieces)
    return pieces


def test_a_short_text_stays_whole() -> None:
    assert split_text(SENTENCE, 2048) == [SENTENCE]
    assert split_text("", 2048) == []


def test_chinese_breaks_after_full_stops() -> None:
    text = SENTENCE * 40  # 40 sentences of 111 bytes
    pieces = pieces_fit(text, 2048)
    assert len(pieces) == 3
    assert all(piece.endswith("。") for piece in pieces)


def test_a_sentence_longer_than_the_limit_breaks_after_a_comma() -> None:
    long_sentence = "，".join(["陌生人发来的链接不要点"] * 30) + "。"
    pieces = pieces_fit(long_sentence, 200)
    assert all(piece.endswith(("，", "。")) for piece in pieces)


def test_text_without_any_punctuation_breaks_between_characters() -> None:
    text = "刷单" * 2000  # 12,000 bytes, no place to pause
    pieces = pieces_fit(text, 2048)
    assert [utf8_len(p) for p in pieces[:-1]] == [2046] * (len(pieces) - 1)


def test_closing_quotes_stay_with_their_sentence() -> None:
    text = "民警提醒：“不听、不信、不转账。”" * 30
    pieces = pieces_fit(text, 300)
    assert all(piece.endswith("。”") for piece in pieces)


def test_emoji_are_never_cut() -> None:
    text = "⚠️注意👨‍👩‍👧防骗🙏🏽" * 300
    for limit in (64, 100, 2048):
        for piece in pieces_fit(text, limit):
            assert not piece.startswith(("\u200d", "\ufe0f", "🏽"))
            assert not piece.endswith("\u200d")


def test_markdown_links_and_urls_are_never_cut() -> None:
    link = "[国家反诈中心APP下载说明](https://example.gov.cn/fanzha/app?from=robot)"
    url = "https://example.gov.cn/a/very/long/path/to/the/article?id=12345"
    text = ("请大家安装" + link + "并阅读" + url + " 谢谢配合 ") * 60
    for limit in (150, 400, 4096):
        for piece in pieces_fit(text, limit):
            assert piece.count("[") == piece.count("](")
            assert url in piece or "https://example.gov.cn/a" not in piece


def test_a_ten_kilobyte_mixed_text() -> None:
    paragraph = "最近冒充客服退款的骗局很多！对方知道您的订单号？那也别信；先挂电话再核实。\n"
    text = (paragraph + "Please call 96110 if unsure. ") * 90
    assert utf8_len(text) > 10_000
    pieces = pieces_fit(text, 2048)
    assert len(pieces) <= 7
    assert all(piece.endswith(("\n", "。", "！", "？", "；", ". ")) for piece in pieces)


def test_truncate_bytes_keeps_whole_characters() -> None:
    title = "关于防范冒充“公检法”诈骗的紧急提醒" * 10
    cut = truncate_bytes(title, 128)
    assert utf8_len(cut) <= 128 and cut.endswith("…")
    assert title.startswith(cut.removesuffix("…"))
    assert truncate_bytes("短标题", 128) == "短标题"


def test_a_limit_too_small_for_any_character_is_refused() -> None:
    with pytest.raises(ValueError):
        split_text("诈骗", 3)
