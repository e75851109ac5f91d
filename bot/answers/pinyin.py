"""Chinese characters as toneless, accent-tolerant pinyin syllables, for homophone matching."""

from __future__ import annotations

import unicodedata
from functools import cache

from pypinyin import Style, lazy_pinyin
from pypinyin.pinyin_dict import pinyin_dict

# Syllables become one private-use character each, so a pinyin string is matched like text.
TOKEN_BASE = 0xE000
# Sounds that southern accents and voice input confuse: zh/z, ch/c, sh/s, n/l, -ng/-n.
_INITIAL_MERGES = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"))
_FINAL_MERGES = (("ng", "n"),)


def _toneless(reading: str) -> str:
    """Return `reading` without tone marks (ü folds to u)."""
    decomposed = unicodedata.normalize("NFD", reading)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fuzzy_syllable(syllable: str) -> str:
    """Return the accent-tolerant form of a toneless syllable ("zhang" -> "zan")."""
    for heard, kept in _INITIAL_MERGES:
        if syllable.startswith(heard) and syllable != heard:
            syllable = kept + syllable[len(heard) :]
            break
    for heard, kept in _FINAL_MERGES:
        if syllable.endswith(heard) and len(syllable) > len(heard):
            syllable = syllable[: -len(heard)] + kept
    return syllable


class Pinyin:
    """Map characters to syllable tokens: a question by each character's main reading, a phrase
    also as read in context, so 贷宽 meets 贷款 and 银航 meets 银行."""

    def __init__(self) -> None:
        self._tokens: dict[str, str] = {}
        self._table = {
            code: self._token(fuzzy_syllable(_toneless(spelled.split(",")[0])))
            for code, spelled in pinyin_dict.items()
        }

    def _token(self, syllable: str) -> str:
        """Return the private-use character standing for `syllable`."""
        token = self._tokens.get(syllable)
        if token is None:
            token = self._tokens[syllable] = chr(TOKEN_BASE + len(self._tokens))
        return token

    def _readable(self, phrase: str) -> bool:
        """Return whether every character of a non-empty `phrase` has a reading."""
        return bool(phrase) and all(ord(c) in self._table for c in phrase)

    def heard(self, text: str) -> str:
        """Return `text` with every character replaced by its main reading's token."""
        return text.translate(self._table)

    def pairs(self, text: str) -> list[str]:
        """Return the neighbouring syllable pairs of the Chinese runs in `text`, as tokens."""
        heard = self.heard(text)
        low, high = chr(TOKEN_BASE), chr(TOKEN_BASE + len(self._tokens))
        return [
            heard[i : i + 2]
            for i in range(len(heard) - 1)
            if low <= heard[i] < high and low <= heard[i + 1] < high
        ]

    def spellings(self, phrase: str) -> set[str]:
        """Return the token strings of `phrase`: by main readings, and as read in context
        (银行 is yin-hang, though 行 alone is mostly xing)."""
        spellings = {self.heard(phrase)}
        if self._readable(phrase):
            read = lazy_pinyin(phrase, style=Style.NORMAL)
            if len(read) == len(phrase):
                spellings.add(
                    "".join(self._token(fuzzy_syllable(r.replace("v", "u"))) for r in read)
                )
        return spellings

    def initials(self, phrase: str) -> str | None:
        """Return the first letters of the phrase as read in context ("公检法" -> "gjf")."""
        if not self._readable(phrase):
            return None
        return "".join(r[0] for r in lazy_pinyin(phrase, style=Style.NORMAL))


@cache
def shared() -> Pinyin:
    """Return the process-wide table (building it reads pypinyin's dictionary once)."""
    return Pinyin()
