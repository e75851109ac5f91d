"""Text normalisation shared by every matcher: what residents type is messy."""

from __future__ import annotations

import re
import unicodedata

_INVISIBLE = re.compile(r"[\s\u200b-\u200f\u2060\ufeff]+")
# Characters scammers sprinkle between words to slip past keyword filters ("刷★单", "安·全").
DECOY_CHARS = frozenset("*·•・~_|^")
DECOY_CATEGORIES = frozenset({"So", "Sk", "Cf", "Mn", "Me"})


def normalize(text: str) -> str:
    """Return `text` folded for matching: NFKC (full width to half), lower case, no spaces."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).lower()


# Every decoy character, once, so dropping them is one str.translate. Planes 0-1 hold the
# symbols, emoji and marks; plane 14 the tag characters of flag emoji.
_DECOYS = {
    code: None
    for code in (*range(0x20000), *range(0xE0000, 0xE0080))
    if chr(code) in DECOY_CHARS or unicodedata.category(chr(code)) in DECOY_CATEGORIES
}


def drop_decoys(text: str) -> str:
    """Return normalised `text` without emoji and the decoy symbols put between words."""
    return text.translate(_DECOYS)
