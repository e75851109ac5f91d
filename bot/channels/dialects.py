"""One reply, three markdown dialects: what each channel's own doc says it displays.

Replies are written once in the chat markdown subset (headings, **bold**, links, quotes, "- "
lists and the robot's `<font color="info|comment|warning">`), then rendered per channel:

- group robot (群机器人配置说明 path/91770, markdown类型): headings, bold, links, inline code,
  quotes and `<font color>` with exactly the colours info, comment and warning; any other colour
  keeps its text and loses the tag.
- smart bot (主动回复消息 path/101138 and 被动回复消息 path/101031, "支持常见的markdown格式":
  headings, bold, italic, lists, quotes, links, images, rules, code, tables): no `<font>`, so a
  warning becomes bold and the other colours plain text (inside bold, only the tag goes).
- 公众号 and WeCom app text replies show no markdown at all: plain text (bot/channels/plain.py).
"""

from __future__ import annotations

import re

from bot.channels.plain import markdown_to_text

ROBOT_COLOURS = frozenset({"info", "comment", "warning"})
_FONT = re.compile(r"<font\b([^>]*)>(.*?)</font>", re.S)
_COLOUR = re.compile(r"""color\s*=\s*["']?(\w+)""")


def _colour(match: re.Match[str]) -> str:
    """Return the colour a `<font>` match names ("" for none)."""
    found = _COLOUR.search(match.group(1))
    return found.group(1) if found else ""


def robot_markdown(markdown: str) -> str:
    """Return `markdown` as the group robot shows it: only its three font colours stay."""

    def keep(match: re.Match[str]) -> str:
        return match.group(0) if _colour(match) in ROBOT_COLOURS else match.group(2)

    return _FONT.sub(keep, markdown)


def smart_bot_markdown(markdown: str) -> str:
    """Return `markdown` within the smart bot's subset: colours become bold or plain text."""

    def replace(match: re.Match[str]) -> str:
        inner = match.group(2)
        before, after = markdown[: match.start()], markdown[match.end() :]
        in_bold = before.count("**") % 2 == 1 and "**" in after
        if _colour(match) != "warning" or in_bold or not inner.strip():
            return inner
        return f"**{inner.strip()}**"

    return _FONT.sub(replace, markdown)


def plain_text(markdown: str) -> str:
    """Return `markdown` as plain text, for channels that show no markdown."""
    return markdown_to_text(markdown)
