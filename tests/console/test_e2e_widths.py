"""Every console page an officer, a reviewer or a forwarder uses, at phone and desktop width.

Headless Debian chromium over the real app (fixtures of test_e2e_console). At phone width no
page may scroll sideways and table rows are labelled cards; screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.async_api import Page, expect
from redis.asyncio import Redis

from bot.models import Group, GroupKind, PushTarget
from bot.store.groups import GroupRegistry
from tests.support.browser import log_in_page, shot
from tests.support.console import make_user

WIDTHS = {"desktop": (1100, 900), "phone": (390, 844)}
CLASS_GROUP = Group("wt-class", "三年级2班家长群", GroupKind.PARENTS, "城关镇/实验小学", 46,
                    "liu", PushTarget.FORWARD)  # fmt: skip
OFFICER_PAGES = [
    ("/console", "内容队列"),
    ("/console/items/sources", "从现成内容开始"),
    ("/console/items/new?from=alerts/jinji-kuaidi-lipei", "写新内容"),
    ("/console/calendar", "未来两周推送日历"),
    ("/console/groups", "群组"),
    ("/console/groups/view?id=wt-class", "三年级2班家长群"),
    ("/console/dashboard", ""),
    ("/console/report", ""),
]


def _poster() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1600, 900), (18, 53, 91)).save(out, "PNG")
    return out.getvalue()


async def _check(page: Page, width: str, name: str) -> None:
    """Screenshot the page; at phone width, assert it fits and labels its table cells."""
    await shot(page, f"w-{width}-{name}")
    if width != "phone":
        return
    assert await page.evaluate("document.documentElement.scrollWidth") <= WIDTHS["phone"][0]
    label = await page.evaluate(
        """() => { const td = document.querySelector('table.list td[data-label]');
        return td ? getComputedStyle(td, '::before').content : 'none'; }"""
    )
    assert label == "none" or label.strip('"') != ""


@pytest.mark.parametrize("width", list(WIDTHS))
async def test_officer_reviewer_and_forwarder_pages(
    base_url: str, page: Page, redis: Redis, width: str
) -> None:
    await page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    await GroupRegistry(redis).put(CLASS_GROUP)
    await make_user(redis, "zhang", "officer", "张警官")
    await make_user(redis, "wang", "reviewer", "王所长")
    await make_user(redis, "liu", "forwarder", "刘老师")
    await make_user(redis, "root", "admin", "系统管理员")

    await log_in_page(page, base_url, "zhang")
    for path, heading in OFFICER_PAGES:
        await page.goto(base_url + path)
        if heading:
            await expect(page.locator("h1")).to_contain_text(heading)
        await _check(page, width, path.strip("/").split("?")[0].replace("/", "-") or "home")

    # A draft from the bundled alert, with a Chinese send time, submitted for review.
    await page.goto(f"{base_url}/console/items/new?from=alerts/jinji-kuaidi-lipei")
    await page.fill("input[name=send_at]", "2030年1月2日 10:30")
    await page.click("text=保存草稿")
    await expect(page.locator(".state")).to_have_text("草稿")
    await expect(page.locator("dl.facts")).to_contain_text("2030年01月02日 10:30")
    poster = {"name": "poster.png", "mimeType": "image/png", "buffer": _poster()}
    await page.set_input_files("#image-upload", files=[poster])
    await expect(page.locator(".thumbs img")).to_have_count(1)
    await _check(page, width, "item-draft-picture")
    await page.click("button:has-text('提交审核')")
    await expect(page.locator(".next")).to_contain_text("等待审核人审核")
    await _check(page, width, "item-review")
    item_url = page.url

    # The reviewer sees the badge, approves, and is asked before the send.
    await log_in_page(page, base_url, "wang")
    await expect(page.locator(".badge")).to_have_text("1")
    await page.goto(item_url)
    await page.click("button:has-text('审核通过')")
    await expect(page.locator(".state")).to_have_text("已排期")
    await page.click("button:has-text('取消排期')")
    await expect(page.locator(".next")).to_contain_text("立即发送")
    await page.click("button:has-text('立即发送')")
    await expect(page.locator(".confirm")).to_contain_text("将发送给")
    await _check(page, width, "item-confirm")

    # The admin's accounts page: least privilege preselected, names in the log.
    await log_in_page(page, base_url, "root")
    await page.goto(f"{base_url}/console/users")
    await expect(page.locator("select[name=role]")).to_have_value("forwarder")
    await _check(page, width, "users")

    # The teacher opens a page quiz for her class group and plays it from the QR link.
    await log_in_page(page, base_url, "liu")
    await page.goto(f"{base_url}/console/share")
    await _check(page, width, "share")
    await page.click("text=答题、承诺和二维码")
    await page.fill("input[name=count]", "3")
    await page.click("button:has-text('开始答题')")
    await expect(page.locator("section.share svg")).to_have_count(2)
    await _check(page, width, "share-group")
    quiz_link = await page.locator("section.share a.link").nth(1).get_attribute("href")
    assert quiz_link
    await page.goto(quiz_link)
    for index in range(3):
        await page.locator(f"input[name=q{index}]").first.check()
    await page.fill("input[name=name]", "小明妈妈")
    await page.click("button:has-text('交卷')")
    await expect(page.locator(".score")).to_be_visible()
    assert await page.locator(".mark").count() == 3
    await _check(page, width, "quiz-result")
