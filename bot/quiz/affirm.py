"""Spoken true/false answers: 「对」「对的吧」「是的」「没错」「我觉得不对」「应该是错的」「×」.

A message is an answer when it opens with a bare mark or word and a break (「√ 我确定」,
「错，肯定是骗子」), or when, once its punctuation, a leading hedge (我觉得, 应该…) and trailing
particles (的, 吧, 啊, 了…) are peeled off, nothing but a yes or a no is left. A question
(「是吗？」) or a sentence that goes on (「对了，明天开会」, 「对啊，上次就有人被骗」) is not.
"""

from __future__ import annotations

import re
import unicodedata

_OPENING = re.compile(r"^(对|错|√|×|✓|✔|✗|✘|正确|错误)(?=$|[\s,.!?;:、。~…)\]])")
_OPENING_YES = frozenset({"对", "√", "✓", "✔", "正确"})
_MARKS = re.compile(r"[\s,.!~…、，。！～·]+")
_HEDGE = re.compile(r"^(?:我觉得|我认为|我猜|我选|我看|应该|肯定|当然|估计|感觉|大概|必须)+")
_PARTICLES = re.compile(r"(?:[的吧啊呀嘛哦噢啦了哈咯喽滴]|撒)+$")
_QUESTION = re.compile(r"[吗么?？]$|^(?:是不是|对不对)")
_YES = frozenset({"对", "是", "是对", "没错", "正确", "是正确", "有道理", "√", "✓", "✔"})
_NO = frozenset({"错", "是错", "不对", "不是", "错误", "是错误", "不正确", "×", "✗", "✘", "X"})
MAX_CHARS = 12


def true_false(text: str) -> bool | None:
    """Return True for a yes, False for a no, None when `text` is not a true/false answer."""
    plain = unicodedata.normalize("NFKC", text).strip().upper()
    opening = _OPENING.match(plain)
    if opening:
        return opening.group(1) in _OPENING_YES
    if not plain or len(plain) > MAX_CHARS or _QUESTION.search(plain):
        return None
    core = _PARTICLES.sub("", _HEDGE.sub("", _MARKS.sub("", plain)))
    core = re.sub(r"(.)\1+$", r"\1", core)  # 对对对 -> 对
    if core in _YES:
        return True
    if core in _NO:
        return False
    return None
