"""Article content: the front-matter loader, the store, push rendering and safe markdown."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.answers.content import ContentError
from bot.articles.loader import load_articles
from bot.articles.markdown import to_html
from bot.articles.model import Article
from bot.articles.render import (
    MARKDOWN_LIMIT,
    NEWS_DESCRIPTION_LIMIT,
    NEWS_TITLE_LIMIT,
    TEXT_LIMIT,
    render_push,
)
from bot.articles.store import ArticleStore
from bot.library import Library, load_library
from bot.settings import PROJECT_ROOT
from tests.support.articles import PARENTS, VILLAGE

GOOD = """---
title: 冒充老师收费的骗局
summary: 有人冒充班主任在家长群里发收款码，请先私下问老师。
audiences: [parents]
scams: [laoshi]
receipt: class
date: 2026-11-20
---
## 怎么识别
- 收费一律以学校正式通知为准
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_loader_reads_front_matter_and_body(tmp_path: Path) -> None:
    write(tmp_path / "letters", "parents.md", GOOD)
    articles, problems = load_articles(tmp_path, {"laoshi"})
    assert problems == []
    article = articles["letters/parents"]
    assert article.kind == "letter" and article.receipt == "class"
    assert article.audiences == ("parents",) and article.scams == ("laoshi",)
    assert article.date == date(2026, 11, 20)
    assert article.body.startswith("## 怎么识别")


def test_loader_names_file_line_field_and_reason(tmp_path: Path) -> None:
    bad = GOOD.replace("[parents]", "[parents, aliens]").replace("[laoshi]", "[nosuch]")
    bad = bad.replace("receipt: class", "receipt: maybe").replace("2026-11-20", "soon")
    path = write(
        tmp_path / "alerts", "bad.md", bad.replace("date: soon", "date: soon\ncolour: red")
    )
    articles, problems = load_articles(tmp_path, {"laoshi"})
    assert articles == {}
    found = {(p.field, p.line) for p in problems}
    assert {("audiences", 4), ("scams", 5), ("receipt", 6), ("date", 7), ("colour", 8)} <= found
    assert all(p.path == path for p in problems)
    assert "aliens" in next(p.reason for p in problems if p.field == "audiences")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("no front matter at all", "-"),
        ("---\ntitle: [unclosed\n---\nbody", "-"),
        (GOOD.split("---\n## ")[0] + "---\n", "body"),
        (GOOD.replace("title: 冒充老师收费的骗局\n", ""), "title"),
        (GOOD.replace("2026-11-20", "2026-11-20 08:00:00"), "date"),
    ],
)
def test_loader_refuses_broken_files(tmp_path: Path, text: str, field: str) -> None:
    write(tmp_path / "alerts", "broken.md", text)
    articles, problems = load_articles(tmp_path, {"laoshi"})
    assert articles == {} and field in {p.field for p in problems}


def test_loader_refuses_file_names_unfit_for_links(tmp_path: Path) -> None:
    write(tmp_path / "alerts", "Bad Name.md", GOOD)
    _, problems = load_articles(tmp_path, {"laoshi"})
    assert any("文件名" in p.reason for p in problems)


async def test_store_finds_files_scams_and_console_articles(
    library: Library, redis: Redis
) -> None:
    store = ArticleStore(library, redis)
    first_file = next(iter(library.articles))
    assert (await store.get(first_file)) == library.articles[first_file]
    scam = await store.get("scams/shuadan")
    assert scam is not None and scam.kind == "scam" and scam.scams == ("shuadan",)
    assert "110" in scam.body
    console = Article("console/wave-1", "新骗局预警", "摘要", "正文", "console", ("all",))
    await store.publish(console)
    assert await store.get("console/wave-1") == console
    for missing in ("console/none", "scams/nosuch", "alerts/nosuch", "other/x", "alerts", ""):
        assert await store.get(missing) is None


async def test_publish_refuses_ids_outside_console(library: Library, redis: Redis) -> None:
    with pytest.raises(ValueError):
        await ArticleStore(library, redis).publish(Article("alerts/x", "t", "s", "b", "console"))


def utf8(text: str) -> int:
    return len(text.encode())


def test_render_push_keeps_every_field_within_wecom_limits() -> None:
    long = Article(
        "console/long", "诈骗" * 200, "请注意" * 2000, "正文", "console", receipt="simple"
    )
    url = "https://fz.example.cn/a/console/long?g=AbCdEfGhIjK"
    payload = render_push(long, VILLAGE, url, "news")
    assert utf8(payload.text) <= TEXT_LIMIT and payload.text.endswith(url)
    assert utf8(payload.markdown) <= MARKDOWN_LIMIT and payload.markdown.endswith(f"({url})")
    assert utf8(payload.title) <= NEWS_TITLE_LIMIT
    assert utf8(payload.description) <= NEWS_DESCRIPTION_LIMIT
    assert payload.url == url and payload.style == "news"


def test_render_push_asks_for_the_right_receipt() -> None:
    url = "https://fz.example.cn/a/x?g=c"
    simple = Article("console/a", "标题", "摘要", "正文", "console", receipt="simple")
    assert "回复“收到”" in render_push(simple, VILLAGE, url, "text").text
    # A forwarded group's members cannot reach the bot: only the page button helps there.
    assert "收到" not in render_push(simple, PARENTS, url, "text").text
    letter = Article("letters/p", "标题", "摘要", "正文", "letter", receipt="class")
    assert "班级" in render_push(letter, PARENTS, url, "markdown").markdown
    quiet = Article("alerts/q", "标题", "摘要", "正文", "alert")
    assert "我已阅读" not in render_push(quiet, VILLAGE, url, "text").text


def test_render_push_keeps_titles_from_becoming_markup() -> None:
    tricky = Article(
        "console/t", "**假**[点我](https://evil.example)", "<b>摘要</b>", "正文", "console"
    )
    markdown = render_push(tricky, VILLAGE, "https://fz.example.cn/a/t", "markdown").markdown
    # The only link is ours; the title's brackets and the summary's tag are plain characters.
    assert markdown.count("](") == 1 and "<b>" not in markdown and "**假**" not in markdown


def test_markdown_escapes_html_and_allows_only_web_links() -> None:
    html = to_html(
        "## 标题<img src=x onerror=alert(1)>\n"
        '正文<script>alert("x")</script> **要点**\n'
        "[安全](https://www.12321.cn) [危险](javascript:alert(1))\n"
        '[引号](https://a.cn/"onmouseover=alert(1))\n'
        "- 一\n- 二\n1. 甲\n> 引用"
    )
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&lt;img" in html
    assert '<a href="https://www.12321.cn" rel="noopener noreferrer">安全</a>' in html
    assert 'href="javascript' not in html and '"onmouseover' not in html
    assert "<strong>要点</strong>" in html
    assert "<ul><li>一</li><li>二</li></ul>" in html and "<ol><li>甲</li></ol>" in html
    assert "<blockquote>引用</blockquote>" in html


def test_a_bad_article_stops_the_library_naming_the_file(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(PROJECT_ROOT / "content", content)
    write(content / "letters", "broken.md", GOOD.replace("[parents]", "[martians]"))
    with pytest.raises(ContentError) as refused:
        load_library(content)
    assert [(p.path.name, p.field) for p in refused.value.problems] == [("broken.md", "audiences")]
