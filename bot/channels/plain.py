"""Render the chat markdown subset as plain text, for channels and terminals without markdown.

Kept by hand on purpose (weighed against markdown-it-py): the input is WeCom's markdown, whose
<font color=…> tags CommonMark reads as raw HTML, and the output is text, not HTML, so a parser
would only be walked token by token to drop the same five marks these patterns drop.
"""

from __future__ import annotations

import re

_FONT = re.compile(r"<font[^>]*>(.*?)</font>", re.S)
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)
_HEADING = re.compile(r"^#{1,6}\s+", re.M)
_QUOTE = re.compile(r"^>\s?", re.M)
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def markdown_to_text(markdown: str) -> str:
    """Return `markdown` with colour tags, bold, headings and quote marks removed."""
    text = _FONT.sub(r"\1", markdown)
    text = _BOLD.sub(r"\1", text)
    text = _HEADING.sub("", text)
    text = _QUOTE.sub("", text)
    text = _LINK.sub(r"\1 \2", text)
    return re.sub(r"^- ", "· ", text, flags=re.M)
