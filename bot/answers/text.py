"""Text normalisation shared by every matcher: what residents type is messy."""

from __future__ import annotations

import re
import unicodedata

_INVISIBLE = re.compile(r"[\s\u200b-\u200f\u2060\ufeff]+")


def normalize(text: str) -> str:
    """Return `text` folded for matching: NFKC (full width to half), lower case, no spaces."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).lower()
