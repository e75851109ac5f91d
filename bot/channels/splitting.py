"""Split long texts into pieces that fit a byte limit, breaking where a reader would pause.

Chat platforms count UTF-8 bytes, not characters: a Chinese character takes 3 bytes and an
emoji 4. Pieces break at a line end or after a sentence end if one is near enough, then after a
comma, then at a space, and only as a last resort between two characters. A break never falls
inside a character, an emoji sequence, a markdown link or a bare URL (unless one alone is
longer than the limit).
Joining the pieces gives back the original text exactly.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable

SENTENCE_ENDS = frozenset("。！？!?；;…\n")
CLAUSE_ENDS = frozenset("，,、：:")
# Closing quotes and brackets stay with the sentence they close: 他说："别转账。" | 下一句
CLOSERS = frozenset("”’」』）)》】\"'")
# A markdown link or image, or a bare URL: cutting one makes it useless to the reader.
_ATOMIC = re.compile(r"!?\[[^\]\n]*\]\([^)\s]*\)|https?://[^\s<>()\[\]（）]+")
_ZWJ = "\u200d"
MIN_LIMIT = 4  # room for the widest UTF-8 character


def utf8_len(text: str) -> int:
    """Return the size of `text` in UTF-8 bytes."""
    return len(text.encode("utf-8"))


def truncate_bytes(text: str, limit: int, ellipsis: str = "…") -> str:
    """Return `text` cut to at most `limit` UTF-8 bytes between characters, ending `ellipsis`."""
    if utf8_len(text) <= limit:
        return text
    room = limit - utf8_len(ellipsis)
    if room < 0:
        raise ValueError(f"limit {limit} is smaller than the ellipsis")
    cut = text.encode("utf-8")[:room].decode("utf-8", errors="ignore")
    return cut + ellipsis


def split_text(text: str, limit: int) -> list[str]:
    """Return `text` as consecutive pieces of at most `limit` UTF-8 bytes each."""
    if limit < MIN_LIMIT:
        raise ValueError(f"limit must be at least {MIN_LIMIT} bytes, got {limit}")
    if not text:
        return []
    if len(text) * 4 <= limit or utf8_len(text) <= limit:
        return [text]  # the common case: it fits whole, so skip the per-character scan
    offsets = [0]
    for char in text:
        offsets.append(offsets[-1] + len(char.encode("utf-8")))
    spans = [match.span() for match in _ATOMIC.finditer(text)]
    pieces: list[str] = []
    start = 0
    while start < len(text):
        stop = bisect_right(offsets, offsets[start] + limit) - 1
        if stop >= len(text):
            pieces.append(text[start:])
            break
        cut = _best_cut(text, start, stop, spans)
        pieces.append(text[start:cut])
        start = cut
    return pieces


def _best_cut(text: str, start: int, stop: int, spans: list[tuple[int, int]]) -> int:
    """Return where to end the piece text[start:stop] (exclusive); start < result <= stop."""
    half = start + (stop - start) // 2
    checks: tuple[tuple[Callable[[str, int], bool], int], ...] = (
        (_after_line, half),
        (_after_sentence, half),
        (_after_clause, half),
        (_after_sentence, start + 1),
        (_after_clause, start + 1),
        (_after_space, start + 1),
    )
    for breaks_here, lowest in checks:
        for cut in range(stop, lowest - 1, -1):
            if breaks_here(text, cut) and _allowed(text, cut, spans):
                return cut
    return _hard_cut(text, start, stop, spans)


def _after_line(text: str, cut: int) -> bool:
    return text[cut - 1] == "\n"


def _after_sentence(text: str, cut: int) -> bool:
    if cut >= 2 and text[cut - 1] == " " and text[cut - 2] == ".":  # English: "Done. Next"
        return True
    return _ends_with(text, cut, SENTENCE_ENDS)


def _after_clause(text: str, cut: int) -> bool:
    return _ends_with(text, cut, CLAUSE_ENDS)


def _after_space(text: str, cut: int) -> bool:
    return text[cut - 1].isspace()


def _ends_with(text: str, cut: int, marks: frozenset[str]) -> bool:
    """Tell whether text[:cut] ends with a mark, optionally followed by closing quotes."""
    at = cut - 1
    while at > 0 and text[at] in CLOSERS and text[at] not in marks:
        at -= 1
    if text[at] not in marks:
        return False
    # Do not leave a closer at the start of the next piece.
    return cut >= len(text) or text[cut] not in CLOSERS


def _allowed(text: str, cut: int, spans: list[tuple[int, int]]) -> bool:
    """Tell whether a break before text[cut] keeps links and emoji sequences whole."""
    if any(begin < cut < end for begin, end in spans):
        return False
    return not _joins(text, cut)


def _joins(text: str, cut: int) -> bool:
    """Tell whether text[cut] is glued to the character before it (ZWJ, selectors, modifiers)."""
    if cut <= 0 or cut >= len(text):
        return False
    char, before = text[cut], text[cut - 1]
    if before == _ZWJ or char == _ZWJ:
        return True
    if "\ufe00" <= char <= "\ufe0f" or "\U0001f3fb" <= char <= "\U0001f3ff":
        return True
    if "\U000e0020" <= char <= "\U000e007f":  # tag characters of flag sequences
        return True
    return unicodedata.combining(char) != 0


def _hard_cut(text: str, start: int, stop: int, spans: list[tuple[int, int]]) -> int:
    """Cut between two characters, moving back out of a link or an emoji sequence if possible."""
    cut = stop
    for begin, end in spans:
        if begin < cut < end and begin > start:
            cut = begin
    while cut - 1 > start and _joins(text, cut):
        cut -= 1
    return max(cut, start + 1)
