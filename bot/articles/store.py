"""Find an article by item id: files (alerts, letters), scam entries, or console articles."""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache

from redis.asyncio import Redis

from bot.answers.content import Entry
from bot.answers.render import Renderer
from bot.articles.model import PREFIXES, Article
from bot.library import Library
from bot.store import keys

SCAM_TEMPLATE = "article_scam.md.j2"


class ArticleStore:
    """Articles from the loaded library, plus the ones the console published in Redis."""

    def __init__(self, library: Library, redis: Redis) -> None:
        self.library = library
        self.redis = redis

    async def get(self, item_id: str) -> Article | None:
        """Return the article called `item_id` ("alerts/x", "scams/shuadan", …), or None."""
        prefix, _, name = item_id.partition("/")
        kind = PREFIXES.get(prefix)
        if kind is None or not name:
            return None
        if kind == "scam":
            entry = self.library.kb.by_id.get(name)
            if entry is None or entry.kind != "scam":
                return None
            return _scam_article(self.library.render, entry)
        if kind == "console":
            stored = await self.redis.hget(keys.CONSOLE_ARTICLES, item_id)
            return _decode(str(stored)) if stored else None
        return self.library.articles.get(item_id)

    async def publish(self, article: Article) -> None:
        """Store (or replace) a console article; its id must be "console/<id>"."""
        prefix, _, name = article.id.partition("/")
        if prefix != "console" or not name or article.kind != "console":
            raise ValueError(f"console articles need an id console/<id>, got {article.id!r}")
        await self.redis.hset(keys.CONSOLE_ARTICLES, article.id, _encode(article))


@lru_cache(maxsize=128)
def _scam_article(render: Renderer, entry: Entry) -> Article:
    """Return the article of a scam entry (entries never change while the library is loaded)."""
    return Article(
        id=f"scams/{entry.id}",
        title=f"警惕{entry.name}",
        summary=entry.summary,
        body=render(SCAM_TEMPLATE, entry=entry),
        kind="scam",
        audiences=entry.audiences,
        scams=(entry.id,),
        receipt="simple",
    )


def _encode(article: Article) -> str:
    return json.dumps(
        {
            "id": article.id,
            "title": article.title,
            "summary": article.summary,
            "body": article.body,
            "audiences": list(article.audiences),
            "scams": list(article.scams),
            "receipt": article.receipt,
            "date": article.date.isoformat() if article.date else None,
            "images": list(article.images),
        },
        ensure_ascii=False,
    )


def _decode(stored: str) -> Article:
    data = json.loads(stored)
    return Article(
        id=data["id"],
        title=data["title"],
        summary=data["summary"],
        body=data["body"],
        kind="console",
        audiences=tuple(data["audiences"]),
        scams=tuple(data["scams"]),
        receipt=data["receipt"],
        date=date.fromisoformat(data["date"]) if data["date"] else None,
        images=tuple(data.get("images", ())),
    )
