"""Phrase hits that survive noisy typing: homophones over pinyin, and pinyin initials."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import ahocorasick

from bot.answers.pinyin import Pinyin

# A homophone hit needs this many syllables: two-syllable sound-alikes are common enough.
MIN_SYLLABLES = 2
# Initials ("gjf") must be this long, and may stand for at most this many entries' phrases.
MIN_INITIALS = 3
MAX_INITIAL_OWNERS = 1
_LATIN_RUN = re.compile(r"[a-z]{2,8}")
_HAN = re.compile(r"[\u4e00-\u9fff]")

Owned = tuple[tuple[int, int], ...]


class SoundMatcher:
    """Find phrases that sound like part of a text (贷宽 -> 贷款), and initials (gjf -> 公检法)."""

    def __init__(self, pinyin: Pinyin, phrases: Mapping[str, Owned]) -> None:
        self._pinyin = pinyin
        self._automaton = ahocorasick.Automaton()
        initials: dict[str, dict[str, Owned]] = {}
        count = 0
        for phrase, owned in phrases.items():
            hans = len(_HAN.findall(phrase))
            if hans < MIN_SYLLABLES:
                continue
            for spelling in pinyin.spellings(phrase):
                self._automaton.add_word(spelling, (phrase, owned))
                count += 1
            letters = pinyin.initials(phrase)
            if letters and len(letters) >= MIN_INITIALS:
                initials.setdefault(letters, {})[phrase] = owned
        if count:
            self._automaton.make_automaton()
        self._initials = {
            letters: next(iter(found.items()))
            for letters, found in initials.items()
            if len({i for owned in found.values() for i, _ in owned}) <= MAX_INITIAL_OWNERS
        }
        self.size = count

    def hits(self, text: str) -> dict[str, Owned]:
        """Return the phrases `text` sounds like or abbreviates, each with its owners."""
        found: dict[str, Owned] = {}
        if self.size:
            for _, (phrase, owned) in self._automaton.iter(self._pinyin.heard(text)):
                found[phrase] = owned
        for run in _LATIN_RUN.findall(text):
            hit = self._initials.get(run)
            if hit:
                found[hit[0]] = hit[1]
        return found


def merge(exact: Mapping[str, Owned], heard: Mapping[str, Owned]) -> Iterable[tuple[str, Owned]]:
    """Yield the sound hits that add something to the exact ones."""
    for phrase, owned in heard.items():
        if phrase not in exact:
            yield phrase, owned
