"""Turn an article into what a channel sends: text, markdown and a news card, within limits."""

from __future__ import annotations

from dataclasses import dataclass

from bot.articles.model import Article
from bot.channels.splitting import truncate_bytes, utf8_len
from bot.models import Group, PushStyle, PushTarget

# WeCom group robot limits (developer.work.weixin.qq.com/document/path/91770): text content
# ≤ 2048 bytes, markdown content ≤ 4096 bytes, news title ≤ 128 bytes, description ≤ 512 bytes.
TEXT_LIMIT = 2048
MARKDOWN_LIMIT = 4096
NEWS_TITLE_LIMIT = 128
NEWS_DESCRIPTION_LIMIT = 512
URL_LIMIT = 1024  # a link longer than this is not ours: refuse rather than cut it


@dataclass(frozen=True, slots=True)
class PushPayload:
    """One article for one group, in every form a channel may send."""

    text: str
    markdown: str
    title: str
    description: str
    url: str
    style: PushStyle = "markdown"
    cover: str = ""  # the public address of the news card's picture


def receipt_hint(article: Article, group: Group) -> str:
    """Return the line asking members to acknowledge, or "" when no receipt is asked."""
    if article.receipt == "none":
        return ""
    if article.receipt == "class":
        return "读完请打开链接，在页面底部填写孩子所在班级并点“我已阅读”。"
    if group.target is PushTarget.FORWARD:
        return "读完请点页面底部的“我已阅读”。"
    return "读完请点页面底部的“我已阅读”，或在群里回复“收到”。"


def render_push(article: Article, group: Group, url: str, style: PushStyle) -> PushPayload:
    """Return `article` for `group` with its trackable `url`, every field within byte limits."""
    if utf8_len(url) > URL_LIMIT:
        raise ValueError(f"article link longer than {URL_LIMIT} bytes")
    hint = receipt_hint(article, group)
    title = truncate_bytes(article.title, NEWS_TITLE_LIMIT)
    text = _fit(
        f"【{article.title}】\n", article.summary, f"\n{hint}\n阅读全文：{url}", TEXT_LIMIT
    )
    markdown = _fit(
        f"**{_plain(article.title)}**\n",
        _plain(article.summary),
        f"\n{hint}\n[点此阅读全文]({url})",
        MARKDOWN_LIMIT,
    )
    description = truncate_bytes(
        " ".join(p for p in (article.summary, hint) if p), NEWS_DESCRIPTION_LIMIT
    )
    return PushPayload(text, markdown, title, description, url, style)


def _fit(head: str, middle: str, tail: str, limit: int) -> str:
    """Join the parts, cutting `middle` (then `head`) so the whole fits `limit` bytes.

    The tail carries the link and is never cut: a cut link is worse than a short summary.
    """
    tail = tail.replace("\n\n", "\n")
    room = limit - utf8_len(tail)
    head = truncate_bytes(head, max(room // 2, 4))
    left = room - utf8_len(head)
    return head + (truncate_bytes(middle, left) if left >= 3 else "") + tail


def _plain(text: str) -> str:
    """Keep markup characters in titles and summaries from turning into markdown."""
    return text.replace("*", "＊").replace("[", "【").replace("]", "】").replace("<", "＜")
