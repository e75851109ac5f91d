"""A small, safe markdown subset for article pages: every character of content is escaped.

Supported: headings (#, ##, ###), paragraphs, "- " and "1. " lists, "> " quotes, **bold**, and
[links](https://…) to http(s) addresses only. Raw HTML in content shows as text, never as markup.

Kept by hand on purpose (weighed against markdown-it-py with HTML off): officers type articles
in the console, line by line, in Chinese. CommonMark would join their lines into one (a soft
break is a space), read "1、" numbered lines as plain text, turn a line indented four spaces
into a code block and let "lazy" lines slip into a quote; each would need a rule overridden to
give back what they see in the form. The subset is six line patterns, and every character is
escaped before any markup is added, so there is no HTML parser to keep safe.
"""

from __future__ import annotations

import re
from functools import lru_cache

from markupsafe import Markup, escape

_HEADING = re.compile(r"^(#{1,3})\s+(.*)$")
_BULLET = re.compile(r"^[-*·]\s+(.*)$")
_NUMBERED = re.compile(r"^\d{1,3}[.、]\s*(.*)$")
_QUOTE = re.compile(r"^>\s?(.*)$")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)]+)\)")


@lru_cache(maxsize=256)  # a handful of articles are read over and over
def to_html(markdown: str) -> Markup:
    """Return `markdown` as safe HTML."""
    blocks: list[str] = []
    kind, lines = "", list[str]()
    for raw in markdown.splitlines():
        line = raw.strip()
        line_kind, content = _classify(line)
        if line_kind != kind or line_kind.startswith("h") or not line:
            if lines:
                blocks.append(_block(kind, lines))
            kind, lines = line_kind, []
        if line:
            lines.append(content)
    if lines:
        blocks.append(_block(kind, lines))
    return Markup("\n".join(blocks))


def _classify(line: str) -> tuple[str, str]:
    if found := _HEADING.match(line):
        # The page title is the h1; content sections (# or ##) are h2, ### is h3.
        return f"h{max(len(found.group(1)), 2)}", found.group(2)
    for kind, pattern in (("ul", _BULLET), ("ol", _NUMBERED), ("quote", _QUOTE)):
        if found := pattern.match(line):
            return kind, found.group(1)
    return "p", line


def _block(kind: str, lines: list[str]) -> str:
    inline = [_inline(line) for line in lines]
    if kind in ("ul", "ol"):
        items = "".join(f"<li>{text}</li>" for text in inline)
        return f"<{kind}>{items}</{kind}>"
    if kind == "quote":
        return f"<blockquote>{'<br>'.join(inline)}</blockquote>"
    if kind.startswith("h"):
        return f"<{kind}>{inline[0]}</{kind}>"
    return f"<p>{'<br>'.join(inline)}</p>"


def _inline(text: str) -> str:
    """Escape `text`, then turn **bold** and http(s) links into markup."""
    escaped = str(escape(text))
    escaped = _BOLD.sub(r"<strong>\1</strong>", escaped)
    return _LINK.sub(r'<a href="\2" rel="noopener noreferrer">\1</a>', escaped)
